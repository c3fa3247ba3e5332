// The payer's Buyer: a lost answer is retried with the same voucher, an owned non-consumable is not paid
// again, and value signed into a voucher the payee did not store is counted toward the next purchase, so
// the payer's signed total and the payee's accepted amount meet again.
import { expect } from "chai";
import fc from "fast-check";
import { Buyer } from "../../src/commerce/buyer.ts";
import { MemoryCommerceStore } from "../../src/commerce/store-memory.ts";
import { DEPLOYMENT, DOMAIN, openChannel, PAYEE, shop, voucherSource } from "./fixture.ts";

const PRICES = { "coins-100": 990_000n, "gems-10": 250_000n, "no-ads": 4_990_000n } as const;

describe("commerce Buyer", function () {
  it("property: whatever ids repeat and however many buyers a payer restarts with, the payer's signed total ends equal to what the payee accepted", async function () {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ item: fc.constantFrom<keyof typeof PRICES>("coins-100", "gems-10", "no-ads"), id: fc.integer({ min: 0, max: 6 }), restart: fc.boolean() }), { minLength: 1, maxLength: 20 }),
        async (steps) => {
          const store = new MemoryCommerceStore().forDeployment(DEPLOYMENT);
          const s = shop(store);
          const p = openChannel(s.chain, 10n ** 12n);
          const source = voucherSource(p, s.chain);
          const newBuyer = () => new Buyer({ payer: source, config: p.config, channelId: p.channelId, counter: s.seller, receiptSigner: PAYEE, domain: DOMAIN, maxPrice: 5_000_000n });
          let buyer = newBuyer();
          for (const step of steps) {
            // A restarted app knows nothing but what restore gives back.
            if (step.restart) {
              buyer = newBuyer();
              buyer.restore(await s.seller.restore(p.address));
            }
            await buyer.buy(step.item, PRICES[step.item], `id-${step.id}`).catch((error: { code?: string }) => expect(error.code).to.equal("PURCHASE_ID_REUSED"));
          }
          // One more purchase settles any unstored voucher value into the payee's ledger.
          await buyer.buy("gems-10", PRICES["gems-10"], "final");
          const receipts = await store.receiptsOf(p.address);
          const best = (await store.bestVoucher(p.channelId))!.amount;
          expect(receipts.reduce((t, r) => t + r.price, 0n) + (await store.credit(p.channelId))).to.equal(best);
          expect(source.signed).to.equal(best);
          expect(receipts.filter((r) => r.item === "no-ads").length).to.be.at.most(1);
          await store.close();
        },
      ),
      { numRuns: 60 },
    );
  });

  it("does not pay for a non-consumable it holds a receipt for, and refuses a price above its limit", async function () {
    const store = new MemoryCommerceStore().forDeployment(DEPLOYMENT);
    const s = shop(store);
    const p = openChannel(s.chain, 10n ** 12n);
    const source = voucherSource(p, s.chain);
    const buyer = new Buyer({ payer: source, config: p.config, channelId: p.channelId, counter: s.seller, receiptSigner: PAYEE, domain: DOMAIN, maxPrice: 5_000_000n });
    const first = await buyer.buy("no-ads", PRICES["no-ads"], "a");
    expect(await buyer.buy("no-ads", PRICES["no-ads"], "b")).to.deep.equal(first);
    expect(source.signed).to.equal(PRICES["no-ads"]);
    expect(await buyer.buy("coins-100", 6_000_000n, "c").catch((e: { code: string }) => e.code)).to.equal("INVALID_ARGUMENT");
    expect(buyer.lastAccepted?.amount).to.equal(PRICES["no-ads"]);
    await store.close();
  });
});
