// claimMany(token, claims): many channels of the caller in one token, one payout. Each entry names its channel
// without payee and token: the contract rebuilds the id with the caller and the batch token.
import { expect } from "chai";
import {
  ASSET_KINDS,
  DEPOSIT,
  ETH,
  MAX_CLAIM_BATCH,
  Status,
  channelIdOf,
  claimEntry,
  deploy,
  ethers,
  expectBalanceChanges,
  expectChannel,
  expectSolvent,
  networkHelpers,
  openChannel,
  parties,
  signVoucher,
  transferCount,
  type Fixture,
  type OpenedChannel,
} from "./helpers/fixtures.ts";
import type { Wallet } from "ethers";
import type { IPaymentChannels } from "../../typechain-types/PaymentChannels.ts";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";

async function claimOf(f: Fixture, channel: OpenedChannel, amount: bigint, key: Wallet | HardhatEthersSigner = f.payer) {
  return claimEntry(channel.config, amount, await signVoucher(f, key, channel.id, amount));
}

async function openMany(f: Fixture, kind: "ETH" | "ERC-20", count: number): Promise<OpenedChannel[]> {
  const opened: OpenedChannel[] = [];
  for (let i = 0; i < count; i++) {
    opened.push(await openChannel(f, f.asset(kind), { salt: ethers.toBeHex(i + 1, 32) }));
  }
  return opened;
}

describe("PaymentChannels.claimMany", () => {
  for (const kind of ASSET_KINDS) {
    describe(`${kind} channels`, () => {
      it("settles every channel of the batch, pays the sum in one transfer, emits what each claim paid", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const opened = await openMany(f, kind, 3);
        const claims = await Promise.all(opened.map((channel, i) => claimOf(f, channel, BigInt(i + 1) * 100n)));
        const tx = await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payee).claimMany(asset.token, claims),
          parties(f, 0n, 600n, -600n),
        );
        for (const [i, channel] of opened.entries()) {
          await expect(tx).to.emit(f.channels, "ChannelClaimed").withArgs(channel.id, BigInt(i + 1) * 100n, BigInt(i + 1) * 100n);
          await expectChannel(f, channel.id, { deposit: DEPOSIT, claimed: BigInt(i + 1) * 100n, status: Status.Open });
        }
        if (kind === "ERC-20") expect(await transferCount(tx, f.tokenAddress)).to.equal(1);
        await expectSolvent(f, asset, opened.map((c) => c.id), []);
      });

      it("takes the same channel twice with rising vouchers and pays only the increase", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const [channel] = await openMany(f, kind, 1);
        const claims = [await claimOf(f, channel, 100n), await claimOf(f, channel, 350n)];
        const tx = await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payee).claimMany(asset.token, claims),
          parties(f, 0n, 350n, -350n),
        );
        await expect(tx).to.emit(f.channels, "ChannelClaimed").withArgs(channel.id, 100n, 100n);
        await expect(tx).to.emit(f.channels, "ChannelClaimed").withArgs(channel.id, 350n, 250n);
        await expectChannel(f, channel.id, { deposit: DEPOSIT, claimed: 350n, status: Status.Open });
      });

      it("reverts the whole batch when a channel appears twice with the same or a lower voucher", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const [first, second] = await openMany(f, kind, 2);
        for (const repeat of [100n, 40n]) {
          const claims = [await claimOf(f, first, 100n), await claimOf(f, second, 10n), await claimOf(f, first, repeat)];
          await expect(f.channels.connect(f.payee).claimMany(asset.token, claims))
            .to.be.revertedWithCustomError(f.channels, "VoucherAmountNotIncreasing")
            .withArgs(repeat, 100n);
        }
        await expectChannel(f, first.id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
        await expectChannel(f, second.id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
      });

      it(`accepts a full batch of MAX_CLAIM_BATCH (${MAX_CLAIM_BATCH}) claims`, async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        // A local session key signs the 256 vouchers: signing through the node would dominate the run time.
        const channel = await openChannel(f, asset, { signer: f.sessionKey.address });
        const claims: IPaymentChannels.ClaimStruct[] = [];
        for (let amount = 1n; amount <= MAX_CLAIM_BATCH; amount++) {
          claims.push(await claimOf(f, channel, amount, f.sessionKey));
        }
        await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payee).claimMany(asset.token, claims),
          parties(f, 0n, MAX_CLAIM_BATCH, -MAX_CLAIM_BATCH),
        );
        await expectChannel(f, channel.id, { deposit: DEPOSIT, claimed: MAX_CLAIM_BATCH, status: Status.Open });
      });

      it("finds no channel of another payee: ChannelNotOpen for the caller's id, nothing paid", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const mine = await openChannel(f, asset);
        const theirs = await openChannel(f, asset, { payee: f.other.address, salt: ethers.id("theirs") });
        const claims = [await claimOf(f, mine, 10n), await claimOf(f, theirs, 10n)];
        // Submitted by this payee, the second entry names the channel this payee would have with that config.
        const asMine = channelIdOf({ ...theirs.config, payee: f.payee.address });
        await expect(f.channels.connect(f.payee).claimMany(asset.token, claims))
          .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
          .withArgs(asMine, Status.None);
        // Nor can the other payee take this payee's channel.
        await expect(f.channels.connect(f.other).claimMany(asset.token, [claims[0]]))
          .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
          .withArgs(channelIdOf({ ...mine.config, payee: f.other.address }), Status.None);
        await expectChannel(f, mine.id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
        await expectChannel(f, theirs.id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
      });

      it("finds no channel in another token: ChannelNotOpen, nothing paid", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const otherToken = kind === "ETH" ? f.tokenAddress : ETH;
        const channel = await openChannel(f, asset);
        const claims = [await claimOf(f, channel, 10n)];
        await expect(f.channels.connect(f.payee).claimMany(otherToken, claims))
          .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
          .withArgs(channelIdOf({ ...channel.config, token: otherToken }), Status.None);
        await expectChannel(f, channel.id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
        await expectSolvent(f, asset, [channel.id], []);
      });

      it("settles open and closing channels together, and refuses the batch once a deadline has passed", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const [open, closing] = await openMany(f, kind, 2);
        await f.channels.connect(f.payer).requestClose(closing.config);
        const [, , closesAt] = await f.channels.channels(closing.id);
        const claims = [await claimOf(f, open, 10n), await claimOf(f, closing, 20n)];
        await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payee).claimMany(asset.token, claims),
          parties(f, 0n, 30n, -30n),
        );
        await expectChannel(f, closing.id, { deposit: DEPOSIT, claimed: 20n, closesAt, status: Status.Closing });
        await networkHelpers.time.increaseTo(closesAt);
        const later = [await claimOf(f, open, 50n), await claimOf(f, closing, 60n)];
        await expect(f.channels.connect(f.payee).claimMany(asset.token, later))
          .to.be.revertedWithCustomError(f.channels, "ChannelCloseDeadlinePassed")
          .withArgs(closing.id, closesAt);
        await expectChannel(f, open.id, { deposit: DEPOSIT, claimed: 10n, status: Status.Open });
      });

      it("refuses a finished channel in the batch (ChannelNotOpen) and pays nothing", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const [open, finished] = await openMany(f, kind, 2);
        await f.channels.connect(f.payee).close(finished.config, 0n, "0x");
        const claims = [await claimOf(f, open, 10n), await claimOf(f, finished, 20n)];
        await expect(f.channels.connect(f.payee).claimMany(asset.token, claims))
          .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
          .withArgs(finished.id, Status.Finished);
        await expectChannel(f, open.id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
      });

      it("reverts the whole batch when one voucher is invalid", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const opened = await openMany(f, kind, 2);
        const claims = [await claimOf(f, opened[0], 10n), { ...(await claimOf(f, opened[1], 10n)), amount: 11n }];
        await expect(f.channels.connect(f.payee).claimMany(asset.token, claims))
          .to.be.revertedWithCustomError(f.channels, "VoucherSignatureInvalid")
          .withArgs(opened[1].id, f.payer.address);
        await expectChannel(f, opened[0].id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
      });
    });
  }

  it("takes ERC-1271 signers next to EOA signers, and refuses the batch when the wallet refuses", async () => {
    const f = await deploy();
    const asset = f.asset("ETH");
    const wallet = await ethers.deployContract("ERC1271Wallet", [f.payer.address]);
    const walletChannel = await openChannel(f, asset, { signer: await wallet.getAddress(), salt: ethers.id("wallet") });
    const eoaChannel = await openChannel(f, asset, { salt: ethers.id("eoa") });
    // The wallet's owner signs; only the wallet's isValidSignature makes it count.
    const claims = [await claimOf(f, eoaChannel, 10n), await claimOf(f, walletChannel, 100n)];
    await expectBalanceChanges(
      asset,
      () => f.channels.connect(f.payee).claimMany(ETH, claims),
      parties(f, 0n, 110n, -110n),
    );
    await expectChannel(f, walletChannel.id, { deposit: DEPOSIT, claimed: 100n, status: Status.Open });

    await wallet.setMode(1n); // Refuse
    const refused = [await claimOf(f, eoaChannel, 20n), await claimOf(f, walletChannel, 200n)];
    await expect(f.channels.connect(f.payee).claimMany(ETH, refused))
      .to.be.revertedWithCustomError(f.channels, "VoucherSignatureInvalid")
      .withArgs(walletChannel.id, await wallet.getAddress());
    await expectChannel(f, eoaChannel.id, { deposit: DEPOSIT, claimed: 10n, status: Status.Open });
  });

  it("reverts ClaimBatchSizeInvalid for an empty batch and for MAX_CLAIM_BATCH + 1 claims", async () => {
    const f = await deploy();
    await expect(f.channels.connect(f.payee).claimMany(ETH, []))
      .to.be.revertedWithCustomError(f.channels, "ClaimBatchSizeInvalid")
      .withArgs(0n, MAX_CLAIM_BATCH);
    const [channel] = await openMany(f, "ETH", 1);
    const claim = await claimOf(f, channel, 1n);
    const tooMany = Array.from({ length: Number(MAX_CLAIM_BATCH) + 1 }, () => claim);
    await expect(f.channels.connect(f.payee).claimMany(ETH, tooMany))
      .to.be.revertedWithCustomError(f.channels, "ClaimBatchSizeInvalid")
      .withArgs(MAX_CLAIM_BATCH + 1n, MAX_CLAIM_BATCH);
  });
});
