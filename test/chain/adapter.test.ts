import { expect } from "chai";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { channelId, ChannelStatus, ETH, type Address, type ChannelConfig, type Hex } from "../../src/channel.ts";
import { ContractRevertError, InvalidArgumentError } from "../../src/errors.ts";
import type { ChainWriter } from "../../src/chain/adapter.ts";
import { ADAPTERS, deploy, salt, type Deployment } from "./fixture.ts";

const ONE = 10n ** 18n;
const USD = 10n ** 6n;

async function expectRevert(promise: Promise<unknown>, error: string): Promise<ContractRevertError> {
  try {
    await promise;
  } catch (caught) {
    expect(caught).to.be.instanceOf(ContractRevertError);
    const revert = caught as ContractRevertError;
    expect(revert.code).to.equal("CONTRACT_REVERT");
    expect(revert.details.error).to.equal(error);
    return revert;
  }
  expect.fail(`expected a ${error} revert`);
}

async function expectRefused(promise: Promise<unknown>, type: typeof InvalidArgumentError): Promise<void> {
  try {
    await promise;
  } catch (caught) {
    expect(caught).to.be.instanceOf(type);
    return;
  }
  expect.fail(`expected a ${type.name}`);
}

for (const kind of ADAPTERS) {
  describe(`chain adapter (${kind})`, function () {
    let d: Deployment;
    let payerChain: ChainWriter;
    let payeeChain: ChainWriter;
    let payer: Address;
    let payee: Address;
    const sessionKey = generatePrivateKey();
    const session = privateKeyToAccount(sessionKey);
    let nextSalt = 1;

    function config(overrides: Partial<ChannelConfig> = {}): ChannelConfig {
      return { payer, payee, token: ETH, signer: session.address, closeDelay: 3600n, salt: salt(nextSalt++), ...overrides };
    }

    function sign(id: Hex, amount: bigint): Promise<Hex> {
      return session.signTypedData({
        domain: { name: "Trickle", version: "1", chainId: d.chainId, verifyingContract: d.contract },
        types: { Voucher: [{ name: "channelId", type: "bytes32" }, { name: "amount", type: "uint256" }] },
        primaryType: "Voucher",
        message: { channelId: id, amount },
      });
    }

    before(async () => {
      d = await deploy(kind);
      payer = d.accounts[1];
      payee = d.accounts[2];
      payerChain = await d.writer(1);
      payeeChain = await d.writer(2);
    });

    it("reads the chain id, block and account", async () => {
      expect(await payerChain.chainId()).to.equal(d.chainId);
      expect(await payerChain.blockNumber()).to.be.a("bigint");
      expect(await payerChain.blockTimestamp()).to.be.greaterThan(0n);
      expect(payerChain.account.toLowerCase()).to.equal(payer.toLowerCase());
      expect(payerChain.contract).to.equal(d.contract);
    });

    it("opens an ETH channel and reads its state and config back", async () => {
      const c = config();
      const id = channelId(c);
      const before = await payerChain.blockNumber();
      const tx = await payerChain.open(c, ONE);
      expect(tx.gasUsed).to.be.greaterThan(21_000n);
      expect(tx.blockNumber).to.be.greaterThan(before);
      expect(await payerChain.readChannel(id)).to.deep.equal({ deposit: ONE, claimed: 0n, closesAt: 0n, status: ChannelStatus.Open });
      const found = await d.reader().findChannelConfig(id);
      expect(found).to.not.equal(undefined);
      expect(channelId(found!)).to.equal(id);
      expect(found!.closeDelay).to.equal(3600n);
      expect(await d.reader().findChannelConfig(salt(999_999))).to.equal(undefined);
      const events = await payerChain.events(tx.blockNumber, tx.blockNumber);
      expect(events).to.have.length(1);
      expect(events[0]).to.include({ type: "opened", channelId: id, deposit: ONE });
    });

    it("opens an ERC-20 channel, approving first when the allowance is short", async () => {
      await d.mint(payer, 100n * USD);
      const c = config({ token: d.token });
      await payerChain.open(c, 40n * USD);
      expect((await payerChain.readChannel(channelId(c))).deposit).to.equal(40n * USD);
      await payerChain.topUp(c, 10n * USD);
      expect((await payerChain.readChannel(channelId(c))).deposit).to.equal(50n * USD);
      expect(await d.balance(payer, d.token)).to.equal(50n * USD);
    });

    it("opens with an EIP-2612 permit in one transaction", async () => {
      await d.mint(payer, 30n * USD);
      const c = config({ token: d.token });
      const tx = await payerChain.openWithPermit(c, 30n * USD);
      expect((await payerChain.readChannel(channelId(c))).deposit).to.equal(30n * USD);
      const events = await payerChain.events(tx.blockNumber, tx.blockNumber);
      expect(events.map((e) => e.type)).to.deep.equal(["opened"]);
      await expectRevert(payerChain.openWithPermit(config({ token: d.token }), 10n ** 30n), "ERC20InsufficientBalance");
    });

    it("claimMany sends the general form for an ERC-1271 signer, and refuses a batch the contract would refuse", async () => {
      const wallet = await d.connection.ethers.deployContract("ERC1271Wallet", [session.address]);
      const walletConfig = config({ signer: (await wallet.getAddress()) as Address });
      const eoaConfig = config();
      for (const x of [walletConfig, eoaConfig]) await payerChain.open(x, ONE);
      // The wallet's owner key signs; only the wallet's isValidSignature makes it count.
      const claims = [
        { config: eoaConfig, amount: 10n, signature: await sign(channelId(eoaConfig), 10n) },
        { config: walletConfig, amount: 20n, signature: await sign(channelId(walletConfig), 20n) },
      ];
      const tx = await payeeChain.claimMany(claims);
      const sent = await d.connection.ethers.provider.getTransaction(tx.hash);
      const selector = (await d.connection.ethers.getContractAt("PaymentChannels", d.contract)).interface.getFunction("claimMany")!.selector;
      expect(sent?.data.slice(0, 10)).to.equal(selector);
      expect(await payeeChain.readChannel(channelId(walletConfig))).to.include({ claimed: 20n });

      const tokenConfig = config({ token: d.token });
      const mixed = [
        { config: eoaConfig, amount: 30n, signature: await sign(channelId(eoaConfig), 30n) },
        { config: tokenConfig, amount: 30n, signature: await sign(channelId(tokenConfig), 30n) },
      ];
      await expectRefused(payeeChain.claimMany(mixed), InvalidArgumentError);
      const theirs = config({ payee: d.accounts[3] });
      await expectRefused(payeeChain.claimMany([{ config: theirs, amount: 1n, signature: await sign(channelId(theirs), 1n) }]), InvalidArgumentError);
      await expectRefused(payeeChain.claimMany([]), InvalidArgumentError);
    });

    it("claims, claims many, closes, and decodes every event", async () => {
      const a = config();
      const b = config();
      const c = config();
      for (const x of [a, b, c]) await payerChain.open(x, ONE);
      const start = await payeeChain.blockNumber();
      const claimTx = await payeeChain.claim(a, 100n, await sign(channelId(a), 100n));
      const manyTx = await payeeChain.claimMany([
        { config: a, amount: 300n, signature: await sign(channelId(a), 300n) },
        { config: b, amount: 200n, signature: await sign(channelId(b), 200n) },
      ]);
      const closeTx = await payeeChain.close(c, 50n, await sign(channelId(c), 50n));
      await payerChain.topUp(b, 5n);
      await payerChain.requestClose(b);
      expect(claimTx.gasUsed + manyTx.gasUsed + closeTx.gasUsed).to.be.greaterThan(3n * 21_000n);
      expect(await payerChain.readChannel(channelId(a))).to.include({ claimed: 300n, status: ChannelStatus.Open });
      expect(await payerChain.readChannel(channelId(c))).to.include({ claimed: 50n, status: ChannelStatus.Finished });
      const bState = await payerChain.readChannel(channelId(b));
      expect(bState.status).to.equal(ChannelStatus.Closing);
      await d.increaseTime(3600n);
      const withdrawTx = await payerChain.withdraw(b);
      const events = await d.reader().events(start + 1n, withdrawTx.blockNumber);
      expect(events.map((e) => e.type)).to.deep.equal(["claimed", "claimed", "claimed", "closed", "toppedUp", "closeRequested", "withdrawn"]);
      expect(events[3]).to.include({ channelId: channelId(c), claimed: 50n, refund: ONE - 50n });
      expect(events[4]).to.include({ amount: 5n, deposit: ONE + 5n });
      expect(events[5]).to.include({ closesAt: bState.closesAt });
      expect(events[6]).to.include({ channelId: channelId(b), refund: ONE + 5n - 200n });
      for (let i = 1; i < events.length; i++) {
        const earlier = events[i - 1];
        const later = events[i];
        expect(later.blockNumber > earlier.blockNumber || later.logIndex > earlier.logIndex).to.equal(true);
      }
    });

    it("decodes contract reverts into ContractRevertError with the custom error's name", async () => {
      const c = config();
      await payerChain.open(c, ONE);
      await expectRevert(payerChain.open(c, ONE), "ChannelExists");
      await expectRevert(payerChain.requestClose({ ...c, payer: payee }), "CallerNotPayer");
      await expectRevert(payerChain.claim(c, 1n, await sign(channelId(c), 1n)), "CallerNotPayee");
      const revert = await expectRevert(payeeChain.claim(c, 2n, await sign(channelId(c), 1n)), "VoucherSignatureInvalid");
      expect(revert.details.args).to.be.an("array");
      await expectRevert(payeeChain.claim(c, ONE + 1n, await sign(channelId(c), ONE + 1n)), "VoucherAmountTooHigh");
      await expectRevert(payerChain.withdraw(c), "ChannelCloseNotRequested");
    });

    it("tells contracts from accounts and refuses ERC-1271 answers from an account", async () => {
      expect(await payerChain.hasCode(d.contract)).to.equal(true);
      expect(await payerChain.hasCode(payer)).to.equal(false);
      expect(await payerChain.isValidErc1271Signature(payer, salt(1), await sign(salt(1), 1n))).to.equal(false);
      expect(await payerChain.isValidErc1271Signature(d.contract, salt(1), await sign(salt(1), 1n))).to.equal(false);
    });

    it("reads without a wallet and refuses to send", async () => {
      const reader = d.reader();
      expect(await reader.chainId()).to.equal(d.chainId);
      expect(() => reader.account).to.throw(InvalidArgumentError);
      try {
        await reader.requestClose(config());
        expect.fail("a reader sent a transaction");
      } catch (error) {
        expect(error).to.be.instanceOf(InvalidArgumentError);
      }
    });
  });
}

describe("chain adapter (ethers Wallet over an EIP-1193 provider, as a dApp uses it)", function () {
  it("opens, reads, and decodes reverts raised by the wallet's own gas estimation", async () => {
    const { BrowserProvider, Wallet } = await import("ethers");
    const { ethersChain } = await import("../../src/chain/ethers.ts");
    const d = await deploy("ethers");
    const provider = new BrowserProvider(d.connection.provider);
    const wallet = Wallet.createRandom().connect(provider);
    await d.connection.networkHelpers.setBalance(wallet.address, 10n ** 20n);
    const chain = ethersChain({ runner: wallet, contract: d.contract });
    expect(chain.account).to.equal(wallet.address);
    const config: ChannelConfig = { payer: wallet.address as Address, payee: d.accounts[2], token: ETH, signer: wallet.address as Address, closeDelay: 60n, salt: salt(1) };
    // The wallet's first transaction reverts in its own gas estimation (ethers hands back raw revert data).
    // (Only its first: the in-process node reports a stale "pending" nonce after a mined transaction.)
    await expectRevert(chain.withdraw(config), "ChannelNotOpen");
    await chain.open(config, ONE);
    expect(await chain.readChannel(channelId(config))).to.include({ deposit: ONE, status: ChannelStatus.Open });
  });
});
