import { expect } from "chai";
import { Wallet, TypedDataEncoder } from "ethers";
import { channelId, ETH, MAX_CLAIM_BATCH, type Address, type ChannelConfig, type Hex } from "../../src/channel.ts";
import { InvalidArgumentError } from "../../src/errors.ts";
import { eip712Domain } from "../../src/voucher.ts";
import { claimBatches, claimManyCall } from "../../src/chain/claim-batches.ts";

const payee = `0x${"bb".repeat(20)}` as Address;
const tokenA = `0x${"a1".repeat(20)}` as Address;
const tokenB = `0x${"b2".repeat(20)}` as Address;
const domain = { chainId: 31337n, verifyingContract: `0x${"cc".repeat(20)}` as Address };
const key = new Wallet(`0x${"11".repeat(32)}`);

function configOf(token: Address, n: number, overrides: Partial<ChannelConfig> = {}): ChannelConfig {
  const salt = `0x${n.toString(16).padStart(64, "0")}` as Hex;
  return { payer: key.address as Address, payee, token, signer: key.address as Address, closeDelay: 3600n, salt, ...overrides };
}

function claimOf(config: ChannelConfig, amount: bigint) {
  const digest = TypedDataEncoder.hash(
    eip712Domain(domain),
    { Voucher: [{ name: "channelId", type: "bytes32" }, { name: "amount", type: "uint256" }] },
    { channelId: channelId(config), amount },
  );
  return { config, amount, signature: key.signingKey.sign(digest).serialized as Hex };
}

describe("claim batches", () => {
  it("groups claims by token in the order tokens first appear, keeping each token's order", () => {
    const claims = [configOf(tokenA, 1), configOf(ETH, 2), configOf(tokenA, 3), configOf(tokenB, 4), configOf(ETH, 5)].map((config) => ({ config }));
    const batches = claimBatches(claims);
    expect(batches.map((batch) => batch.map((c) => Number(BigInt(c.config.salt))))).to.deep.equal([[1, 3], [2, 5], [4]]);
  });

  it("treats token addresses case-insensitively and cuts each token at the batch size", () => {
    const claims = [];
    for (let i = 0; i < 7; i++) claims.push({ config: configOf((i % 2 === 0 ? tokenA : tokenA.toUpperCase().replace("0X", "0x")) as Address, i) });
    expect(claimBatches(claims, 3).map((batch) => batch.length)).to.deep.equal([3, 3, 1]);
    expect(claimBatches(Array.from({ length: MAX_CLAIM_BATCH + 1 }, (_, i) => ({ config: configOf(ETH, i) }))).map((b) => b.length)).to.deep.equal([
      MAX_CLAIM_BATCH,
      1,
    ]);
    expect(() => claimBatches([], 0)).to.throw(InvalidArgumentError);
    expect(() => claimBatches([], MAX_CLAIM_BATCH + 1)).to.throw(InvalidArgumentError);
  });

  it("builds claimManyCompact(token, entries) for EOA signatures, entries without payee and token", () => {
    const claims = [claimOf(configOf(tokenA, 1), 10n), claimOf(configOf(tokenA, 2), 20n)];
    const call = claimManyCall(domain, payee, claims);
    expect(call.functionName).to.equal("claimManyCompact");
    expect(call.args[0]).to.equal(tokenA);
    expect(Object.keys(call.args[1][0]).sort()).to.deep.equal(["amount", "closeDelay", "payer", "r", "salt", "signer", "vs"]);
    expect(call.args[1].map((entry) => entry.amount)).to.deep.equal([10n, 20n]);
  });

  it("builds claimMany(token, entries) when a signature is not its config signer's (an ERC-1271 wallet)", () => {
    const wallet = `0x${"dd".repeat(20)}` as Address;
    const eoa = claimOf(configOf(ETH, 1), 10n);
    const contractSigned = { ...claimOf(configOf(ETH, 2, { signer: wallet }), 20n) };
    const call = claimManyCall(domain, payee, [eoa, contractSigned]);
    expect(call.functionName).to.equal("claimMany");
    expect(call.args[0]).to.equal(ETH);
    expect(call.args[1][1]).to.deep.equal({
      payer: contractSigned.config.payer,
      signer: wallet,
      closeDelay: 3600n,
      salt: contractSigned.config.salt,
      amount: 20n,
      signature: contractSigned.signature,
    });
  });

  it("refuses a batch the contract would refuse: empty, too large, two tokens, another payee", () => {
    expect(() => claimManyCall(domain, payee, [])).to.throw(InvalidArgumentError);
    const one = claimOf(configOf(ETH, 1), 1n);
    expect(() => claimManyCall(domain, payee, Array.from({ length: MAX_CLAIM_BATCH + 1 }, () => one))).to.throw(InvalidArgumentError);
    expect(() => claimManyCall(domain, payee, [one, claimOf(configOf(tokenA, 2), 1n)])).to.throw(InvalidArgumentError, /one token/);
    const theirs = claimOf(configOf(ETH, 3, { payee: `0x${"ee".repeat(20)}` as Address }), 1n);
    expect(() => claimManyCall(domain, payee, [one, theirs])).to.throw(InvalidArgumentError, /only the payee/);
    // The payee's address in any case.
    expect(claimManyCall(domain, payee.toUpperCase().replace("0X", "0x") as Address, [one]).functionName).to.equal("claimManyCompact");
  });
});
