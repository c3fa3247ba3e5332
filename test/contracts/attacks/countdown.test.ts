// The close countdown's boundary: with T = closesAt, the payee can claim and close while
// block.timestamp < T (so at T-1), and only the payer's withdraw settles from T on (T and T+1).
import { expect } from "chai";
import {
  ASSET_KINDS,
  CLOSE_DELAY,
  DEPOSIT,
  Status,
  deploy,
  expectBalanceChanges,
  expectChannel,
  networkHelpers,
  openChannel,
  parties,
  pinNextTimestamp,
  signVoucher,
  type AssetKind,
} from "../helpers/fixtures.ts";

async function closing(kind: AssetKind) {
  const f = await deploy();
  const asset = f.asset(kind);
  const opened = await openChannel(f, asset);
  const requestedAt = await pinNextTimestamp();
  await f.channels.connect(f.payer).requestClose(opened.config);
  return { f, asset, ...opened, closesAt: requestedAt + CLOSE_DELAY };
}

describe("attack: the close-countdown boundary", () => {
  for (const kind of ASSET_KINDS) {
    describe(`${kind} channel`, () => {
      it("at T-1 the payee can still claim", async () => {
        const { f, asset, config, id, closesAt } = await closing(kind);
        await networkHelpers.time.setNextBlockTimestamp(closesAt - 1n);
        await expectBalanceChanges(
          asset,
          async () => f.channels.connect(f.payee).claim(config, 100n, await signVoucher(f, f.payer, id, 100n)),
          parties(f, 0n, 100n, -100n),
        );
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 100n, closesAt, status: Status.Closing });
      });

      it("at T-1 the payer cannot withdraw yet (ChannelCloseDelayNotElapsed)", async () => {
        const { f, config, id, closesAt } = await closing(kind);
        await networkHelpers.time.setNextBlockTimestamp(closesAt - 1n);
        // A fixed gas limit: the transaction is mined at the pinned second instead of being estimated.
        await expect(f.channels.connect(f.payer).withdraw(config, { gasLimit: 500_000n }))
          .to.be.revertedWithCustomError(f.channels, "ChannelCloseDelayNotElapsed")
          .withArgs(id, closesAt);
        expect(await networkHelpers.time.latest()).to.equal(Number(closesAt - 1n));
      });

      it("at T-1 the payee can still close", async () => {
        const { f, asset, config, id, closesAt } = await closing(kind);
        await networkHelpers.time.setNextBlockTimestamp(closesAt - 1n);
        await expectBalanceChanges(
          asset,
          async () => f.channels.connect(f.payee).close(config, 100n, await signVoucher(f, f.payer, id, 100n)),
          parties(f, DEPOSIT - 100n, 100n, -DEPOSIT),
        );
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 100n, closesAt, status: Status.Finished });
      });

      for (const offset of [0n, 1n]) {
        const at = offset === 0n ? "T" : "T+1";
        it(`at ${at} claim and close revert ChannelCloseDeadlinePassed and the payer withdraws everything unclaimed`, async () => {
          const { f, asset, config, id, closesAt } = await closing(kind);
          const voucher = await signVoucher(f, f.payer, id, 100n);
          // Fixed gas limits: each transaction is mined at its pinned second instead of being estimated.
          await networkHelpers.time.setNextBlockTimestamp(closesAt + offset);
          await expect(f.channels.connect(f.payee).claim(config, 100n, voucher, { gasLimit: 500_000n }))
            .to.be.revertedWithCustomError(f.channels, "ChannelCloseDeadlinePassed")
            .withArgs(id, closesAt);
          expect(await networkHelpers.time.latest()).to.equal(Number(closesAt + offset));
          await networkHelpers.time.setNextBlockTimestamp(closesAt + offset + 1n);
          await expect(f.channels.connect(f.payee).close(config, 100n, voucher, { gasLimit: 500_000n }))
            .to.be.revertedWithCustomError(f.channels, "ChannelCloseDeadlinePassed")
            .withArgs(id, closesAt);
          await networkHelpers.time.setNextBlockTimestamp(closesAt + offset + 2n);
          await expectBalanceChanges(
            asset,
            () => f.channels.connect(f.payer).withdraw(config),
            parties(f, DEPOSIT, 0n, -DEPOSIT),
          );
          await expectChannel(f, id, { deposit: DEPOSIT, claimed: 0n, closesAt, status: Status.Finished });
        });
      }

      it("at exactly T the payer's withdraw succeeds", async () => {
        const { f, asset, config, id, closesAt } = await closing(kind);
        await networkHelpers.time.setNextBlockTimestamp(closesAt);
        const tx = await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payer).withdraw(config),
          parties(f, DEPOSIT, 0n, -DEPOSIT),
        );
        await expect(tx).to.emit(f.channels, "ChannelWithdrawn").withArgs(id, DEPOSIT);
      });
    });
  }
});
