import { expect } from "chai";
import {
  ASSET_KINDS,
  CLOSE_DELAY,
  DEPOSIT,
  Status,
  channelIdOf,
  deploy,
  ethers,
  expectBalanceChanges,
  expectChannel,
  expectSolvent,
  makeConfig,
  networkHelpers,
  openChannel,
  parties,
  signVoucher,
} from "./helpers/fixtures.ts";

describe("PaymentChannels.claim", () => {
  for (const kind of ASSET_KINDS) {
    describe(`${kind} channel`, () => {
      it("pays the payee amount - claimed for each cumulative voucher and keeps the channel open", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        for (const [amount, paid] of [
          [100n, 100n],
          [250n, 150n],
          [DEPOSIT, DEPOSIT - 250n],
        ] as const) {
          const signature = await signVoucher(f, f.payer, id, amount);
          const tx = await expectBalanceChanges(
            asset,
            () => f.channels.connect(f.payee).claim(config, amount, signature),
            parties(f, 0n, paid, -paid),
          );
          await expect(tx).to.emit(f.channels, "ChannelClaimed").withArgs(id, amount, paid);
          await expectChannel(f, id, { deposit: DEPOSIT, claimed: amount, status: Status.Open });
          await expectSolvent(f, asset, [id], []);
        }
      });

      it("accepts vouchers of a session key named as the config's signer", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset, { signer: f.sessionKey.address });
        const signature = await signVoucher(f, f.sessionKey, id, 42n);
        await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payee).claim(config, 42n, signature),
          parties(f, 0n, 42n, -42n),
        );
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 42n, status: Status.Open });
      });

      it("still pays during the close countdown, before closesAt", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        await f.channels.connect(f.payer).requestClose(config);
        const closesAt = BigInt(await networkHelpers.time.latest()) + CLOSE_DELAY;
        const signature = await signVoucher(f, f.payer, id, 10n);
        await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payee).claim(config, 10n, signature),
          parties(f, 0n, 10n, -10n),
        );
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 10n, closesAt, status: Status.Closing });
      });

      it("reverts CallerNotPayee when anyone but the payee claims", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        const signature = await signVoucher(f, f.payer, id, 10n);
        await expect(f.channels.connect(f.other).claim(config, 10n, signature))
          .to.be.revertedWithCustomError(f.channels, "CallerNotPayee")
          .withArgs(f.other.address, f.payee.address);
      });

      it("reverts VoucherAmountNotIncreasing for a voucher at or below what was claimed", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        await f.channels.connect(f.payee).claim(config, 100n, await signVoucher(f, f.payer, id, 100n));
        for (const amount of [100n, 99n]) {
          await expect(f.channels.connect(f.payee).claim(config, amount, await signVoucher(f, f.payer, id, amount)))
            .to.be.revertedWithCustomError(f.channels, "VoucherAmountNotIncreasing")
            .withArgs(amount, 100n);
        }
      });

      it("reverts for a config encoded with dirty high bits, and pays nothing", async () => {
        // The claim path hashes the config's calldata as it is: a non-canonical encoding of a real
        // channel's config names an id that no open created, and no voucher of the real id verifies for it.
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        const signature = await signVoucher(f, f.payer, id, 100n);
        const calldata = f.channels.interface.encodeFunctionData("claim", [config, 100n, signature]);
        const dirty = `${calldata.slice(0, 10)}01${calldata.slice(12)}`; // highest byte of the payer word
        const dirtyId = ethers.keccak256(`0x${dirty.slice(10, 10 + 6 * 64)}`);
        const held = await asset.balanceOf(f.channelsAddress);
        await expect(f.payee.sendTransaction({ to: f.channelsAddress, data: dirty }))
          .to.be.revertedWithCustomError(f.channels, "VoucherSignatureInvalid")
          .withArgs(dirtyId, config.signer);
        expect(await asset.balanceOf(f.channelsAddress)).to.equal(held);
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
      });

      it("reverts VoucherAmountNotIncreasing for a zero voucher on a fresh channel", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        await expect(f.channels.connect(f.payee).claim(config, 0n, await signVoucher(f, f.payer, id, 0n)))
          .to.be.revertedWithCustomError(f.channels, "VoucherAmountNotIncreasing")
          .withArgs(0n, 0n);
      });

      it("reverts VoucherAmountTooHigh for a voucher above the deposit (property 2)", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        const amount = DEPOSIT + 1n;
        await expect(f.channels.connect(f.payee).claim(config, amount, await signVoucher(f, f.payer, id, amount)))
          .to.be.revertedWithCustomError(f.channels, "VoucherAmountTooHigh")
          .withArgs(amount, DEPOSIT);
      });

      it("reverts VoucherSignatureInvalid for a signature by anyone but the signer", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        await expect(f.channels.connect(f.payee).claim(config, 10n, await signVoucher(f, f.payee, id, 10n)))
          .to.be.revertedWithCustomError(f.channels, "VoucherSignatureInvalid")
          .withArgs(id, f.payer.address);
      });

      it("reverts VoucherSignatureInvalid for a signature of another amount", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        await expect(f.channels.connect(f.payee).claim(config, 11n, await signVoucher(f, f.payer, id, 10n)))
          .to.be.revertedWithCustomError(f.channels, "VoucherSignatureInvalid")
          .withArgs(id, f.payer.address);
      });

      it("reverts ChannelNotOpen for a never-opened and for a finished channel", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const never = makeConfig(f, asset, { salt: f.payer.address.padEnd(66, "0") });
        const neverId = channelIdOf(never);
        await expect(f.channels.connect(f.payee).claim(never, 1n, await signVoucher(f, f.payer, neverId, 1n)))
          .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
          .withArgs(neverId, Status.None);
        const { config, id } = await openChannel(f, asset);
        await f.channels.connect(f.payee).close(config, 5n, await signVoucher(f, f.payer, id, 5n));
        await expect(f.channels.connect(f.payee).claim(config, 6n, await signVoucher(f, f.payer, id, 6n)))
          .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
          .withArgs(id, Status.Finished);
      });
    });
  }
});
