// The commerce store on SQLite (`node:sqlite`), in the same file as the payee's SqliteStore: a sale's
// charge and the voucher that paid for it are written in one transaction, so after a crash either both
// are there or neither is. The Payee's other records go through an inner SqliteStore on the same file;
// this class keeps a second connection for the commerce tables and the sale transaction. BEGIN IMMEDIATE
// serializes writers across connections and processes, so several payee processes sharing the file
// charge each (payer, key) once: the primary key makes a second insert impossible.
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Address, ChannelConfig, Hex } from "../channel.ts";
import { StoreError } from "../errors.ts";
import { decodeUint256, encodeUint256, SqliteStore } from "../store/sqlite.ts";
import type { SaveVoucherResult, StoredVoucher } from "../store/store.ts";
import { checkChannelId } from "../store/validate.ts";
import type { Receipt, ReceiptKind } from "./receipt.ts";
import { ChargingStore, type Charge, type CommerceStore, type CommitOutcome } from "./store.ts";
import { checkChargeInput } from "./validate.ts";

const COMMERCE_SCHEMA_VERSION = 1;

// Prices as decimal TEXT (never compared in SQL); times as INTEGER (unix seconds fit 63 bits).
const SCHEMA_V1 = `
CREATE TABLE commerce_charges (
  payer       TEXT NOT NULL CHECK (length(payer) = 42),
  key         TEXT NOT NULL,
  kind        TEXT NOT NULL CHECK (kind IN ('purchase', 'period')),
  item        TEXT NOT NULL,
  channel_id  TEXT NOT NULL CHECK (length(channel_id) = 66),
  token       TEXT NOT NULL,
  price       TEXT NOT NULL,
  cumulative  TEXT NOT NULL,
  valid_from  INTEGER NOT NULL,
  valid_until INTEGER NOT NULL,
  issued_at   INTEGER NOT NULL,
  signature   TEXT NOT NULL CHECK (length(signature) = 132),
  status      TEXT NOT NULL CHECK (status IN ('charged', 'voided')),
  PRIMARY KEY (payer, key)
) WITHOUT ROWID;
CREATE INDEX commerce_charges_issued ON commerce_charges (issued_at);
CREATE TABLE commerce_credit (
  channel_id TEXT NOT NULL PRIMARY KEY CHECK (length(channel_id) = 66),
  credit     TEXT NOT NULL
) WITHOUT ROWID;
`;

type Row = Record<string, unknown>;

function receiptFromRow(row: Row): Receipt {
  return {
    kind: row.kind as ReceiptKind,
    key: row.key as string,
    item: row.item as string,
    payer: row.payer as Address,
    channelId: row.channel_id as Hex,
    token: row.token as Address,
    price: BigInt(row.price as string),
    cumulativeAmount: BigInt(row.cumulative as string),
    validFrom: BigInt(row.valid_from as number | bigint),
    validUntil: BigInt(row.valid_until as number | bigint),
    issuedAt: BigInt(row.issued_at as number | bigint),
    signature: row.signature as Hex,
  };
}

function chargeFromRow(row: Row): Charge {
  return { receipt: receiptFromRow(row), status: row.status as Charge["status"] };
}

export class SqliteCommerceStore extends ChargingStore implements CommerceStore {
  readonly #inner: SqliteStore;
  readonly #db: DatabaseSync;
  readonly #s: Record<string, StatementSync>;
  #open = true;
  #batch: { voucher: StoredVoucher; receipt: Receipt; resolve: (outcome: CommitOutcome) => void; reject: (error: unknown) => void }[] = [];

  private constructor(inner: SqliteStore, db: DatabaseSync) {
    super();
    this.#inner = inner;
    this.#db = db;
    const s = (sql: string) => db.prepare(sql);
    this.#s = {
      charge: s("SELECT * FROM commerce_charges WHERE payer = ? AND key = ?"),
      ofPayer: s("SELECT * FROM commerce_charges WHERE payer = ? AND status = 'charged' ORDER BY issued_at, key"),
      between: s("SELECT * FROM commerce_charges WHERE issued_at >= ? AND issued_at < ? ORDER BY issued_at, payer, key"),
      putCharge: s(`INSERT INTO commerce_charges (payer, key, kind, item, channel_id, token, price, cumulative, valid_from, valid_until,
        issued_at, signature, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'charged')
        ON CONFLICT (payer, key) DO UPDATE SET kind = excluded.kind, item = excluded.item, channel_id = excluded.channel_id,
        token = excluded.token, price = excluded.price, cumulative = excluded.cumulative, valid_from = excluded.valid_from,
        valid_until = excluded.valid_until, issued_at = excluded.issued_at, signature = excluded.signature, status = 'charged'
        WHERE commerce_charges.status = 'voided'`),
      voidCharge: s("UPDATE commerce_charges SET status = 'voided' WHERE payer = ? AND key = ? AND status = 'charged'"),
      credit: s("SELECT credit FROM commerce_credit WHERE channel_id = ?"),
      putCredit: s("INSERT INTO commerce_credit (channel_id, credit) VALUES (?, ?) ON CONFLICT (channel_id) DO UPDATE SET credit = excluded.credit"),
      best: s("SELECT amount FROM payee_vouchers WHERE channel_id = ?"),
      putBest: s(`INSERT INTO payee_vouchers (channel_id, amount, signature) VALUES (?, ?, ?)
        ON CONFLICT (channel_id) DO UPDATE SET amount = excluded.amount, signature = excluded.signature
        WHERE excluded.amount > payee_vouchers.amount`),
    };
  }

  /** Opens (creating or migrating) the payee store and the commerce tables in the file at `path`. */
  static open(path: string): SqliteCommerceStore {
    const inner = SqliteStore.open(path);
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path);
      db.exec("PRAGMA busy_timeout = 10000");
      db.exec("PRAGMA synchronous = FULL");
      db.exec("BEGIN IMMEDIATE");
      try {
        db.exec("CREATE TABLE IF NOT EXISTS commerce_schema_version (version INTEGER NOT NULL)");
        const version = Number((db.prepare("SELECT max(version) AS version FROM commerce_schema_version").get() as Row).version ?? 0);
        if (version > COMMERCE_SCHEMA_VERSION) throw new StoreError("the commerce tables were written by a newer Trickle", { version });
        if (version < 1) {
          db.exec(SCHEMA_V1);
          db.prepare("INSERT INTO commerce_schema_version (version) VALUES (?)").run(1);
        }
        db.exec("COMMIT");
      } catch (error) {
        if (db.isTransaction) db.exec("ROLLBACK");
        throw error;
      }
      return new SqliteCommerceStore(inner, db);
    } catch (cause) {
      db?.close();
      void inner.close();
      throw cause instanceof StoreError ? cause : new StoreError("cannot open the commerce tables", { path }, { cause });
    }
  }

  #transaction<T>(run: () => T): T {
    if (!this.#open) throw new StoreError("the store is closed");
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = run();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error instanceof StoreError ? error : new StoreError("the commerce store could not commit", {}, { cause: error });
    }
  }

  #creditOf(channelId: Hex): bigint {
    const row = this.#s.credit.get(channelId) as Row | undefined;
    return row === undefined ? 0n : BigInt(row.credit as string);
  }

  /**
   * Sales submitted in the same turn of the event loop share one transaction (one fsync), as the payee
   * store's group commit does for vouchers. Each is decided in submission order against what the ones
   * before it in the batch wrote; if the transaction fails, every sale in it is refused and none written.
   */
  commitCharge(voucher: StoredVoucher, receipt: Receipt): Promise<CommitOutcome> {
    let input: { voucher: StoredVoucher; receipt: Receipt };
    try {
      input = checkChargeInput(voucher, receipt);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!this.#open) return Promise.reject(new StoreError("the store is closed"));
    return new Promise((resolve, reject) => {
      this.#batch.push({ ...input, resolve, reject });
      if (this.#batch.length === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    const batch = this.#batch;
    this.#batch = [];
    let outcomes: CommitOutcome[];
    try {
      outcomes = this.#transaction(() => batch.map((sale) => this.#decide(sale.voucher, sale.receipt)));
    } catch (error) {
      for (const sale of batch) sale.reject(error);
      return;
    }
    batch.forEach((sale, i) => sale.resolve(outcomes[i]!));
  }

  #decide(v: StoredVoucher, r: Receipt): CommitOutcome {
    const existing = this.#s.charge.get(r.payer, r.key) as Row | undefined;
    if (existing !== undefined && existing.status === "charged") return { status: "duplicate", receipt: receiptFromRow(existing) };
    const bestRow = this.#s.best.get(v.channelId) as Row | undefined;
    const best = bestRow === undefined ? 0n : decodeUint256(bestRow.amount);
    if (v.amount <= best) return { status: "not-increasing", best };
    const credit = this.#creditOf(v.channelId);
    const available = v.amount - best + credit;
    if (available < r.price) return { status: "insufficient", available };
    this.#s.putBest.run(v.channelId, encodeUint256(v.amount), v.signature);
    this.#s.putCharge.run(
      r.payer, r.key, r.kind, r.item, r.channelId, r.token, r.price.toString(), r.cumulativeAmount.toString(),
      r.validFrom, r.validUntil, r.issuedAt, r.signature,
    );
    this.#s.putCredit.run(v.channelId, (available - r.price).toString());
    return { status: "charged", previousAmount: best, credit: available - r.price };
  }

  protected savePlainVoucher(voucher: StoredVoucher): Promise<SaveVoucherResult> {
    return this.#inner.saveVoucherIfHigher(voucher);
  }

  async voidCharge(payer: Address, key: string): Promise<bigint | undefined> {
    const who = payer.toLowerCase();
    return this.#transaction(() => {
      const row = this.#s.charge.get(who, key) as Row | undefined;
      if (row === undefined || row.status !== "charged") return undefined;
      this.#s.voidCharge.run(who, key);
      const channelId = row.channel_id as Hex;
      const credit = this.#creditOf(channelId) + BigInt(row.price as string);
      this.#s.putCredit.run(channelId, credit.toString());
      return credit;
    });
  }

  #read<T>(query: () => T): T {
    if (!this.#open) throw new StoreError("the store is closed");
    return query();
  }

  async charge(payer: Address, key: string): Promise<Charge | undefined> {
    return this.#read(() => {
      const row = this.#s.charge.get(payer.toLowerCase(), key) as Row | undefined;
      return row && chargeFromRow(row);
    });
  }

  async receiptsOf(payer: Address): Promise<Receipt[]> {
    return this.#read(() => (this.#s.ofPayer.all(payer.toLowerCase()) as Row[]).map(receiptFromRow));
  }

  async chargesBetween(from: bigint, to: bigint): Promise<Charge[]> {
    const clamp = (t: bigint) => (t > 9_007_199_254_740_991n ? 9_007_199_254_740_991n : t < 0n ? 0n : t);
    return this.#read(() => (this.#s.between.all(clamp(from), clamp(to)) as Row[]).map(chargeFromRow));
  }

  async credit(channelId: Hex): Promise<bigint> {
    const id = checkChannelId(channelId);
    return this.#read(() => this.#creditOf(id));
  }

  bestVoucher(channelId: Hex) {
    return this.#inner.bestVoucher(channelId);
  }
  bestVouchers() {
    return this.#inner.bestVouchers();
  }
  saveChannel(config: ChannelConfig) {
    return this.#inner.saveChannel(config);
  }
  channel(channelId: Hex) {
    return this.#inner.channel(channelId);
  }
  getMeta(key: string) {
    return this.#inner.getMeta(key);
  }
  setMeta(key: string, value: string) {
    return this.#inner.setMeta(key, value);
  }
  async close(): Promise<void> {
    if (!this.#open) return;
    // Sales already submitted are committed (or refused) before the file is released.
    while (this.#batch.length > 0) await new Promise((resolve) => setImmediate(resolve));
    this.#open = false;
    await this.#inner.close();
    this.#db.close();
  }
}
