// Payee.charge: what a transport (the HTTP gate) calls to serve one paid request. The same checks as
// accept, then one store transaction that stores the voucher and records the request, or nothing.
import { expect } from "chai";
import type { Hex } from "../../src/channel.ts";
import { signVoucher } from "../../src/voucher.ts";
import type { Voucher } from "../../src/voucher.ts";
import { ADAPTERS } from "../chain/fixture.ts";
import { sdkSetup, type SdkSetup } from "./setup.ts";

const PRICE = 1_000n;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  return "resolved";
}

for (const kind of ADAPTERS) {
  describe(`Payee.charge (${kind})`, function () {
    let s: SdkSetup;

    beforeEach(async () => {
      s = await sdkSetup(kind);
    });
    /** A voucher signed with the channel's session key, past any check the Payer itself makes. */
    const signByHand = async (channelId: Hex, amount: bigint): Promise<Voucher> => {
      const sessionKey = (await s.payerStore.payerChannel(channelId))?.sessionKey as Hex;
      return signVoucher({ chainId: s.d.chainId, verifyingContract: s.d.contract }, channelId, amount, sessionKey);
    };
    afterEach(async () => s.dispose());

    it("serves out-of-order vouchers from credit, each amount once, and stores only the vouchers that paid", async () => {
      const payee = s.newPayee();
      const channel = await s.payer.open({ payee: s.payeeAddress, amount: 100n * PRICE });
      const [v1, v2, v3] = [await s.payer.pay(channel.channelId, PRICE), await s.payer.pay(channel.channelId, PRICE), await s.payer.pay(channel.channelId, PRICE)];
      expect(await payee.charge(v3, PRICE, channel.config)).to.deep.equal({ channelId: channel.channelId, charged: PRICE, cumulative: 3n * PRICE, stored: true, deposit: 100n * PRICE });
      expect(await payee.charge(v1, PRICE)).to.deep.include({ cumulative: 3n * PRICE, stored: false });
      expect(await codeOf(payee.charge(v1, PRICE))).to.equal("NOT_INCREASING");
      expect(await payee.charge(v2, PRICE)).to.deep.include({ stored: false });
      expect(await codeOf(payee.charge(v2, PRICE))).to.equal("NOT_INCREASING");
      const v4 = await s.payer.pay(channel.channelId, PRICE / 2n);
      expect(await codeOf(payee.charge(v4, PRICE))).to.equal("INSUFFICIENT_PAYMENT");
      expect((await s.payeeStore.bestVoucher(channel.channelId))?.amount).to.equal(3n * PRICE);
      expect((await s.payeeStore.chargeLedger(channel.channelId))?.served).to.equal(3n * PRICE);
    });

    it("refuses a forged voucher, a bad price and a finished channel's voucher, and stores nothing", async () => {
      const payee = s.newPayee();
      const channel = await s.payer.open({ payee: s.payeeAddress, amount: 10n * PRICE });
      const voucher = await s.payer.pay(channel.channelId, PRICE);
      const forged = { ...voucher, signature: `0x${"11".repeat(64)}1b` as Hex };
      expect(await codeOf(payee.charge(forged, PRICE, channel.config))).to.equal("BAD_SIGNATURE");
      for (const price of [0n, -1n, 1n << 256n, 5 as unknown as bigint]) expect(await codeOf(payee.charge(voucher, price, channel.config))).to.equal("INVALID_ARGUMENT");
      expect(await s.payeeStore.bestVoucher(channel.channelId)).to.equal(undefined);
      expect(await s.payeeStore.chargeLedger(channel.channelId)).to.equal(undefined);
      await payee.charge(voucher, PRICE, channel.config);
      await payee.close(channel.channelId);
      expect(await codeOf(payee.charge(await signByHand(channel.channelId, 2n * PRICE), PRICE))).to.equal("CHANNEL_NOT_OPEN");
      expect((await s.payeeStore.chargeLedger(channel.channelId))?.served).to.equal(PRICE);
    });

    it("a voucher above the deposit it knows makes the payee pull events once, then serves it after a top-up", async () => {
      // No periodic pull: only the charge above the cached deposit may cause one.
      const payee = s.newPayee({ limits: { syncIntervalMs: 600_000 } });
      const channel = await s.payer.open({ payee: s.payeeAddress, amount: 2n * PRICE });
      await payee.charge(await s.payer.pay(channel.channelId, PRICE), PRICE, channel.config);
      await payee.charge(await s.payer.pay(channel.channelId, PRICE), PRICE);
      await s.payer.topUp(channel.channelId, 5n * PRICE);
      const eventsBefore = s.payeeChain.calls.get("events") ?? 0;
      const receipt = await payee.charge(await s.payer.pay(channel.channelId, PRICE), PRICE);
      expect(receipt).to.deep.include({ cumulative: 3n * PRICE, deposit: 7n * PRICE });
      expect((s.payeeChain.calls.get("events") ?? 0) - eventsBefore).to.be.greaterThan(0);
      // Beyond even the new deposit: refused, and within the second no further pull.
      const pulls = s.payeeChain.calls.get("events") ?? 0;
      const tooMuch = await signByHand(channel.channelId, 8n * PRICE);
      expect(await codeOf(payee.charge(tooMuch, PRICE))).to.equal("EXCEEDS_DEPOSIT");
      expect(await codeOf(payee.charge(tooMuch, PRICE))).to.equal("EXCEEDS_DEPOSIT");
      expect((s.payeeChain.calls.get("events") ?? 0) - pulls).to.be.at.most(1);
      expect((await s.payeeStore.bestVoucher(channel.channelId))?.amount).to.equal(3n * PRICE);
    });
  });
}
