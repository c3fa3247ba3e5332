// Money property 4: only the payee can use a voucher; the payer's old, smaller vouchers are useless.
import { expect } from "chai";
import {
  ASSET_KINDS,
  DEPOSIT,
  Status,
  channelIdOf,
  claimEntry,
  deploy,
  expectChannel,
  openChannel,
  signVoucher,
} from "../helpers/fixtures.ts";

describe("attack: the payer settles with an old voucher", () => {
  for (const kind of ASSET_KINDS) {
    describe(`${kind} channel`, () => {
      it("the payer cannot claim with an old voucher (CallerNotPayee)", async () => {
        const f = await deploy();
        const { config, id } = await openChannel(f, f.asset(kind));
        const old = await signVoucher(f, f.payer, id, 10n);
        await expect(f.channels.connect(f.payer).claim(config, 10n, old))
          .to.be.revertedWithCustomError(f.channels, "CallerNotPayee")
          .withArgs(f.payer.address, f.payee.address);
      });

      it("the payer cannot close or batch-claim with an old voucher to cut the payee's due (CallerNotPayee, ChannelNotOpen)", async () => {
        const f = await deploy();
        const { config, id } = await openChannel(f, f.asset(kind));
        const old = await signVoucher(f, f.payer, id, 10n);
        await signVoucher(f, f.payer, id, 900n); // the payee holds this newer one
        await expect(f.channels.connect(f.payer).close(config, 10n, old))
          .to.be.revertedWithCustomError(f.channels, "CallerNotPayee")
          .withArgs(f.payer.address, f.payee.address);
        // In a batch the caller is the payee of every entry: the payer names a channel of its own that does not exist.
        await expect(f.channels.connect(f.payer).claimMany(config.token, [claimEntry(config, 10n, old)]))
          .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
          .withArgs(channelIdOf({ ...config, payee: f.payer.address }), Status.None);
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
      });

      it("an old voucher below what was claimed cannot lower the claim or close (VoucherAmountNotIncreasing)", async () => {
        const f = await deploy();
        const { config, id } = await openChannel(f, f.asset(kind));
        const old = await signVoucher(f, f.payer, id, 10n);
        await f.channels.connect(f.payee).claim(config, 900n, await signVoucher(f, f.payer, id, 900n));
        await expect(f.channels.connect(f.payee).close(config, 10n, old))
          .to.be.revertedWithCustomError(f.channels, "VoucherAmountNotIncreasing")
          .withArgs(10n, 900n);
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 900n, status: Status.Open });
      });
    });
  }
});
