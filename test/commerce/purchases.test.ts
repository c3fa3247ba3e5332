// In-app purchases through the Seller, on both commerce stores: a purchase id is charged once whatever
// happens around it, a refused sale writes nothing, and the receipts add up to what the payee accepted.
import { expect } from "chai";
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hex } from "../../src/channel.ts";
import { MemoryCommerceStore } from "../../src/commerce/store-memory.ts";
import { SqliteCommerceStore } from "../../src/commerce/store-sqlite.ts";
import type { CommerceStore } from "../../src/commerce/store.ts";
import { verifyReceipt } from "../../src/commerce/receipt.ts";
import { DEPLOYMENT, DOMAIN, openChannel, PAYEE, shop, type TestPayer } from "./fixture.ts";

const PRICE = { "coins-100": 990_000n, "gems-10": 250_000n, "no-ads": 4_990_000n } as const;
type ItemId = keyof typeof PRICE;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  return "resolved";
}

const KINDS: { name: string; open(): { store: CommerceStore; reopen?: () => CommerceStore; dispose(): void } }[] = [
  { name: "memory", open: () => ({ store: new MemoryCommerceStore().forDeployment(DEPLOYMENT), dispose() {} }) },
  {
    name: "sqlite",
    open() {
      const dir = mkdtempSync(join(tmpdir(), "trickle-commerce-"));
      const path = join(dir, "payee.sqlite");
      return { store: SqliteCommerceStore.open(path).forDeployment(DEPLOYMENT), reopen: () => SqliteCommerceStore.open(path).forDeployment(DEPLOYMENT), dispose: () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
];

/** What the store holds for a channel: its best voucher, its standing receipts' prices, its credit. */
async function ledger(store: CommerceStore, payer: TestPayer) {
  const best = (await store.bestVoucher(payer.channelId))?.amount ?? 0n;
  const receipts = await store.receiptsOf(payer.address);
  const sum = receipts.reduce((total, r) => total + r.price, 0n);
  return { best, receipts, sum, credit: await store.credit(payer.channelId) };
}

for (const kind of KINDS) {
  describe(`commerce purchases (${kind.name} store)`, function () {
    this.timeout(120_000);
    let opened: ReturnType<(typeof KINDS)[number]["open"]>;
    let s: ReturnType<typeof shop>;

    beforeEach(() => {
      opened = kind.open();
      s = shop(opened.store);
    });
    afterEach(async () => {
      await opened.store.close();
      opened.dispose();
    });

    it("sells an item for a voucher and signs a receipt the app verifies with the payee's address alone", async function () {
      const p = openChannel(s.chain, 10_000_000n);
      const sale = await s.seller.purchase({ voucher: p.sign(990_000n), config: p.config, item: "coins-100", purchaseId: "order-1" });
      expect(sale.replayed).to.equal(false);
      expect(sale.receipt).to.include({ kind: "purchase", key: "order-1", item: "coins-100", price: 990_000n, payer: p.address.toLowerCase() });
      verifyReceipt(DOMAIN, sale.receipt, PAYEE);
      expect(await ledger(opened.store, p)).to.deep.include({ best: 990_000n, sum: 990_000n, credit: 0n });
    });

    it("a retry of a purchase whose answer was lost gets the same receipt and is not charged again", async function () {
      const p = openChannel(s.chain, 10_000_000n);
      const first = await s.seller.purchase({ voucher: p.sign(990_000n), config: p.config, item: "coins-100", purchaseId: "order-1" });
      const same = await s.seller.purchase({ voucher: p.sign(990_000n), config: p.config, item: "coins-100", purchaseId: "order-1" });
      // A retry that signed a fresh, higher voucher is not charged either: the voucher is not even stored.
      const fresh = await s.seller.purchase({ voucher: p.sign(1_980_000n), config: p.config, item: "coins-100", purchaseId: "order-1" });
      expect(same.receipt).to.deep.equal(first.receipt);
      expect(fresh.receipt).to.deep.equal(first.receipt);
      expect(same.replayed && fresh.replayed).to.equal(true);
      // Channel ids are public: a caller without the channel's key gets no receipt, nor a forged-amount twin.
      const stranger = openChannel(s.chain, 1n);
      const forged = { ...p.sign(990_000n), signature: stranger.sign(990_000n).signature };
      expect(await codeOf(s.seller.purchase({ voucher: forged, config: p.config, item: "coins-100", purchaseId: "order-1" }))).to.equal("BAD_SIGNATURE");
      expect(await codeOf(s.seller.purchase({ voucher: { ...forged, signature: "0x12" }, config: p.config, item: "coins-100", purchaseId: "order-1" }))).to.equal("MALFORMED");
      expect(await ledger(opened.store, p)).to.deep.include({ best: 990_000n, sum: 990_000n });
    });

    it("refuses a purchase id reused for another item, a short voucher, an unknown item, and writes nothing", async function () {
      const p = openChannel(s.chain, 10_000_000n);
      await s.seller.purchase({ voucher: p.sign(990_000n), config: p.config, item: "coins-100", purchaseId: "order-1" });
      expect(await codeOf(s.seller.purchase({ voucher: p.sign(1_240_000n), config: p.config, item: "gems-10", purchaseId: "order-1" }))).to.equal("PURCHASE_ID_REUSED");
      expect(await codeOf(s.seller.purchase({ voucher: p.sign(1_000_000n), config: p.config, item: "gems-10", purchaseId: "order-2" }))).to.equal("INSUFFICIENT_PAYMENT");
      expect(await codeOf(s.seller.purchase({ voucher: p.sign(2_000_000n), config: p.config, item: "nothing", purchaseId: "order-3" }))).to.equal("UNKNOWN_ITEM");
      expect(await codeOf(s.seller.purchase({ voucher: p.sign(2_000_000n), config: p.config, item: "gems-10", purchaseId: "" }))).to.equal("INVALID_ARGUMENT");
      for (const purchaseId of ["item:no-ads", "period:0", "a b", "x".repeat(129)]) {
        expect(await codeOf(s.seller.purchase({ voucher: p.sign(2_000_000n), config: p.config, item: "gems-10", purchaseId })), purchaseId).to.equal("INVALID_ARGUMENT");
      }
      expect(await codeOf(s.seller.purchase({ voucher: p.sign(20_000_000n), config: p.config, item: "gems-10", purchaseId: "order-4" }))).to.equal("EXCEEDS_DEPOSIT");
      // A channel in another token: 0.25 USDC is not 250000 wei.
      const ether = openChannel(s.chain, 10n ** 18n, "0x0000000000000000000000000000000000000000");
      expect(await codeOf(s.seller.purchase({ voucher: ether.sign(250_000n), config: ether.config, item: "gems-10", purchaseId: "order-6" }))).to.equal("WRONG_TOKEN");
      expect(await codeOf(s.seller.renew({ voucher: ether.sign(250_000n), config: ether.config, plan: "basic-daily", sequence: 0 }))).to.equal("WRONG_TOKEN");
      expect(await opened.store.bestVoucher(ether.channelId)).to.equal(undefined);
      const other = openChannel(s.chain, 10_000_000n);
      const forged = { ...p.sign(3_000_000n), signature: other.sign(3_000_000n).signature };
      expect(await codeOf(s.seller.purchase({ voucher: forged, config: p.config, item: "gems-10", purchaseId: "order-5" }))).to.equal("BAD_SIGNATURE");
      expect(await ledger(opened.store, p)).to.deep.include({ best: 990_000n, sum: 990_000n, credit: 0n });
      expect((await ledger(opened.store, p)).receipts.map((r) => r.key)).to.deep.equal(["order-1"]);
    });

    it("sells a non-consumable once per payer, whatever the purchase id", async function () {
      const p = openChannel(s.chain, 20_000_000n);
      const first = await s.seller.purchase({ voucher: p.sign(4_990_000n), config: p.config, item: "no-ads", purchaseId: "a" });
      const again = await s.seller.purchase({ voucher: p.sign(9_980_000n), config: p.config, item: "no-ads", purchaseId: "b" });
      expect(again.receipt).to.deep.equal(first.receipt);
      expect(first.receipt.key).to.equal("item:no-ads");
      expect(await ledger(opened.store, p)).to.deep.include({ best: 4_990_000n, sum: 4_990_000n });
    });

    it("a refunded purchase (its delivery failed) is voided and its price credited to the next one", async function () {
      const p = openChannel(s.chain, 20_000_000n);
      await s.seller.purchase({ voucher: p.sign(990_000n), config: p.config, item: "coins-100", purchaseId: "failed" });
      expect(await s.seller.refund(p.address, "failed")).to.equal(990_000n);
      expect(await s.seller.refund(p.address, "failed")).to.equal(undefined);
      // The next voucher need only raise the amount by one unit: the credit pays the rest.
      const next = await s.seller.purchase({ voucher: p.sign(990_001n), config: p.config, item: "coins-100", purchaseId: "next" });
      expect(next.credit).to.equal(1n);
      const { sum, credit, best } = await ledger(opened.store, p);
      expect({ sum, credit, best }).to.deep.equal({ sum: 990_000n, credit: 1n, best: 990_001n });
      // The voided purchase id can be bought again, and is then charged once more.
      const again = await s.seller.purchase({ voucher: p.sign(1_980_001n), config: p.config, item: "coins-100", purchaseId: "failed" });
      expect(again.replayed).to.equal(false);
      expect((await ledger(opened.store, p)).sum).to.equal(1_980_000n);
    });

    it("1,000 concurrent purchases with 100 repeated ids: each id is charged exactly once", async function () {
      // 100 payers, one purchase id each, each submitted ten times at once (a retry storm from several
      // clients), all 1,000 in flight together in a shuffled order.
      const price = PRICE["gems-10"];
      const payers = Array.from({ length: 100 }, () => openChannel(s.chain, 10_000_000n));
      const submissions = payers.flatMap((p, i) => Array.from({ length: 10 }, () => ({ p, id: `order-${i}`, voucher: p.sign(price) })));
      const order = fc.sample(fc.shuffledSubarray(submissions, { minLength: submissions.length }), { numRuns: 1, seed: 42 })[0]!;
      const results = await Promise.all(order.map(({ p, id, voucher }) => s.seller.purchase({ voucher, config: p.config, item: "gems-10", purchaseId: id })));
      expect(results.filter((r) => !r.replayed)).to.have.length(100);
      for (const [i, p] of payers.entries()) {
        const { receipts, best, sum } = await ledger(opened.store, p);
        expect(receipts.map((r) => r.key)).to.deep.equal([`order-${i}`]);
        expect({ best, sum }).to.deep.equal({ best: price, sum: price });
        const answers = results.filter((r) => r.receipt.payer === p.address.toLowerCase());
        expect(answers).to.have.length(10);
        for (const a of answers) expect(a.receipt).to.deep.equal(receipts[0]);
      }
    });

    it("concurrent purchases on one channel with vouchers arriving out of order: none is charged twice, the value above the receipts is credit", async function () {
      const p = openChannel(s.chain, 10n ** 12n);
      const price = PRICE["gems-10"];
      const ids = Array.from({ length: 100 }, (_, i) => `order-${i}`);
      const submissions = ids.flatMap((id, i) => Array.from({ length: 10 }, () => ({ id, voucher: p.sign(price * BigInt(i + 1)) })));
      const order = fc.sample(fc.shuffledSubarray(submissions, { minLength: submissions.length }), { numRuns: 1, seed: 7 })[0]!;
      const results = await Promise.allSettled(order.map(({ id, voucher }) => s.seller.purchase({ voucher, config: p.config, item: "gems-10", purchaseId: id })));
      const { receipts, sum, best, credit } = await ledger(opened.store, p);
      expect(new Set(receipts.map((r) => r.key)).size).to.equal(receipts.length);
      for (const r of results) if (r.status === "rejected") expect((r.reason as { code?: string }).code).to.equal("NOT_INCREASING");
      for (const r of results) if (r.status === "fulfilled") expect(receipts.map((x) => x.signature)).to.include(r.value.receipt.signature);
      expect(sum + credit).to.equal(best);
    });

    it("property: never charged twice for one purchase id, and receipts plus credit equal the accepted amount", async function () {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ id: fc.integer({ min: 0, max: 12 }), item: fc.constantFrom<ItemId>("coins-100", "gems-10", "no-ads"), extra: fc.bigInt({ min: 0n, max: 5n }), concurrent: fc.boolean() }), {
            minLength: 1,
            maxLength: 25,
          }),
          async (steps) => {
            const p = openChannel(s.chain, 10n ** 12n);
            let signed = 0n;
            const firstItemOf = new Map<string, ItemId>();
            let batch: Promise<unknown>[] = [];
            for (const step of steps) {
              const purchaseId = `id-${step.id}`;
              signed += PRICE[step.item] + step.extra;
              const attempt = s.seller
                .purchase({ voucher: p.sign(signed), config: p.config, item: step.item, purchaseId })
                .then((sale) => {
                  if (!firstItemOf.has(sale.receipt.key)) firstItemOf.set(sale.receipt.key, sale.receipt.item as ItemId);
                  expect(sale.receipt.item).to.equal(step.item);
                })
                .catch((error: { code?: string }) => expect(error.code).to.be.oneOf(["PURCHASE_ID_REUSED", "NOT_INCREASING", "INSUFFICIENT_PAYMENT"]));
              batch.push(attempt);
              if (!step.concurrent) {
                await Promise.all(batch);
                batch = [];
              }
            }
            await Promise.all(batch);
            const { receipts, sum, credit, best } = await ledger(opened.store, p);
            const keys = receipts.map((r) => r.key);
            expect(new Set(keys).size).to.equal(keys.length);
            for (const r of receipts) expect(r.price).to.equal(PRICE[r.item as ItemId]);
            expect(sum + credit).to.equal(best);
          },
        ),
        { numRuns: kind.name === "memory" ? 60 : 25 },
      );
    });

    if (kind.name === "sqlite") it("a restart keeps every receipt, and a retry after it is still not charged", async function () {
      const p = openChannel(s.chain, 10_000_000n);
      const first = await s.seller.purchase({ voucher: p.sign(990_000n), config: p.config, item: "coins-100", purchaseId: "order-1" });
      await opened.store.close();
      opened.store = opened.reopen!();
      const after = shop(opened.store, s.chain);
      expect(await after.seller.restore(p.address)).to.deep.equal([first.receipt]);
      const retry = await after.seller.purchase({ voucher: p.sign(990_000n), item: "coins-100", purchaseId: "order-1" });
      expect(retry.receipt).to.deep.equal(first.receipt);
      expect(await ledger(opened.store, p)).to.deep.include({ best: 990_000n, sum: 990_000n });
    });
  });
}

export type { Hex };
