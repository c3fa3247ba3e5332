// claimManyCompact: claimMany for EOA signers with 64-byte (EIP-2098) signatures in static fields.
import { expect } from "chai";
import {
  ASSET_KINDS,
  DEPOSIT,
  MAX_CLAIM_BATCH,
  Status,
  deploy,
  ethers,
  expectBalanceChanges,
  expectChannel,
  expectSolvent,
  openChannel,
  parties,
  rawVoucherSignature,
  signVoucher,
  transferCount,
  type Fixture,
  type OpenedChannel,
} from "./helpers/fixtures.ts";

async function compactOf(f: Fixture, channel: OpenedChannel, amount: bigint) {
  const { r, yParityAndS } = ethers.Signature.from(await signVoucher(f, f.payer, channel.id, amount));
  return { config: channel.config, amount, r, vs: yParityAndS };
}

describe("PaymentChannels.claimManyCompact", () => {
  for (const kind of ASSET_KINDS) {
    describe(`${kind} channels`, () => {
      it("settles every channel of the batch, pays the sum in one transfer, emits what each claim paid", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const opened: OpenedChannel[] = [];
        for (let i = 0; i < 3; i++) opened.push(await openChannel(f, asset, { salt: ethers.toBeHex(i + 1, 32) }));
        const claims = await Promise.all(opened.map((channel, i) => compactOf(f, channel, BigInt(i + 1) * 100n)));
        const tx = await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payee).claimManyCompact(claims),
          parties(f, 0n, 600n, -600n),
        );
        for (const [i, channel] of opened.entries()) {
          await expect(tx).to.emit(f.channels, "ChannelClaimed").withArgs(channel.id, BigInt(i + 1) * 100n, BigInt(i + 1) * 100n);
          await expectChannel(f, channel.id, { deposit: DEPOSIT, claimed: BigInt(i + 1) * 100n, status: Status.Open });
        }
        if (kind === "ERC-20") expect(await transferCount(tx, f.tokenAddress)).to.equal(1);
        await expectSolvent(f, asset, opened.map((c) => c.id), []);
      });

      it("reverts the whole batch for a signature by anyone else, a high s, or another payee", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const good = await openChannel(f, asset, { salt: ethers.id("good") });
        const bad = await openChannel(f, asset, { salt: ethers.id("bad") });
        const forged = ethers.Signature.from(await signVoucher(f, f.other, bad.id, 100n));
        await expect(
          f.channels
            .connect(f.payee)
            .claimManyCompact([await compactOf(f, good, 100n), { config: bad.config, amount: 100n, r: forged.r, vs: forged.yParityAndS }]),
        )
          .to.be.revertedWithCustomError(f.channels, "VoucherSignatureInvalid")
          .withArgs(bad.id, f.payer.address);
        // The malleable twin of a valid signature: s' = n - s, with the other parity.
        const key = f.sessionKey;
        const keyed = await openChannel(f, asset, { salt: ethers.id("keyed"), signer: key.address });
        const raw = rawVoucherSignature(f, key, keyed.id, 100n);
        const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
        const highS = n - BigInt(raw.s);
        const flippedParity = raw.yParity === 0 ? 1n : 0n;
        const vs = ethers.toBeHex((flippedParity << 255n) | highS, 32);
        await expect(f.channels.connect(f.payee).claimManyCompact([{ config: keyed.config, amount: 100n, r: raw.r, vs }]))
          .to.be.revertedWithCustomError(f.channels, "VoucherSignatureInvalid");
        await expect(f.channels.connect(f.other).claimManyCompact([await compactOf(f, good, 100n)]))
          .to.be.revertedWithCustomError(f.channels, "CallerNotPayee")
          .withArgs(f.other.address, f.payee.address);
        await expectChannel(f, good.id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
      });
    });
  }

  it("pays once per token however the tokens are interleaved", async () => {
    const f = await deploy();
    const eth = await openChannel(f, f.asset("ETH"), { salt: ethers.id("eth") });
    const erc20 = await openChannel(f, f.asset("ERC-20"), { salt: ethers.id("erc20") });
    const eth2 = await openChannel(f, f.asset("ETH"), { salt: ethers.id("eth2") });
    const claims = [await compactOf(f, eth, 100n), await compactOf(f, erc20, 200n), await compactOf(f, eth2, 300n)];
    const before = await f.token.balanceOf(f.payee.address);
    const tx = await f.channels.connect(f.payee).claimManyCompact(claims);
    expect(await transferCount(tx, f.tokenAddress)).to.equal(1);
    expect((await f.token.balanceOf(f.payee.address)) - before).to.equal(200n);
    await expectChannel(f, eth2.id, { deposit: DEPOSIT, claimed: 300n, status: Status.Open });
  });

  it("reverts ClaimBatchSizeInvalid for an empty batch and for MAX_CLAIM_BATCH + 1 claims", async () => {
    const f = await deploy();
    await expect(f.channels.connect(f.payee).claimManyCompact([]))
      .to.be.revertedWithCustomError(f.channels, "ClaimBatchSizeInvalid")
      .withArgs(0n, MAX_CLAIM_BATCH);
    const channel = await openChannel(f, f.asset("ETH"));
    const one = await compactOf(f, channel, 100n);
    const tooMany = Array.from({ length: Number(MAX_CLAIM_BATCH) + 1 }, () => one);
    await expect(f.channels.connect(f.payee).claimManyCompact(tooMany))
      .to.be.revertedWithCustomError(f.channels, "ClaimBatchSizeInvalid")
      .withArgs(MAX_CLAIM_BATCH + 1n, MAX_CLAIM_BATCH);
  });
});
