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
  makeConfig,
  openChannel,
  parties,
  pinNextTimestamp,
} from "./helpers/fixtures.ts";

describe("PaymentChannels.requestClose", () => {
  for (const kind of ASSET_KINDS) {
    describe(`${kind} channel`, () => {
      it("starts the countdown: status Closing, closesAt = now + closeDelay, no funds move", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        const now = await pinNextTimestamp();
        const tx = await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payer).requestClose(config),
          parties(f, 0n, 0n, 0n),
        );
        await expect(tx).to.emit(f.channels, "ChannelCloseRequested").withArgs(id, config.payee, now + CLOSE_DELAY);
        await expectChannel(f, id, {
          deposit: DEPOSIT,
          claimed: 0n,
          closesAt: now + CLOSE_DELAY,
          status: Status.Closing,
        });
      });

      it("with a zero close delay sets closesAt to the current second", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset, { closeDelay: 0n });
        const now = await pinNextTimestamp();
        await expect(f.channels.connect(f.payer).requestClose(config))
          .to.emit(f.channels, "ChannelCloseRequested")
          .withArgs(id, config.payee, now);
      });

      it("reverts CallerNotPayer when anyone but the payer asks", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config } = await openChannel(f, asset);
        for (const caller of [f.payee, f.other]) {
          await expect(f.channels.connect(caller).requestClose(config))
            .to.be.revertedWithCustomError(f.channels, "CallerNotPayer")
            .withArgs(caller.address, f.payer.address);
        }
      });

      it("reverts ChannelClosing when asked twice (the deadline cannot be pushed back)", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        const now = await pinNextTimestamp();
        await f.channels.connect(f.payer).requestClose(config);
        await expect(f.channels.connect(f.payer).requestClose(config))
          .to.be.revertedWithCustomError(f.channels, "ChannelClosing")
          .withArgs(id, now + CLOSE_DELAY);
      });

      it("reverts ChannelNotOpen for a never-opened and for a finished channel", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const never = makeConfig(f, asset, { closeDelay: 2n });
        await expect(f.channels.connect(f.payer).requestClose(never))
          .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
          .withArgs(channelIdOf(never), Status.None);
        const { config, id } = await openChannel(f, asset);
        await f.channels.connect(f.payee).close(config, 0n, "0x");
        await expect(f.channels.connect(f.payer).requestClose(config))
          .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
          .withArgs(id, Status.Finished);
      });
    });
  }
});
