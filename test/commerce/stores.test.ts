// The commerce stores on the keyed store design: one view per deployment, sales keyed by deployment, a
// sale's voucher written by the payee store's own rules (the gate's ledger counts it as served), and the
// SQLite sales in the SqliteStore's file, migrated from the layout that predates deployment keying.
import { expect } from "chai";
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Address, Hex } from "../../src/channel.ts";
import { signReceipt, type Receipt } from "../../src/commerce/receipt.ts";
import { MemoryCommerceStore } from "../../src/commerce/store-memory.ts";
import { PostgresCommerceStore } from "../../src/commerce/store-postgres.ts";
import { SqliteCommerceStore } from "../../src/commerce/store-sqlite.ts";
import type { CommerceStore } from "../../src/commerce/store.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import type { Deployment, StoredVoucher } from "../../src/store/store.ts";
import { describeWithPostgres, freshSchema, postgresUrl } from "../store/postgres-server.ts";
import { CONTRACT, DEPLOYMENT, DOMAIN, RECEIPT_KEY, shop, USDC } from "./fixture.ts";

const OTHER: Deployment = { chainId: 10n, contract: CONTRACT };
const PAYER = "0x00000000000000000000000000000000000000aa" as Address;
const CHANNEL = `0x${"11".repeat(32)}` as Hex;
const signature = (n: number) => `0x${n.toString(16).padStart(130, "0")}` as Hex;
const voucher = (amount: bigint, n = Number(amount % 1000n) + 1): StoredVoucher => ({ channelId: CHANNEL, amount, signature: signature(n) });

function receipt(key: string, price: bigint, cumulativeAmount: bigint, issuedAt = 1_000n): Receipt {
  return signReceipt(
    DOMAIN,
    { kind: "purchase", key, item: "gems-10", payer: PAYER, channelId: CHANNEL, token: USDC.address.toLowerCase() as Address, price, cumulativeAmount, validFrom: 0n, validUntil: 0n, issuedAt },
    RECEIPT_KEY,
  );
}

interface Backend {
  forDeployment(d: Deployment): CommerceStore;
  close(): Promise<void>;
}

interface Opened {
  backend: Backend;
  dispose(): void;
}

const KINDS: { name: string; describe: (title: string, body: () => void) => void; open(): Promise<Opened> }[] = [
  { name: "memory", describe, open: async () => ({ backend: new MemoryCommerceStore(), dispose() {} }) },
  {
    name: "sqlite",
    describe,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), "trickle-commerce-stores-"));
      const path = join(dir, "payee.sqlite");
      return { backend: SqliteCommerceStore.open(path), dispose: () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: "postgres",
    describe: describeWithPostgres,
    async open() {
      return { backend: await PostgresCommerceStore.open(await postgresUrl(), { schema: freshSchema("commerce"), poolSize: 2 }), dispose() {} };
    },
  },
];

for (const kind of KINDS) {
  kind.describe(`commerce store views (${kind.name})`, () => {
    let opened: Opened;
    beforeEach(async () => {
      opened = await kind.open();
    });
    afterEach(async () => {
      await opened.backend.close();
      opened.dispose();
    });

    it("hands out one view per deployment, whatever the contract's case", () => {
      const view = opened.backend.forDeployment(DEPLOYMENT);
      expect(opened.backend.forDeployment({ chainId: DEPLOYMENT.chainId, contract: CONTRACT.toUpperCase().replace("0X", "0x") as Address })).to.equal(view);
      expect(view.deployment).to.deep.equal({ chainId: DEPLOYMENT.chainId, contract: CONTRACT.toLowerCase() });
      expect(opened.backend.forDeployment(OTHER)).to.not.equal(view);
    });

    it("keeps the sales, credit and vouchers of one channel id on two deployments apart", async () => {
      const a = opened.backend.forDeployment(DEPLOYMENT);
      const b = opened.backend.forDeployment(OTHER);
      expect(await a.commitCharge(voucher(300n), receipt("order-1", 250n, 300n))).to.deep.equal({ status: "charged", previousAmount: 0n, credit: 50n });
      // The same payer and key on the other deployment is a new sale, not a duplicate.
      expect(await b.commitCharge(voucher(100n), receipt("order-1", 100n, 100n))).to.deep.equal({ status: "charged", previousAmount: 0n, credit: 0n });
      expect((await a.commitCharge(voucher(400n), receipt("order-1", 250n, 400n))).status).to.equal("duplicate");
      expect((await a.receiptsOf(PAYER)).map((r) => r.price)).to.deep.equal([250n]);
      expect((await b.receiptsOf(PAYER)).map((r) => r.price)).to.deep.equal([100n]);
      expect((await a.chargesBetween(0n, 2_000n)).length).to.equal(1);
      expect((await a.bestVoucher(CHANNEL))?.amount).to.equal(300n);
      expect((await b.bestVoucher(CHANNEL))?.amount).to.equal(100n);
      expect(await a.voidCharge(PAYER, "order-1")).to.equal(300n);
      expect((await a.charge(PAYER, "order-1"))?.status).to.equal("voided");
      expect((await b.charge(PAYER, "order-1"))?.status).to.equal("charged");
      expect(await a.credit(CHANNEL)).to.equal(300n);
      expect(await b.credit(CHANNEL)).to.equal(0n);
    });

    it("a sale's voucher is written as the payee store writes one: the gate's ledger counts it as served", async () => {
      const view = opened.backend.forDeployment(DEPLOYMENT);
      expect(await view.chargeVoucher(voucher(100n), 100n)).to.deep.equal({ charged: true, stored: true, best: 100n, served: 100n });
      expect((await view.commitCharge(voucher(300n), receipt("order-1", 200n, 300n))).status).to.equal("charged");
      expect(await view.chargeLedger(CHANNEL)).to.deep.equal({ served: 300n, floor: 100n, used: [] });
      // What paid for the sale buys no request.
      expect(await view.chargeVoucher(voucher(300n), 1n)).to.deep.include({ charged: false, refusal: "NOT_INCREASING" });
      expect(await view.chargeVoucher(voucher(301n), 1n)).to.deep.include({ charged: true, best: 301n, served: 301n });
      expect(await view.unclaimedVouchers()).to.deep.equal([{ ...voucher(301n), claimed: 0n }]);
    });

    it("a Seller refuses a store view of another deployment than its domain with WRONG_CHAIN", () => {
      const view = opened.backend.forDeployment(OTHER);
      expect(() => shop(view)).to.throw().with.property("code", "WRONG_CHAIN");
      expect(shop(opened.backend.forDeployment(DEPLOYMENT)).seller.domain).to.deep.equal(DOMAIN);
    });

    // Money properties, on a fresh deployment per run (one backend, records keyed apart).
    let runs = 0;
    const freshDeployment = (): Deployment => ({ chainId: 1_000_000n + BigInt(runs++), contract: CONTRACT });
    type Op =
      | { sell: { key: number; price: bigint; raise: bigint } }
      | { void: number }
      | { gate: { price: bigint; raise: bigint } }
      | { save: bigint };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ sell: fc.record({ key: fc.integer({ min: 0, max: 5 }), price: fc.bigInt({ min: 0n, max: 300n }), raise: fc.bigInt({ min: 0n, max: 300n }) }) }) },
      { weight: 1, arbitrary: fc.record({ void: fc.integer({ min: 0, max: 5 }) }) },
      { weight: 1, arbitrary: fc.record({ gate: fc.record({ price: fc.bigInt({ min: 1n, max: 100n }), raise: fc.bigInt({ min: -50n, max: 200n }) }) }) },
      { weight: 1, arbitrary: fc.record({ save: fc.bigInt({ min: -50n, max: 200n }) }) },
    );

    if (kind.name !== "memory") {
      it("answers every sequence of sales, voids, gate charges and plain saves exactly as the memory store does (property)", async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
            const d = freshDeployment();
            const model = new MemoryCommerceStore();
            const stores = [opened.backend.forDeployment(d), model.forDeployment(d)];
            let top = 0n;
            for (const o of ops) {
              let amount: bigint;
              if ("sell" in o) amount = top + o.sell.raise;
              else if ("gate" in o) amount = top + o.gate.raise;
              else if ("save" in o) amount = top + o.save;
              else amount = 0n;
              if (amount < 0n) amount = 0n;
              if (amount > top) top = amount;
              const v = voucher(amount);
              const answers = await Promise.all(
                stores.map((store) => {
                  const call = "sell" in o
                    ? store.commitCharge(v, receipt(`order-${o.sell.key}`, o.sell.price, amount))
                    : "void" in o
                      ? store.voidCharge(PAYER, `order-${o.void}`)
                      : "gate" in o
                        ? store.chargeVoucher(v, o.gate.price)
                        : store.saveVoucherIfHigher(v);
                  return call.then((value) => ({ value }), (error: { code?: string }) => ({ error: error.code }));
                }),
              );
              expect(answers[0], JSON.stringify(o, (_k, x) => (typeof x === "bigint" ? x.toString() : x))).to.deep.equal(answers[1]);
            }
            const [store, memory] = stores;
            expect(await store!.receiptsOf(PAYER)).to.deep.equal(await memory!.receiptsOf(PAYER));
            expect(await store!.chargesBetween(0n, 10_000n)).to.deep.equal(await memory!.chargesBetween(0n, 10_000n));
            expect(await store!.credit(CHANNEL)).to.equal(await memory!.credit(CHANNEL));
            expect(await store!.bestVoucher(CHANNEL)).to.deep.equal(await memory!.bestVoucher(CHANNEL));
            expect(await store!.chargeLedger(CHANNEL)).to.deep.equal(await memory!.chargeLedger(CHANNEL));
            await model.close();
          }),
          { numRuns: 30 },
        );
      });
    }

    it("concurrent sales with repeated purchase ids charge each id once, and receipts plus credit equal the best voucher (property)", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ key: fc.integer({ min: 0, max: 7 }), price: fc.bigInt({ min: 1n, max: 100n }), raise: fc.bigInt({ min: 0n, max: 150n }) }), { minLength: 1, maxLength: 24 }),
          fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 3 }),
          async (sales, voids) => {
            const store = opened.backend.forDeployment(freshDeployment());
            let amount = 0n;
            const submitted = sales.map((sale) => {
              amount += sale.raise;
              return { ...sale, amount };
            });
            const outcomes = await Promise.all([
              ...submitted.map((sale) => store.commitCharge(voucher(sale.amount), receipt(`order-${sale.key}`, sale.price, sale.amount))),
              ...voids.map((key) => store.voidCharge(PAYER, `order-${key}`)),
            ]);
            const charged = new Map<string, number>();
            submitted.forEach((sale, i) => {
              const outcome = outcomes[i] as { status: string };
              if (outcome.status === "charged") charged.set(`order-${sale.key}`, (charged.get(`order-${sale.key}`) ?? 0) + 1);
            });
            const receipts = await store.receiptsOf(PAYER);
            const all = await store.chargesBetween(0n, 10_000n);
            // A key is charged again only after a void of it; without voids, once.
            if (voids.length === 0) for (const count of charged.values()) expect(count).to.equal(1);
            expect(new Set(all.map((c) => c.receipt.key)).size).to.equal(all.length);
            for (const r of receipts) expect(charged.has(r.key), r.key).to.equal(true);
            const best = (await store.bestVoucher(CHANNEL))?.amount ?? 0n;
            expect(receipts.reduce((t, r) => t + r.price, 0n) + (await store.credit(CHANNEL))).to.equal(best);
          },
        ),
        { numRuns: kind.name === "memory" ? 100 : 30 },
      );
    });

    it("refuses malformed sales input with INVALID_ARGUMENT", async () => {
      const view = opened.backend.forDeployment(DEPLOYMENT);
      for (const call of [() => view.credit("0x12" as Hex), () => view.receiptsOf("nobody" as Address), () => view.voidCharge(PAYER, 7 as unknown as string)]) {
        const error = await call().then(() => undefined, (e: { code?: string }) => e);
        expect(error?.code).to.equal("INVALID_ARGUMENT");
      }
      const mismatch = await view.commitCharge(voucher(300n), receipt("order-1", 200n, 299n)).then(() => undefined, (e: { code?: string }) => e);
      expect(mismatch?.code).to.equal("INVALID_ARGUMENT");
      expect(await view.bestVoucher(CHANNEL)).to.equal(undefined);
    });
  });
}

describe("SqliteCommerceStore file", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "trickle-commerce-file-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the sale's voucher into the payee store's own tables, read back by a plain SqliteStore", async () => {
    const path = join(dir, "payee.sqlite");
    const store = SqliteCommerceStore.open(path).forDeployment(DEPLOYMENT);
    await store.commitCharge(voucher(300n), receipt("order-1", 250n, 300n));
    await store.close();
    const plain = SqliteStore.open(path).forDeployment(DEPLOYMENT);
    expect(await plain.bestVoucher(CHANNEL)).to.deep.equal(voucher(300n));
    expect(await SqliteStore.open(path).forDeployment(OTHER).bestVoucher(CHANNEL)).to.equal(undefined);
    await plain.close();
  });

  it("migrates commerce tables that predate deployment keying with legacyDeployment, and refuses to guess it", async () => {
    const path = join(dir, "payee.sqlite");
    await SqliteStore.open(path).close();
    const db = new DatabaseSync(path);
    db.exec(`CREATE TABLE commerce_schema_version (version INTEGER NOT NULL);
      INSERT INTO commerce_schema_version VALUES (1);
      CREATE TABLE commerce_charges (payer TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL, item TEXT NOT NULL, channel_id TEXT NOT NULL,
        token TEXT NOT NULL, price TEXT NOT NULL, cumulative TEXT NOT NULL, valid_from INTEGER NOT NULL, valid_until INTEGER NOT NULL,
        issued_at INTEGER NOT NULL, signature TEXT NOT NULL, status TEXT NOT NULL, PRIMARY KEY (payer, key)) WITHOUT ROWID;
      CREATE INDEX commerce_charges_issued ON commerce_charges (issued_at);
      CREATE TABLE commerce_credit (channel_id TEXT NOT NULL PRIMARY KEY, credit TEXT NOT NULL) WITHOUT ROWID;`);
    const r = receipt("order-1", 250n, 300n);
    db.prepare("INSERT INTO commerce_charges VALUES (?, ?, 'purchase', ?, ?, ?, '250', '300', 0, 0, 1000, ?, 'charged')").run(r.payer, r.key, r.item, r.channelId, r.token, r.signature);
    db.prepare("INSERT INTO commerce_credit VALUES (?, '50')").run(CHANNEL);
    db.close();

    const refused = (() => {
      try {
        SqliteCommerceStore.open(path);
      } catch (error) {
        return error as { code?: string };
      }
    })();
    expect(refused?.code).to.equal("STORE_MIGRATION");

    const backend = SqliteCommerceStore.open(path, { legacyDeployment: DEPLOYMENT });
    const view = backend.forDeployment(DEPLOYMENT);
    expect(await view.receiptsOf(PAYER)).to.deep.equal([r]);
    expect(await view.credit(CHANNEL)).to.equal(50n);
    expect(await backend.forDeployment(OTHER).receiptsOf(PAYER)).to.deep.equal([]);
    await backend.close();
    // Migrated once: later opens need no legacy deployment.
    const again = SqliteCommerceStore.open(path);
    expect((await again.forDeployment(DEPLOYMENT).charge(PAYER, "order-1"))?.status).to.equal("charged");
    await again.close();
  });
});

describe("SqliteStore.prepare and transaction (what the SQLite commerce store builds on)", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "trickle-commerce-tx-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("a feature's rows and the store's records commit together, or neither does", async () => {
    const store = SqliteStore.open(join(dir, "payee.sqlite"));
    const view = store.forDeployment(DEPLOYMENT);
    store.transaction(() => store.prepare("CREATE TABLE extra (k TEXT PRIMARY KEY) WITHOUT ROWID").run());
    const count = () => Number((store.prepare("SELECT count(*) AS n FROM extra").get() as { n: number }).n);
    expect(() =>
      store.transaction((tables) => {
        tables.putBest(view.deployment, voucher(5n));
        store.prepare("INSERT INTO extra VALUES ('a')").run();
        throw new Error("the feature refuses");
      }),
    ).to.throw("the feature refuses");
    expect(await view.bestVoucher(CHANNEL)).to.equal(undefined);
    expect(count()).to.equal(0);
    store.transaction((tables) => {
      tables.putBest(view.deployment, voucher(5n));
      store.prepare("INSERT INTO extra VALUES ('a')").run();
    });
    expect(await view.bestVoucher(CHANNEL)).to.deep.equal(voucher(5n));
    expect(count()).to.equal(1);
    await store.close();
    expect(() => store.transaction(() => undefined)).to.throw().with.property("code", "STORE");
    expect(() => store.prepare("SELECT 1")).to.throw().with.property("code", "STORE");
  });
});
