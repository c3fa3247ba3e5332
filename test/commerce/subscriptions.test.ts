// Subscriptions: one voucher per period paid in advance, renewal by the payer's Subscriber within its
// limits, pro-rated upgrades, downgrades at the period's end, cancel, reasons a renewal cannot happen,
// entitlement by tier at any time, and nothing lost across a payee restart.
import { expect } from "chai";
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChannelStatus } from "../../src/channel.ts";
import { RenewalRefusedError } from "../../src/commerce/errors.ts";
import { Plans } from "../../src/commerce/plans.ts";
import { verifyReceipt } from "../../src/commerce/receipt.ts";
import { Seller } from "../../src/commerce/seller.ts";
import { MemoryCommerceStore } from "../../src/commerce/store-memory.ts";
import { PostgresCommerceStore } from "../../src/commerce/store-postgres.ts";
import { SqliteCommerceStore } from "../../src/commerce/store-sqlite.ts";
import type { CommerceStore } from "../../src/commerce/store.ts";
import { Subscriber, type SubscriberLimits } from "../../src/commerce/subscriber.ts";
import { describeWithPostgres, freshSchema, postgresUrl } from "../store/postgres-server.ts";
import { DAY, DEPLOYMENT, DOMAIN, MemoryChain, openChannel, PAYEE, RECEIPT_KEY, shop, type Shop, USDC, voucherSource } from "./fixture.ts";

const BASIC = 100_000n; // 0.10 USDC a day
const PRO = 300_000n;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof RenewalRefusedError ? error.reason : ((error as { code?: string }).code ?? String(error));
  }
  return "resolved";
}

function subscriber(s: Shop, deposit: bigint, limits: Partial<SubscriberLimits> = {}) {
  const p = openChannel(s.chain, deposit);
  const source = voucherSource(p, s.chain);
  const sub = new Subscriber({
    payer: source,
    chain: s.chain,
    config: p.config,
    channelId: p.channelId,
    counter: s.seller,
    limits: { plans: ["basic-daily", "pro-daily", "basic-trial"], maxPerPeriod: 1_000_000n, until: s.clock.now + 365n * DAY, ...limits },
    receiptSigner: PAYEE,
    domain: DOMAIN,
    now: () => s.clock.now,
  });
  return { p, source, sub };
}

describe("commerce subscriptions", function () {
  this.timeout(120_000);
  let store: CommerceStore;
  let s: Shop;

  beforeEach(() => {
    store = new MemoryCommerceStore().forDeployment(DEPLOYMENT);
    s = shop(store);
  });
  afterEach(() => store.close());

  it("subscribes, renews once per period when due, and the payee answers entitlement by tier and time", async function () {
    const { p, source, sub } = subscriber(s, 10_000_000n);
    const start = s.clock.now;
    const first = await sub.subscribe("basic-daily");
    expect(first).to.include({ kind: "period", key: "period:0", item: "basic-daily", price: BASIC, validFrom: start, validUntil: start + DAY });
    verifyReceipt(DOMAIN, first, PAYEE);
    expect(await s.seller.entitled(p.address, "basic")).to.equal(true);
    expect(await s.seller.entitled(p.address, "pro")).to.equal(false);
    expect(await sub.renewIfDue()).to.equal(undefined); // not due: nothing signed
    expect(source.signed).to.equal(BASIC);
    s.clock.now = start + DAY;
    expect(await s.seller.entitled(p.address, "basic")).to.equal(false); // the paid day is over
    const second = await sub.renewIfDue();
    expect(second).to.include({ key: "period:1", validFrom: start + DAY, validUntil: start + 2n * DAY, price: BASIC });
    expect(await s.seller.entitled(p.address, "basic")).to.equal(true);
    expect(await s.seller.entitled(p.address, "basic", start + DAY - 1n)).to.equal(true);
    expect(source.signed).to.equal(2n * BASIC);
    expect((await store.bestVoucher(p.channelId))?.amount).to.equal(2n * BASIC);
  });

  it("a renewal whose answer was lost is retried with the same voucher and charged once", async function () {
    const { p, source, sub } = subscriber(s, 10_000_000n);
    await sub.subscribe("basic-daily");
    // The counter's first answer is lost after the sale was committed.
    let drop = true;
    const lossy = {
      quote: s.seller.quote.bind(s.seller),
      purchase: s.seller.purchase.bind(s.seller),
      renew: async (request: Parameters<Seller["renew"]>[0]) => {
        const sale = await s.seller.renew(request);
        if (drop) {
          drop = false;
          throw new Error("connection reset");
        }
        return sale;
      },
    };
    const flaky = new Subscriber({ payer: source, chain: s.chain, config: p.config, channelId: p.channelId, counter: lossy, limits: { plans: ["basic-daily"], maxPerPeriod: BASIC, until: s.clock.now + 10n * DAY }, receiptSigner: PAYEE, domain: DOMAIN, now: () => s.clock.now });
    flaky.restore(await s.seller.restore(p.address), "basic-daily");
    s.clock.now += DAY;
    const receipt = await flaky.renewIfDue();
    expect(receipt?.key).to.equal("period:1");
    expect(source.signed).to.equal(2n * BASIC);
    expect((await store.receiptsOf(p.address)).map((r) => r.key)).to.deep.equal(["period:0", "period:1"]);
    // The same period asked again, even with a fresh voucher, returns the stored receipt.
    const again = await s.seller.renew({ voucher: p.sign(3n * BASIC), plan: "basic-daily", sequence: 1 });
    expect(again.replayed).to.equal(true);
    expect((await store.bestVoucher(p.channelId))?.amount).to.equal(2n * BASIC);
    expect(await codeOf(s.seller.renew({ voucher: p.sign(3n * BASIC), plan: "basic-daily", sequence: 5 }))).to.equal("PERIOD_MISMATCH");
    const stranger = openChannel(s.chain, 1n);
    expect(await codeOf(s.seller.renew({ voucher: { ...p.sign(1n), signature: stranger.sign(1n).signature }, plan: "basic-daily", sequence: 0 }))).to.equal("BAD_SIGNATURE");
  });

  it("concurrent renewals of one period, with different fresh vouchers, charge it once", async function () {
    for (const kind of ["memory", "sqlite"] as const) {
      const dir = mkdtempSync(join(tmpdir(), "trickle-subs-race-"));
      const local = kind === "memory" ? new MemoryCommerceStore().forDeployment(DEPLOYMENT) : SqliteCommerceStore.open(join(dir, "payee.sqlite")).forDeployment(DEPLOYMENT);
      try {
        const t = shop(local);
        const p = openChannel(t.chain, 10_000_000n);
        await t.seller.renew({ voucher: p.sign(BASIC), config: p.config, plan: "basic-daily", sequence: 0 });
        t.clock.now += DAY;
        const racers = Array.from({ length: 20 }, (_, i) => t.seller.renew({ voucher: p.sign(2n * BASIC + BigInt(i)), config: p.config, plan: "basic-daily", sequence: 1 }));
        const results = await Promise.allSettled(racers);
        const sold = results.filter((r): r is PromiseFulfilledResult<Awaited<(typeof racers)[number]>> => r.status === "fulfilled");
        for (const r of results) if (r.status === "rejected") expect((r.reason as { code?: string }).code, kind).to.equal("NOT_INCREASING");
        expect(new Set(sold.map((r) => r.value.receipt.signature)).size, kind).to.equal(1);
        const receipts = await local.receiptsOf(p.address);
        expect(receipts.map((r) => r.key), kind).to.deep.equal(["period:0", "period:1"]);
        const best = (await local.bestVoucher(p.channelId))!.amount;
        expect(receipts.reduce((x, r) => x + r.price, 0n) + (await local.credit(p.channelId)), kind).to.equal(best);
      } finally {
        await local.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it("an upgrade mid-period is paid now, less the unused part of the running period; a downgrade starts when it ends", async function () {
    const { p, source, sub } = subscriber(s, 10_000_000n);
    const start = s.clock.now;
    await sub.subscribe("basic-daily");
    s.clock.now = start + DAY / 4n; // three quarters of the basic day unused: 75,000 credit
    const up = await sub.changePlan("pro-daily");
    expect(up).to.include({ key: "period:1", item: "pro-daily", validFrom: start + DAY / 4n, validUntil: start + DAY / 4n + DAY, price: PRO - (BASIC * 3n) / 4n });
    expect(await s.seller.entitled(p.address, "pro")).to.equal(true);
    expect(source.signed).to.equal(BASIC + PRO - (BASIC * 3n) / 4n);
    // Downgrade: nothing now; the next renewal is basic, starting when the pro period ends.
    expect(await sub.changePlan("basic-daily")).to.equal(undefined);
    s.clock.now = start + DAY / 4n + DAY;
    const down = await sub.renewIfDue();
    expect(down).to.include({ item: "basic-daily", validFrom: start + DAY / 4n + DAY, price: BASIC });
    expect(await s.seller.entitled(p.address, "pro")).to.equal(false);
    expect(await s.seller.entitled(p.address, "basic")).to.equal(true);
  });

  it("cancel stops renewal at the end of the paid period", async function () {
    const { p, sub } = subscriber(s, 10_000_000n);
    const start = s.clock.now;
    await sub.subscribe("basic-daily");
    sub.cancel();
    expect(await sub.check()).to.deep.include({ ok: false, reason: "CANCELLED" });
    s.clock.now = start + DAY - 1n;
    expect(await s.seller.entitled(p.address, "basic")).to.equal(true);
    s.clock.now = start + DAY;
    expect(await sub.renewIfDue()).to.equal(undefined);
    expect(await s.seller.entitled(p.address, "basic")).to.equal(false);
    expect(await store.receiptsOf(p.address)).to.have.length(1);
  });

  it("says ahead of time why a renewal cannot happen, on both sides, and signs nothing", async function () {
    const start = s.clock.now;
    const small = subscriber(s, BASIC + BASIC / 2n); // one and a half periods of deposit
    await small.sub.subscribe("basic-daily");
    expect(await small.sub.check()).to.deep.include({ ok: false, reason: "DEPOSIT_EXHAUSTED" });
    expect(await s.seller.renewalOutlook(small.p.address, "basic-daily")).to.deep.include({ ok: false, reason: "DEPOSIT_EXHAUSTED" });
    s.clock.now = start + DAY;
    expect(await codeOf(small.sub.renewIfDue())).to.equal("DEPOSIT_EXHAUSTED");
    expect(small.source.signed).to.equal(BASIC);

    const capped = subscriber(s, 10_000_000n, { maxPerPeriod: BASIC });
    await capped.sub.subscribe("basic-daily");
    expect(await codeOf(capped.sub.changePlan("pro-daily"))).to.equal("LIMIT_REACHED");
    const narrow = subscriber(s, 10_000_000n, { plans: ["basic-daily"] });
    expect(await codeOf(narrow.sub.subscribe("pro-daily"))).to.equal("PLAN_NOT_ALLOWED");
    const ending = subscriber(s, 10_000_000n, { until: s.clock.now + DAY });
    await ending.sub.subscribe("basic-daily");
    s.clock.now += DAY;
    expect(await codeOf(ending.sub.renewIfDue())).to.equal("EXPIRED_LIMIT");

    const closing = subscriber(s, 10_000_000n);
    await closing.sub.subscribe("basic-daily");
    s.chain.channels.get(closing.p.channelId)!.state.status = ChannelStatus.Closing;
    await s.payee.sync(); // the payee learns of it from events in production; here the test chain state is read on lookups
    expect(await closing.sub.check()).to.deep.include({ ok: false, reason: "CHANNEL_CLOSING" });

    // The payee raises the price of the plan: the subscriber agreed to the old one.
    const changed = subscriber(s, 10_000_000n);
    await changed.sub.subscribe("basic-daily");
    const dearer = new Seller({
      payee: s.payee,
      store,
      domain: DOMAIN,
      receiptKey: RECEIPT_KEY,
      plans: new Plans(USDC, ["basic", "pro"], [{ id: "basic-daily", tier: "basic", price: "0.12 USDC", period: DAY }]),
      now: () => s.clock.now,
    });
    const repriced = new Subscriber({ payer: changed.source, chain: s.chain, config: changed.p.config, channelId: changed.p.channelId, counter: dearer, limits: { plans: ["basic-daily"], maxPerPeriod: 1_000_000n, until: s.clock.now + 30n * DAY }, receiptSigner: PAYEE, domain: DOMAIN, now: () => s.clock.now });
    repriced.restore(await dearer.restore(changed.p.address));
    repriced.agree("basic-daily", BASIC);
    s.clock.now += DAY;
    expect(await repriced.check()).to.deep.include({ ok: false, reason: "PLAN_CHANGED" });
    expect(await dearer.renewalOutlook(changed.p.address, "pro-daily")).to.deep.include({ ok: false, reason: "PLAN_CHANGED" });
  });

  it("a trial is a free first period; its one-unit voucher becomes credit for the first paid one", async function () {
    const { p, source, sub } = subscriber(s, 10_000_000n);
    const start = s.clock.now;
    const trial = await sub.subscribe("basic-trial");
    expect(trial).to.include({ price: 0n, validUntil: start + 3n * DAY });
    expect(source.signed).to.equal(1n);
    s.clock.now = start + 3n * DAY;
    const paid = await sub.renewIfDue();
    expect(paid).to.include({ price: BASIC, validFrom: start + 3n * DAY });
    expect(source.signed).to.equal(BASIC); // 1 + (BASIC - 1)
    expect(await store.credit(p.channelId)).to.equal(0n);
  });

  it("property: one charge per period, entitled exactly when a paid period covers the time, payer's spend equals the payee's accepted amount", async function () {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant("wait" as const), seconds: fc.bigInt({ min: 1n, max: 2n * DAY }) }),
            fc.record({ op: fc.constant("renew" as const) }),
            fc.record({ op: fc.constant("change" as const), plan: fc.constantFrom("basic-daily", "pro-daily") }),
            fc.record({ op: fc.constant("cancel" as const) }),
            fc.record({ op: fc.constant("resubscribe" as const), plan: fc.constantFrom("basic-daily", "pro-daily") }),
          ),
          { maxLength: 30 },
        ),
        async (ops) => {
          const { p, source, sub } = subscriber(s, 5_000_000n);
          await sub.subscribe("basic-daily");
          for (const op of ops) {
            if (op.op === "wait") s.clock.now += op.seconds;
            else if (op.op === "cancel") sub.cancel();
            else {
              const run = op.op === "renew" ? sub.renewIfDue() : op.op === "change" ? sub.changePlan(op.plan) : sub.subscribe(op.plan);
              await run.catch((error: unknown) => {
                if (!(error instanceof RenewalRefusedError)) throw error;
              });
            }
            // Entitlement is exactly "some paid period covers now", with the latest period's tier.
            const receipts = await store.receiptsOf(p.address);
            const covering = receipts.filter((r) => r.validFrom <= s.clock.now && s.clock.now < r.validUntil);
            const entitlement = await s.seller.entitlement(p.address);
            expect(entitlement.plan).to.equal(covering.at(-1)?.item);
          }
          const receipts = await store.receiptsOf(p.address);
          expect(new Set(receipts.map((r) => r.key)).size).to.equal(receipts.length);
          const best = (await store.bestVoucher(p.channelId))?.amount ?? 0n;
          const sum = receipts.reduce((t, r) => t + r.price, 0n);
          expect(sum + (await store.credit(p.channelId))).to.equal(best);
          expect(source.signed).to.equal(best);
          for (const r of receipts) verifyReceipt(DOMAIN, r, PAYEE);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("a payee restart loses no entitlement (SQLite)", async function () {
    const dir = mkdtempSync(join(tmpdir(), "trickle-subs-"));
    const path = join(dir, "payee.sqlite");
    try {
      const chain = new MemoryChain();
      const first = SqliteCommerceStore.open(path).forDeployment(DEPLOYMENT);
      const before = shop(first, chain);
      const { p, sub } = subscriber(before, 10_000_000n);
      await sub.subscribe("pro-daily");
      await first.close();
      const second = SqliteCommerceStore.open(path).forDeployment(DEPLOYMENT);
      const after = shop(second, chain, before.clock);
      expect(await after.seller.entitled(p.address, "pro")).to.equal(true);
      expect(await after.seller.entitlement(p.address)).to.deep.equal({ tier: "pro", plan: "pro-daily", until: before.clock.now + DAY });
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWithPostgres("commerce subscriptions on one PostgreSQL database, two payee backends", function () {
  this.timeout(60_000);

  it("concurrent renewals of one period through two backends charge it once; both, and a restarted one, answer the same entitlement", async () => {
    const url = await postgresUrl();
    const schema = freshSchema("subs");
    // Two backends: two connection pools, as two server processes would have.
    const a = (await PostgresCommerceStore.open(url, { schema })).forDeployment(DEPLOYMENT);
    const b = (await PostgresCommerceStore.open(url, { schema, create: false })).forDeployment(DEPLOYMENT);
    const chain = new MemoryChain();
    const ta = shop(a, chain);
    const tb = shop(b, chain, ta.clock);
    const p = openChannel(chain, 10_000_000n);
    await ta.seller.renew({ voucher: p.sign(BASIC), config: p.config, plan: "basic-daily", sequence: 0 });
    expect(await tb.seller.entitled(p.address, "basic")).to.equal(true);
    ta.clock.now += DAY;
    const racers = Array.from({ length: 20 }, (_, i) =>
      (i % 2 === 0 ? ta : tb).seller.renew({ voucher: p.sign(2n * BASIC + BigInt(i)), config: p.config, plan: "basic-daily", sequence: 1 }),
    );
    const results = await Promise.allSettled(racers);
    const sold = results.filter((r): r is PromiseFulfilledResult<Awaited<(typeof racers)[number]>> => r.status === "fulfilled");
    for (const r of results) if (r.status === "rejected") expect((r.reason as { code?: string }).code).to.equal("NOT_INCREASING");
    expect(new Set(sold.map((r) => r.value.receipt.signature)).size).to.equal(1);
    const receipts = await b.receiptsOf(p.address);
    expect(receipts.map((r) => r.key)).to.deep.equal(["period:0", "period:1"]);
    const best = (await a.bestVoucher(p.channelId))!.amount;
    expect(receipts.reduce((x, r) => x + r.price, 0n) + (await b.credit(p.channelId))).to.equal(best);
    const entitlement = await ta.seller.entitlement(p.address);
    expect(entitlement).to.deep.equal({ tier: "basic", plan: "basic-daily", until: ta.clock.now + DAY });
    expect(await tb.seller.entitlement(p.address)).to.deep.equal(entitlement);
    await a.close();
    await b.close();
    const c = (await PostgresCommerceStore.open(url, { schema, create: false })).forDeployment(DEPLOYMENT);
    expect(await shop(c, chain, ta.clock).seller.entitlement(p.address)).to.deep.equal(entitlement);
    await c.close();
  });
});
