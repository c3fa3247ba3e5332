// fast-check: whatever the order (and concurrency) in which a payee receives a channel's vouchers, what it
// stores only increases, ends at the highest one delivered, and the increments it reports add up to it.
import { expect } from "chai";
import fc from "fast-check";
import type { ChannelConfig, Hex } from "../../src/channel.ts";
import { Payee } from "../../src/payee.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import type { Voucher } from "../../src/voucher.ts";
import { ADAPTERS } from "../chain/fixture.ts";
import { sdkSetup, type SdkSetup } from "./setup.ts";

for (const kind of ADAPTERS) {
  describe(`Payee acceptance is monotonic in any order of arrival (${kind})`, function () {
    let s: SdkSetup;
    let id: Hex;
    let config: ChannelConfig;
    const vouchers: Voucher[] = [];

    before(async () => {
      s = await sdkSetup(kind);
      const opened = await s.payer.open({ payee: s.payeeAddress, amount: 10n ** 12n });
      id = opened.channelId;
      config = opened.config;
      for (let i = 0; i < 30; i++) vouchers.push(await s.payer.pay(id, BigInt(1 + ((i * 7919) % 1000))));
    });
    after(async () => s.dispose());

    it("stores the maximum, counts each unit once, refuses the rest as NOT_INCREASING", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.shuffledSubarray(vouchers, { minLength: 1 }),
          fc.array(fc.integer({ min: 0, max: 29 }), { maxLength: 10 }),
          fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 10 }),
          async (order, duplicates, batchSizes) => {
            const arrivals = [...order, ...duplicates.map((i) => vouchers[i])];
            const store = new MemoryStore().forDeployment({ chainId: s.d.chainId, contract: s.d.contract });
            const payee = new Payee({ chain: s.payeeChain.chain, store, payee: s.payeeAddress, limits: { syncIntervalMs: 60_000 } });
            let increments = 0n;
            let bestSoFar = 0n;
            let position = 0;
            let batch = 0;
            while (position < arrivals.length) {
              // Each batch arrives at once (concurrently); batches arrive one after the other.
              const size = batchSizes[batch++ % batchSizes.length];
              const slice = arrivals.slice(position, position + size);
              position += size;
              const results = await Promise.allSettled(slice.map((v) => payee.accept(v, config)));
              const highestInBatch = slice.reduce((m, v) => (v.amount > m ? v.amount : m), 0n);
              for (const [i, result] of results.entries()) {
                if (result.status === "fulfilled") {
                  expect(result.value.amount).to.equal(slice[i].amount);
                  expect(result.value.amount > bestSoFar).to.equal(true);
                  increments += result.value.increment;
                } else {
                  expect((result.reason as { code?: string }).code).to.equal("NOT_INCREASING");
                }
              }
              // The batch's highest voucher is always kept when it beats what came before.
              if (highestInBatch > bestSoFar) bestSoFar = highestInBatch;
              expect((await store.bestVoucher(id))?.amount).to.equal(bestSoFar);
            }
            const highest = arrivals.reduce((m, v) => (v.amount > m ? v.amount : m), 0n);
            expect(bestSoFar).to.equal(highest);
            expect(increments).to.equal(highest);
          },
        ),
        { numRuns: process.env.TRICKLE_DEEP === "1" ? 1000 : 80 },
      );
    });
  });
}
