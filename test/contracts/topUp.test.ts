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

describe("PaymentChannels.topUp", () => {
  for (const kind of ASSET_KINDS) {
    describe(`${kind} channel`, () => {
      it("adds to the deposit of an open channel and emits the new total", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        const tx = await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payer).topUp(config, 500n, asset.value(500n)),
          parties(f, -500n, 0n, 500n),
        );
        await expect(tx).to.emit(f.channels, "ChannelToppedUp").withArgs(id, f.payer.address, 500n, DEPOSIT + 500n);
        await expectChannel(f, id, { deposit: DEPOSIT + 500n, claimed: 0n, status: Status.Open });
        await expectSolvent(f, asset, [id], []);
      });

      it("accepts funds from anyone, after claims, and keeps claimed untouched", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        await f.channels.connect(f.payee).claim(config, 300n, await signVoucher(f, f.payer, id, 300n));
        await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.other).topUp(config, 700n, asset.value(700n)),
          [...parties(f, 0n, 0n, 700n), ["funder", f.other.address, -700n]],
        );
        await expectChannel(f, id, { deposit: DEPOSIT + 700n, claimed: 300n, status: Status.Open });
        await expectSolvent(f, asset, [id], []);
      });

      it("reverts ChannelNotOpen for an id that was never opened", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const config = makeConfig(f, asset);
        await expect(f.channels.connect(f.payer).topUp(config, 1n, asset.value(1n)))
          .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
          .withArgs(channelIdOf(config), Status.None);
      });

      it("reverts ChannelClosing once the payer asked to close (a close request is final)", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        await f.channels.connect(f.payer).requestClose(config);
        const closesAt = BigInt(await networkHelpers.time.latest()) + CLOSE_DELAY;
        await expect(f.channels.connect(f.payer).topUp(config, 1n, asset.value(1n)))
          .to.be.revertedWithCustomError(f.channels, "ChannelClosing")
          .withArgs(id, closesAt);
      });

      it("reverts ChannelNotOpen on a finished channel", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        await f.channels.connect(f.payee).close(config, 0n, "0x");
        await expect(f.channels.connect(f.payer).topUp(config, 1n, asset.value(1n)))
          .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
          .withArgs(id, Status.Finished);
      });
    });
  }

  it("reverts EthValueMismatch when msg.value differs from the amount (ETH) or is not zero (token)", async () => {
    const f = await deploy();
    const eth = await openChannel(f, f.asset("ETH"));
    await expect(f.channels.connect(f.payer).topUp(eth.config, 10n, { value: 9n }))
      .to.be.revertedWithCustomError(f.channels, "EthValueMismatch")
      .withArgs(9n, 10n);
    const erc20 = await openChannel(f, f.asset("ERC-20"));
    await expect(f.channels.connect(f.payer).topUp(erc20.config, 10n, { value: 10n }))
      .to.be.revertedWithCustomError(f.channels, "EthValueMismatch")
      .withArgs(10n, 0n);
  });
});
