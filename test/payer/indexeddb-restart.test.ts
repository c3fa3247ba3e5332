// The Payer over the IndexedDB store, closed and reopened between steps as a page reload does: the
// same property the SQLite store has (no cumulative amount signed twice, continue from the store).
import { expect } from "chai";
import fc from "fast-check";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import type { Hex } from "../../src/channel.ts";
import type { ChainWriter } from "../../src/chain/adapter.ts";
import { Payer } from "../../src/payer.ts";
import { IndexedDbStore } from "../../src/store/browser.ts";
import type { Voucher } from "../../src/voucher.ts";
import { deploy, type Deployment } from "../chain/fixture.ts";
import { deploymentOf } from "../store/behaviour.ts";

describe("Payer on IndexedDbStore (page reloads)", function () {
  let d: Deployment;
  let chain: ChainWriter;

  before(async () => {
    d = await deploy("viem");
    chain = await d.writer(1);
  });

  it("property: across reloads, no cumulative amount is ever signed twice, and it continues from the store", async () => {
    const factory = new IDBFactory();
    // A page reopens its database and takes the view of the deployment it pays on.
    const reopen = async () => (await IndexedDbStore.open("payer", { indexedDB: factory, IDBKeyRange })).forDeployment(deploymentOf(d));
    let store = await reopen();
    const { channelId: id } = await new Payer({ chain, store }).open({ payee: d.accounts[2], amount: 10n ** 12n });
    const sessionKey = (await store.payerChannel(id))?.sessionKey;
    expect(sessionKey).to.match(/^0x[0-9a-f]{64}$/);
    const handedOut = new Map<bigint, Hex>();
    let last = 0n;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant("pay" as const), value: fc.bigInt({ min: 1n, max: 1000n }) }),
            fc.record({ op: fc.constant("concurrent" as const), value: fc.bigInt({ min: 1n, max: 50n }) }),
            fc.constant({ op: "reload" as const, value: 0n }),
          ),
          { minLength: 1, maxLength: 10 },
        ),
        async (steps) => {
          let payer = new Payer({ chain, store });
          const take = (voucher: Voucher) => {
            expect(handedOut.has(voucher.amount), `amount ${voucher.amount} signed twice`).to.equal(false);
            expect(voucher.amount > last).to.equal(true);
            handedOut.set(voucher.amount, voucher.signature);
            last = voucher.amount;
          };
          for (const step of steps) {
            if (step.op === "reload") {
              await store.close();
              store = await reopen();
              payer = new Payer({ chain, store });
              expect((await store.payerChannel(id))?.sessionKey, "the session key survives a reload").to.equal(sessionKey);
            } else if (step.op === "pay") {
              take(await payer.pay(id, step.value));
            } else {
              const vouchers = await Promise.all([payer.pay(id, step.value), payer.pay(id, step.value + 1n), payer.pay(id, step.value + 2n)]);
              for (const voucher of vouchers) take(voucher);
            }
            expect((await store.payerChannel(id))?.signedAmount).to.equal(last);
          }
        },
      ),
      { numRuns: process.env.TRICKLE_DEEP === "1" ? 300 : 20 },
    );
    expect((await store.payerChannel(id))?.signature).to.equal(handedOut.get(last));
    await store.close();
  });
});
