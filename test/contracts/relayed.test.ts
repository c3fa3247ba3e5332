// claimRelayed, closeRelayed and refundRelayed: the payee signs, a relayer submits and takes a fee out of the
// payee's payout, never more than signed, credited to it and withdrawn in bulk. And refund, the payee's own
// partial refund.
import { expect } from "chai";
import {
  ASSET_KINDS,
  DEPOSIT,
  Status,
  deploy,
  ethers,
  expectBalanceChanges,
  expectChannel,
  expectSolvent,
  networkHelpers,
  openChannel,
  signVoucher,
  type Asset,
  type BalanceChange,
  type Fixture,
} from "./helpers/fixtures.ts";
import { signRelayedClaim, signRelayedClose, signRelayedRefund } from "./helpers/gasless.ts";

/** Payer, payee, relayer (`other`) and contract. */
function withRelayer(f: Fixture, payer: bigint, payee: bigint, relayer: bigint, contract: bigint): BalanceChange[] {
  return [
    ["payer", f.payer.address, payer],
    ["payee", f.payee.address, payee],
    ["relayer", f.other.address, relayer],
    ["contract", f.channelsAddress, contract],
  ];
}

for (const kind of ASSET_KINDS) {
  describe(`PaymentChannels relayed settlement, ${kind} channel`, () => {
    async function setup() {
      const f = await deploy();
      const asset: Asset = f.asset(kind);
      const channel = await openChannel(f, asset);
      return { f, asset, ...channel };
    }

    describe("claimRelayed", () => {
      it("pays the payee amount - claimed - fee and credits the relayer the fee; the channel stays open", async () => {
        const { f, asset, config, id } = await setup();
        const voucher = await signVoucher(f, f.payer, id, 400n);
        const { payeeSignature, deadline } = await signRelayedClaim(f, id, 400n, 10n);
        const tx = await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.other).claimRelayed(config, 400n, voucher, 10n, deadline, payeeSignature),
          withRelayer(f, 0n, 390n, 0n, -390n),
        );
        await expect(tx).to.emit(f.channels, "ChannelClaimed").withArgs(id, 400n, 400n);
        await expect(tx).to.emit(f.channels, "SettlementRelayed").withArgs(id, f.other.address, 10n);
        await expect(tx).not.to.emit(f.channels, "PayoutCredited");
        expect(await f.channels.credits(asset.token, f.other.address)).to.equal(10n);
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 400n, status: Status.Open });
        await expectSolvent(f, asset, [id], [f.other.address]);
      });

      it("without a fee pays the payee the whole payout and emits no SettlementRelayed", async () => {
        const { f, asset, config, id } = await setup();
        const voucher = await signVoucher(f, f.payer, id, 400n);
        const { payeeSignature, deadline } = await signRelayedClaim(f, id, 400n, 0n);
        const tx = await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.other).claimRelayed(config, 400n, voucher, 0n, deadline, payeeSignature),
          withRelayer(f, 0n, 400n, 0n, -400n),
        );
        await expect(tx).not.to.emit(f.channels, "SettlementRelayed");
        expect(await f.channels.credits(asset.token, f.other.address)).to.equal(0n);
        await expectSolvent(f, asset, [id], []);
      });

      it("the relayer's fees of many settlements add up in its credit and leave in one withdrawCredit", async () => {
        const { f, asset, config, id } = await setup();
        const second = await openChannel(f, asset, { salt: ethers.id("second relayed channel") });
        for (const [channel, amount, fee] of [[{ config, id }, 400n, 10n], [second, 300n, 7n], [{ config, id }, 500n, 3n]] as const) {
          const voucher = await signVoucher(f, f.payer, channel.id, amount);
          const { payeeSignature, deadline } = await signRelayedClaim(f, channel.id, amount, fee);
          await f.channels.connect(f.other).claimRelayed(channel.config, amount, voucher, fee, deadline, payeeSignature);
        }
        expect(await f.channels.credits(asset.token, f.other.address)).to.equal(20n);
        await expectSolvent(f, asset, [id, second.id], [f.other.address]);
        const tx = await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.other).withdrawCredit(asset.token, f.other.address),
          withRelayer(f, 0n, 0n, 20n, -20n),
        );
        await expect(tx).to.emit(f.channels, "CreditWithdrawn").withArgs(asset.token, f.other.address, f.other.address, 20n);
        await expectSolvent(f, asset, [id, second.id], [f.other.address]);
      });

      it("works once: the same signatures again revert VoucherAmountNotIncreasing", async () => {
        const { f, config, id } = await setup();
        const voucher = await signVoucher(f, f.payer, id, 400n);
        const { payeeSignature, deadline } = await signRelayedClaim(f, id, 400n, 10n);
        await f.channels.connect(f.other).claimRelayed(config, 400n, voucher, 10n, deadline, payeeSignature);
        await expect(f.channels.connect(f.other).claimRelayed(config, 400n, voucher, 10n, deadline, payeeSignature))
          .to.be.revertedWithCustomError(f.channels, "VoucherAmountNotIncreasing")
          .withArgs(400n, 400n);
      });

      it("refuses a fee above the payout (RelayFeeTooHigh), a fee other than signed, a past deadline and a non-payee signer", async () => {
        const { f, asset, config, id } = await setup();
        const voucher = await signVoucher(f, f.payer, id, 400n);
        const greedy = await signRelayedClaim(f, id, 400n, 401n);
        await expect(f.channels.connect(f.other).claimRelayed(config, 400n, voucher, 401n, greedy.deadline, greedy.payeeSignature))
          .to.be.revertedWithCustomError(f.channels, "RelayFeeTooHigh")
          .withArgs(401n, 400n);
        const signed = await signRelayedClaim(f, id, 400n, 10n);
        await expect(f.channels.connect(f.other).claimRelayed(config, 400n, voucher, 11n, signed.deadline, signed.payeeSignature))
          .to.be.revertedWithCustomError(f.channels, "SettlementSignatureInvalid")
          .withArgs(id, f.payee.address);
        const now = BigInt(await networkHelpers.time.latest());
        const stale = await signRelayedClaim(f, id, 400n, 10n, { deadline: now });
        await expect(f.channels.connect(f.other).claimRelayed(config, 400n, voucher, 10n, now, stale.payeeSignature))
          .to.be.revertedWithCustomError(f.channels, "SettlementExpired");
        const byPayer = await signRelayedClaim(f, id, 400n, 10n, { signer: f.payer });
        await expect(f.channels.connect(f.other).claimRelayed(config, 400n, voucher, 10n, byPayer.deadline, byPayer.payeeSignature))
          .to.be.revertedWithCustomError(f.channels, "SettlementSignatureInvalid");
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
        await expectSolvent(f, asset, [id], []);
      });

      it("still needs the channel signer's voucher: a payee signature alone pays nothing", async () => {
        const { f, config, id } = await setup();
        const forged = await signVoucher(f, f.payee, id, 400n);
        const { payeeSignature, deadline } = await signRelayedClaim(f, id, 400n, 0n);
        await expect(f.channels.connect(f.other).claimRelayed(config, 400n, forged, 0n, deadline, payeeSignature))
          .to.be.revertedWithCustomError(f.channels, "VoucherSignatureInvalid")
          .withArgs(id, config.signer);
      });
    });

    describe("closeRelayed", () => {
      it("pays the payee amount - claimed - fee, credits the relayer the fee, refunds the payer, finishes the channel", async () => {
        const { f, asset, config, id } = await setup();
        const voucher = await signVoucher(f, f.payer, id, 400n);
        const { payeeSignature, deadline } = await signRelayedClose(f, id, 400n, 25n);
        const tx = await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.other).closeRelayed(config, 400n, voucher, 25n, deadline, payeeSignature),
          withRelayer(f, DEPOSIT - 400n, 375n, 0n, -DEPOSIT + 25n),
        );
        await expect(tx).to.emit(f.channels, "ChannelClosed").withArgs(id, config.payer, 400n, DEPOSIT - 400n);
        await expect(tx).to.emit(f.channels, "SettlementRelayed").withArgs(id, f.other.address, 25n);
        expect(await f.channels.credits(asset.token, f.other.address)).to.equal(25n);
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 400n, status: Status.Finished });
        await expectSolvent(f, asset, [id], [f.other.address]);
      });

      it("a claim signature cannot close, and a close signature cannot claim (the type names the entry point)", async () => {
        const { f, config, id } = await setup();
        const voucher = await signVoucher(f, f.payer, id, 400n);
        const claimSig = await signRelayedClaim(f, id, 400n, 0n);
        await expect(f.channels.connect(f.other).closeRelayed(config, 400n, voucher, 0n, claimSig.deadline, claimSig.payeeSignature))
          .to.be.revertedWithCustomError(f.channels, "SettlementSignatureInvalid");
        const closeSig = await signRelayedClose(f, id, 400n, 0n);
        await expect(f.channels.connect(f.other).claimRelayed(config, 400n, voucher, 0n, closeSig.deadline, closeSig.payeeSignature))
          .to.be.revertedWithCustomError(f.channels, "SettlementSignatureInvalid");
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
      });

      it("refuses a fee above what the close pays the payee", async () => {
        const { f, config, id } = await setup();
        const voucher = await signVoucher(f, f.payer, id, 400n);
        await f.channels.connect(f.payee).claim(config, 400n, voucher);
        const { payeeSignature, deadline } = await signRelayedClose(f, id, 400n, 1n);
        await expect(f.channels.connect(f.other).closeRelayed(config, 400n, "0x", 1n, deadline, payeeSignature))
          .to.be.revertedWithCustomError(f.channels, "RelayFeeTooHigh")
          .withArgs(1n, 0n);
      });
    });

    describe("refund", () => {
      it("gives part of the unclaimed deposit back to the payer; the channel stays open and can still be claimed", async () => {
        const { f, asset, config, id } = await setup();
        await f.channels.connect(f.payee).claim(config, 100n, await signVoucher(f, f.payer, id, 100n));
        const tx = await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payee).refund(config, 300n),
          withRelayer(f, 300n, 0n, 0n, -300n),
        );
        await expect(tx).to.emit(f.channels, "ChannelRefunded").withArgs(id, config.payer, 300n, DEPOSIT - 300n);
        await expectChannel(f, id, { deposit: DEPOSIT - 300n, claimed: 100n, status: Status.Open });
        expect(await f.channels.refunded(id)).to.equal(300n);
        await f.channels.connect(f.payee).claim(config, DEPOSIT - 300n, await signVoucher(f, f.payer, id, DEPOSIT - 300n));
        await expectSolvent(f, asset, [id], []);
      });

      it("refuses zero, more than deposit - claimed (RefundAmountInvalid), and anyone but the payee", async () => {
        const { f, config, id } = await setup();
        await f.channels.connect(f.payee).claim(config, 100n, await signVoucher(f, f.payer, id, 100n));
        for (const amount of [0n, DEPOSIT - 99n]) {
          await expect(f.channels.connect(f.payee).refund(config, amount))
            .to.be.revertedWithCustomError(f.channels, "RefundAmountInvalid")
            .withArgs(amount, DEPOSIT - 100n);
        }
        await expect(f.channels.connect(f.payer).refund(config, 1n))
          .to.be.revertedWithCustomError(f.channels, "CallerNotPayee")
          .withArgs(f.payer.address, f.payee.address);
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 100n, status: Status.Open });
      });

      it("a voucher above the lowered deposit is refused (VoucherAmountTooHigh)", async () => {
        const { f, config, id } = await setup();
        await f.channels.connect(f.payee).refund(config, 1n);
        await expect(f.channels.connect(f.payee).claim(config, DEPOSIT, await signVoucher(f, f.payer, id, DEPOSIT)))
          .to.be.revertedWithCustomError(f.channels, "VoucherAmountTooHigh")
          .withArgs(DEPOSIT, DEPOSIT - 1n);
      });

      it("is refused on a finished channel", async () => {
        const { f, config, id } = await setup();
        await f.channels.connect(f.payee).close(config, 0n, "0x");
        await expect(f.channels.connect(f.payee).refund(config, 1n))
          .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
          .withArgs(id, Status.Finished);
      });
    });

    describe("refundRelayed", () => {
      it("refunds up to the signed cumulative amount, once; a later signature for a higher total refunds the difference", async () => {
        const { f, asset, config, id } = await setup();
        const first = await signRelayedRefund(f, id, 200n);
        const tx = await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.other).refundRelayed(config, 200n, first.deadline, first.payeeSignature),
          withRelayer(f, 200n, 0n, 0n, -200n),
        );
        await expect(tx).to.emit(f.channels, "ChannelRefunded").withArgs(id, config.payer, 200n, DEPOSIT - 200n);
        await expect(f.channels.connect(f.other).refundRelayed(config, 200n, first.deadline, first.payeeSignature))
          .to.be.revertedWithCustomError(f.channels, "RefundNotIncreasing")
          .withArgs(200n, 200n);
        await f.channels.connect(f.payee).refund(config, 50n);
        const second = await signRelayedRefund(f, id, 300n);
        await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.other).refundRelayed(config, 300n, second.deadline, second.payeeSignature),
          withRelayer(f, 50n, 0n, 0n, -50n),
        );
        await expectChannel(f, id, { deposit: DEPOSIT - 300n, claimed: 0n, status: Status.Open });
        expect(await f.channels.refunded(id)).to.equal(300n);
        await expectSolvent(f, asset, [id], []);
      });

      it("refuses a signature by anyone but the payee, past its deadline, or for another channel", async () => {
        const { f, config, id } = await setup();
        const byPayer = await signRelayedRefund(f, id, 200n, { signer: f.payer });
        await expect(f.channels.connect(f.other).refundRelayed(config, 200n, byPayer.deadline, byPayer.payeeSignature))
          .to.be.revertedWithCustomError(f.channels, "SettlementSignatureInvalid")
          .withArgs(id, f.payee.address);
        const now = BigInt(await networkHelpers.time.latest());
        const stale = await signRelayedRefund(f, id, 200n, { deadline: now });
        await expect(f.channels.connect(f.other).refundRelayed(config, 200n, now, stale.payeeSignature))
          .to.be.revertedWithCustomError(f.channels, "SettlementExpired");
        const elsewhere = await signRelayedRefund(f, ethers.id("another channel"), 200n);
        await expect(f.channels.connect(f.other).refundRelayed(config, 200n, elsewhere.deadline, elsewhere.payeeSignature))
          .to.be.revertedWithCustomError(f.channels, "SettlementSignatureInvalid");
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
      });
    });
  });
}
