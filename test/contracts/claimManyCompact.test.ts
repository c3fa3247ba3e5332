// claimManyCompact: claimMany for EOA signers with 64-byte (EIP-2098) signatures in static fields.
import { expect } from "chai";
import {
  ASSET_KINDS,
  DEPOSIT,
  ETH,
  MAX_CLAIM_BATCH,
  Status,
  channelIdOf,
  compactEntry,
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
  return compactEntry(channel.config, amount, await signVoucher(f, f.payer, channel.id, amount));
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
          () => f.channels.connect(f.payee).claimManyCompact(asset.token, claims),
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
            .claimManyCompact(asset.token, [await compactOf(f, good, 100n), { ...compactEntry(bad.config, 100n, forged.serialized) }]),
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
        await expect(
          f.channels.connect(f.payee).claimManyCompact(asset.token, [{ ...compactEntry(keyed.config, 100n, raw.serialized), vs }]),
        ).to.be.revertedWithCustomError(f.channels, "VoucherSignatureInvalid");
        // Submitted by anyone else, the entry names that caller's channel, which does not exist.
        await expect(f.channels.connect(f.other).claimManyCompact(asset.token, [await compactOf(f, good, 100n)]))
          .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
          .withArgs(channelIdOf({ ...good.config, payee: f.other.address }), Status.None);
        await expectChannel(f, good.id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
      });
    });
  }

  it("finds no channel in another token, and settles a channel twice in one batch with rising vouchers", async () => {
    const f = await deploy();
    const eth = await openChannel(f, f.asset("ETH"), { salt: ethers.id("eth") });
    const erc20 = await openChannel(f, f.asset("ERC-20"), { salt: ethers.id("erc20") });
    await expect(f.channels.connect(f.payee).claimManyCompact(ETH, [await compactOf(f, eth, 100n), await compactOf(f, erc20, 200n)]))
      .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
      .withArgs(channelIdOf({ ...erc20.config, token: ETH }), Status.None);
    const claims = [await compactOf(f, erc20, 200n), await compactOf(f, erc20, 300n)];
    const sent = await expectBalanceChanges(
      f.asset("ERC-20"),
      () => f.channels.connect(f.payee).claimManyCompact(f.tokenAddress, claims),
      parties(f, 0n, 300n, -300n),
    );
    expect(await transferCount(sent, f.tokenAddress)).to.equal(1);
    await expectChannel(f, eth.id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
    await expectChannel(f, erc20.id, { deposit: DEPOSIT, claimed: 300n, status: Status.Open });
  });

  it("reverts ClaimBatchSizeInvalid for an empty batch and for MAX_CLAIM_BATCH + 1 claims", async () => {
    const f = await deploy();
    await expect(f.channels.connect(f.payee).claimManyCompact(ETH, []))
      .to.be.revertedWithCustomError(f.channels, "ClaimBatchSizeInvalid")
      .withArgs(0n, MAX_CLAIM_BATCH);
    const channel = await openChannel(f, f.asset("ETH"));
    const one = await compactOf(f, channel, 100n);
    const tooMany = Array.from({ length: Number(MAX_CLAIM_BATCH) + 1 }, () => one);
    await expect(f.channels.connect(f.payee).claimManyCompact(ETH, tooMany))
      .to.be.revertedWithCustomError(f.channels, "ClaimBatchSizeInvalid")
      .withArgs(MAX_CLAIM_BATCH + 1n, MAX_CLAIM_BATCH);
  });
});
