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

describe("PaymentChannels.withdraw", () => {
  for (const kind of ASSET_KINDS) {
    describe(`${kind} channel`, () => {
      it("after the delay refunds every unclaimed unit to the payer and finishes the channel (property 5)", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        await f.channels.connect(f.payee).claim(config, 250n, await signVoucher(f, f.payer, id, 250n));
        await f.channels.connect(f.payer).requestClose(config);
        const closesAt = BigInt(await networkHelpers.time.latest()) + CLOSE_DELAY;
        await networkHelpers.time.increaseTo(closesAt);
        const tx = await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payer).withdraw(config),
          parties(f, DEPOSIT - 250n, 0n, -(DEPOSIT - 250n)),
        );
        await expect(tx).to.emit(f.channels, "ChannelWithdrawn").withArgs(id, DEPOSIT - 250n);
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 250n, closesAt, status: Status.Finished });
        await expectSolvent(f, asset, [id], []);
      });

      it("refunds the whole deposit when nothing was claimed, in the same block with a zero delay", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset, { closeDelay: 0n });
        await f.channels.connect(f.payer).requestClose(config);
        await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payer).withdraw(config),
          parties(f, DEPOSIT, 0n, -DEPOSIT),
        );
        await expectChannel(f, id, {
          deposit: DEPOSIT,
          claimed: 0n,
          closesAt: BigInt(await networkHelpers.time.latest()) - 1n,
          status: Status.Finished,
        });
      });

      it("reverts CallerNotPayer when anyone but the payer withdraws", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config } = await openChannel(f, asset, { closeDelay: 0n });
        await f.channels.connect(f.payer).requestClose(config);
        await expect(f.channels.connect(f.payee).withdraw(config))
          .to.be.revertedWithCustomError(f.channels, "CallerNotPayer")
          .withArgs(f.payee.address, f.payer.address);
      });

      it("reverts ChannelCloseNotRequested on an open channel", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        await expect(f.channels.connect(f.payer).withdraw(config))
          .to.be.revertedWithCustomError(f.channels, "ChannelCloseNotRequested")
          .withArgs(id);
      });

      it("reverts ChannelCloseDelayNotElapsed before closesAt", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        await f.channels.connect(f.payer).requestClose(config);
        const closesAt = BigInt(await networkHelpers.time.latest()) + CLOSE_DELAY;
        await expect(f.channels.connect(f.payer).withdraw(config))
          .to.be.revertedWithCustomError(f.channels, "ChannelCloseDelayNotElapsed")
          .withArgs(id, closesAt);
      });

      it("reverts ChannelNotOpen for a never-opened channel and when withdrawn twice", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const never = makeConfig(f, asset, { closeDelay: 3n });
        await expect(f.channels.connect(f.payer).withdraw(never))
          .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
          .withArgs(channelIdOf(never), Status.None);
        const { config, id } = await openChannel(f, asset, { closeDelay: 0n });
        await f.channels.connect(f.payer).requestClose(config);
        await f.channels.connect(f.payer).withdraw(config);
        await expect(f.channels.connect(f.payer).withdraw(config))
          .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
          .withArgs(id, Status.Finished);
      });
    });
  }
});
