import { expect } from "chai";
import { ChannelStatus, ETH } from "../../src/channel.ts";
import type { Voucher } from "../../src/voucher.ts";
import { Payer } from "../../src/payer.ts";
import { ADAPTERS } from "../chain/fixture.ts";
import { sdkSetup, type SdkSetup } from "./setup.ts";

const USD = 10n ** 6n;
const CENT = 10n ** 4n;
const ONE = 10n ** 18n;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  return "resolved";
}

for (const kind of ADAPTERS) {
  describe(`Payer and Payee end to end (${kind})`, function () {
    let s: SdkSetup;

    before(async () => {
      s = await sdkSetup(kind);
    });
    after(async () => s.dispose());

    it("token channel: open, pay many, accept, claim, pay more, close; every balance adds up", async () => {
      const { d, payer, payerAddress, payeeAddress } = s;
      const payee = s.newPayee({ policy: { tokens: [d.token] } });
      await d.mint(payerAddress, 10n * USD);
      const payeeStart = await d.balance(payeeAddress, d.token);
      const channel = await payer.open({ payee: payeeAddress, token: d.token, amount: 5n * USD });
      expect(channel.transaction.gasUsed).to.be.greaterThan(0n);
      expect(await d.balance(payerAddress, d.token)).to.equal(5n * USD);

      let accepted = 0n;
      for (let i = 0; i < 200; i++) {
        const voucher = await payer.pay(channel.channelId, CENT);
        const receipt = await payee.accept(voucher);
        expect(receipt).to.deep.equal({ channelId: channel.channelId, amount: (BigInt(i) + 1n) * CENT, increment: CENT });
        accepted += receipt.increment;
      }
      expect(accepted).to.equal(2n * USD);
      expect((await s.payeeStore.bestVoucher(channel.channelId))?.amount).to.equal(2n * USD);

      await payee.claim(channel.channelId);
      expect(await d.balance(payeeAddress, d.token)).to.equal(payeeStart + 2n * USD);
      expect((await d.reader().readChannel(channel.channelId)).claimed).to.equal(2n * USD);
      expect(await codeOf(payee.claim(channel.channelId))).to.equal("NOT_INCREASING");

      // After a restart, the payer continues from what it signed.
      const restarted = new Payer({ chain: s.payerChain, store: s.payerStore });
      const next = await restarted.pay(channel.channelId, USD);
      expect(next.amount).to.equal(3n * USD);
      expect((await payee.accept(next)).increment).to.equal(USD);

      await payee.close(channel.channelId);
      expect(await d.balance(payeeAddress, d.token)).to.equal(payeeStart + 3n * USD);
      expect(await d.balance(payerAddress, d.token)).to.equal(10n * USD - 3n * USD);
      expect(await d.balance(d.contract, d.token)).to.equal(0n);
      expect((await d.reader().readChannel(channel.channelId)).status).to.equal(ChannelStatus.Finished);
      expect(await codeOf(payee.accept(await signAbove(next)))).to.equal("CHANNEL_NOT_OPEN");

      async function signAbove(voucher: Voucher): Promise<Voucher> {
        // A voucher signed after the close by the channel's own key: the payee must refuse it.
        const { signVoucher } = await import("../../src/voucher.ts");
        const record = await s.payerStore.payerChannel(channel.channelId);
        return signVoucher({ chainId: d.chainId, verifyingContract: d.contract }, voucher.channelId, voucher.amount + 1n, record!.sessionKey!);
      }
    });

    it("claimMany over ETH and token channels sends one transaction per token, each paying its own token", async () => {
      const { d, payer, payerAddress, payeeAddress } = s;
      const payee = s.newPayee({ policy: { tokens: [ETH, d.token] } });
      await d.mint(payerAddress, 10n * USD);
      const eth = await payer.open({ payee: payeeAddress, amount: ONE });
      const usd = await payer.open({ payee: payeeAddress, token: d.token, amount: 5n * USD });
      const usd2 = await payer.open({ payee: payeeAddress, token: d.token, amount: 5n * USD });
      await payee.accept(await payer.pay(eth.channelId, 7000n));
      await payee.accept(await payer.pay(usd.channelId, CENT));
      await payee.accept(await payer.pay(usd2.channelId, 2n * CENT));
      const tokenStart = await d.balance(payeeAddress, d.token);
      const contractEth = await d.balance(d.contract, ETH);
      const transactions = await payee.claimMany([eth.channelId, usd.channelId, usd2.channelId]);
      expect(transactions).to.have.length(2);
      expect(new Set(transactions.map((tx) => tx.hash)).size).to.equal(2);
      expect(await d.balance(payeeAddress, d.token)).to.equal(tokenStart + 3n * CENT);
      expect(await d.balance(d.contract, ETH)).to.equal(contractEth - 7000n);
      for (const [id, amount] of [[eth.channelId, 7000n], [usd.channelId, CENT], [usd2.channelId, 2n * CENT]] as const) {
        expect((await d.reader().readChannel(id)).claimed).to.equal(amount);
      }
      expect(await codeOf(payee.claimMany())).to.equal("NOT_INCREASING");
    });

    it("ETH channels: claimMany, a close request stops acceptance, the payee closes, the payer withdraws", async () => {
      const { d, payer, payeeAddress } = s;
      const payee = s.newPayee();
      const a = await payer.open({ payee: payeeAddress, amount: ONE });
      const b = await payer.open({ payee: payeeAddress, amount: 2n * ONE, closeDelay: 7200n });
      const contractStart = await d.balance(d.contract, ETH);
      for (let i = 0; i < 20; i++) {
        await payee.accept(await payer.pay(a.channelId, 1000n));
        await payee.accept(await payer.pay(b.channelId, 3000n));
      }
      await payee.claimMany();
      expect((await d.reader().readChannel(a.channelId)).claimed).to.equal(20_000n);
      expect((await d.reader().readChannel(b.channelId)).claimed).to.equal(60_000n);
      expect(await d.balance(d.contract, ETH)).to.equal(contractStart - 80_000n);
      expect(await codeOf(payee.claimMany())).to.equal("NOT_INCREASING");

      const last = await payer.pay(a.channelId, 500n);
      await payer.requestClose(a.channelId);
      await payee.sync();
      expect((await payee.channelState(a.channelId))?.status).to.equal(ChannelStatus.Closing);
      expect(await codeOf(payee.accept(last))).to.equal("CHANNEL_CLOSING");
      expect(await codeOf(payer.pay(a.channelId, 1n))).to.equal("CHANNEL_CLOSING");
      await payee.close(a.channelId);
      const closed = await d.reader().readChannel(a.channelId);
      expect(closed).to.include({ claimed: 20_000n, status: ChannelStatus.Finished });

      await payer.requestClose(b.channelId);
      expect(await codeOf(payer.withdraw(b.channelId))).to.equal("CONTRACT_REVERT");
      await d.increaseTime(7200n);
      const payerBefore = await d.balance(s.payerAddress, ETH);
      await payer.withdraw(b.channelId);
      expect(await d.balance(s.payerAddress, ETH)).to.be.greaterThan(payerBefore + 2n * ONE - 60_000n - 10n ** 16n);
      expect(await d.balance(d.contract, ETH)).to.equal(contractStart - ONE - 2n * ONE);
      await payee.sync();
      expect((await payee.channelState(b.channelId))?.status).to.equal(ChannelStatus.Finished);
    });

    it("opens with a permit, refuses to sign above the deposit until a top-up, and a top-up is seen by the payee", async () => {
      const { d, payer, payerAddress, payeeAddress } = s;
      const payee = s.newPayee({ policy: { tokens: [d.token] }, limits: { syncIntervalMs: 0 } });
      await d.mint(payerAddress, 3n * USD);
      const channel = await payer.open({ payee: payeeAddress, token: d.token, amount: 2n * USD, permit: true });
      expect((await d.reader().readChannel(channel.channelId)).deposit).to.equal(2n * USD);
      await payee.accept(await payer.payUpTo(channel.channelId, 2n * USD));
      expect(await codeOf(payer.pay(channel.channelId, 1n))).to.equal("INSUFFICIENT_FUNDS");
      expect(await codeOf(payer.payUpTo(channel.channelId, 2n * USD))).to.equal("NOT_INCREASING");
      await payer.topUp(channel.channelId, USD);
      const voucher = await payer.pay(channel.channelId, USD);
      expect(await payee.accept(voucher)).to.deep.equal({ channelId: channel.channelId, amount: 3n * USD, increment: USD });
      await payee.close(channel.channelId);
      expect(await d.balance(payeeAddress, d.token)).to.be.greaterThanOrEqual(3n * USD);
    });

    it("keeps the session key in the store before the open transaction is sent", async () => {
      const { payeeAddress } = s;
      const before = (await s.payerStore.payerChannels()).length;
      // The open reverts (a deposit above the payer's token balance), after the record was written.
      expect(await codeOf(s.payer.open({ payee: payeeAddress, token: s.d.token, amount: 10n ** 20n }))).to.equal("CONTRACT_REVERT");
      const records = await s.payerStore.payerChannels();
      expect(records.length).to.equal(before + 1);
      const record = records.find((r) => r.signedAmount === 0n && r.config.token.toLowerCase() === s.d.token.toLowerCase() && r.sessionKey !== undefined);
      expect(record?.sessionKey).to.match(/^0x[0-9a-f]{64}$/);
    });
  });
}
