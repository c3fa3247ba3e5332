import { expect } from "chai";
import {
  ASSET_KINDS,
  CLOSE_DELAY,
  DEPOSIT,
  Status,
  channelIdOf,
  deploy,
  expectBalanceChanges,
  expectChannel,
  expectSolvent,
  makeConfig,
  networkHelpers,
  openChannel,
  parties,
  signVoucher,
} from "./helpers/fixtures.ts";

describe("PaymentChannels.close", () => {
  for (const kind of ASSET_KINDS) {
    describe(`${kind} channel`, () => {
      it("pays the payee the voucher, refunds the rest to the payer and finishes the channel", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        const signature = await signVoucher(f, f.payer, id, 400n);
        const tx = await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payee).close(config, 400n, signature),
          parties(f, DEPOSIT - 400n, 400n, -DEPOSIT),
        );
        await expect(tx).to.emit(f.channels, "ChannelClosed").withArgs(id, config.payer, 400n, DEPOSIT - 400n);
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 400n, status: Status.Finished });
        await expectSolvent(f, asset, [id], []);
      });

      it("after a claim pays only the difference and refunds deposit - amount", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        await f.channels.connect(f.payee).claim(config, 100n, await signVoucher(f, f.payer, id, 100n));
        const signature = await signVoucher(f, f.payer, id, 300n);
        const tx = await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payee).close(config, 300n, signature),
          parties(f, DEPOSIT - 300n, 200n, -(DEPOSIT - 100n)),
        );
        await expect(tx).to.emit(f.channels, "ChannelClosed").withArgs(id, config.payer, 300n, DEPOSIT - 300n);
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 300n, status: Status.Finished });
        await expectSolvent(f, asset, [id], []);
      });

      it("with amount == claimed needs no signature and releases the rest to the payer", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        await f.channels.connect(f.payee).claim(config, 100n, await signVoucher(f, f.payer, id, 100n));
        const tx = await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payee).close(config, 100n, "0x"),
          parties(f, DEPOSIT - 100n, 0n, -(DEPOSIT - 100n)),
        );
        await expect(tx).to.emit(f.channels, "ChannelClosed").withArgs(id, config.payer, 100n, DEPOSIT - 100n);
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 100n, status: Status.Finished });
      });

      it("with a voucher for the whole deposit refunds nothing", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        const signature = await signVoucher(f, f.payer, id, DEPOSIT);
        const tx = await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payee).close(config, DEPOSIT, signature),
          parties(f, 0n, DEPOSIT, -DEPOSIT),
        );
        await expect(tx).to.emit(f.channels, "ChannelClosed").withArgs(id, config.payer, DEPOSIT, 0n);
      });

      it("is allowed during the close countdown, before closesAt", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        await f.channels.connect(f.payer).requestClose(config);
        const closesAt = BigInt(await networkHelpers.time.latest()) + CLOSE_DELAY;
        const signature = await signVoucher(f, f.payer, id, 7n);
        await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payee).close(config, 7n, signature),
          parties(f, DEPOSIT - 7n, 7n, -DEPOSIT),
        );
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 7n, closesAt, status: Status.Finished });
      });

      it("reverts CallerNotPayee when anyone but the payee closes", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        const signature = await signVoucher(f, f.payer, id, 7n);
        await expect(f.channels.connect(f.other).close(config, 7n, signature))
          .to.be.revertedWithCustomError(f.channels, "CallerNotPayee")
          .withArgs(f.other.address, f.payee.address);
      });

      it("reverts VoucherAmountNotIncreasing for an amount below what was claimed", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        await f.channels.connect(f.payee).claim(config, 100n, await signVoucher(f, f.payer, id, 100n));
        await expect(f.channels.connect(f.payee).close(config, 99n, await signVoucher(f, f.payer, id, 99n)))
          .to.be.revertedWithCustomError(f.channels, "VoucherAmountNotIncreasing")
          .withArgs(99n, 100n);
      });

      it("reverts VoucherAmountTooHigh above the deposit and VoucherSignatureInvalid for a bad signature", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        const tooHigh = DEPOSIT + 1n;
        await expect(f.channels.connect(f.payee).close(config, tooHigh, await signVoucher(f, f.payer, id, tooHigh)))
          .to.be.revertedWithCustomError(f.channels, "VoucherAmountTooHigh")
          .withArgs(tooHigh, DEPOSIT);
        await expect(f.channels.connect(f.payee).close(config, 5n, await signVoucher(f, f.other, id, 5n)))
          .to.be.revertedWithCustomError(f.channels, "VoucherSignatureInvalid")
          .withArgs(id, f.payer.address);
      });

      it("reverts ChannelNotOpen for a never-opened and for a finished channel", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const never = makeConfig(f, asset, { closeDelay: 1n });
        await expect(f.channels.connect(f.payee).close(never, 0n, "0x"))
          .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
          .withArgs(channelIdOf(never), Status.None);
        const { config, id } = await openChannel(f, asset);
        await f.channels.connect(f.payee).close(config, 0n, "0x");
        await expect(f.channels.connect(f.payee).close(config, 0n, "0x"))
          .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
          .withArgs(id, Status.Finished);
      });
    });
  }
});
