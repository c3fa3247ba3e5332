// The commerce store on SQLite (`node:sqlite`), in the same file as the payee's SqliteStore and on its
// connection: the sales tables sit beside the store's, and a sale's charge and the voucher that paid for
// it are written in one of the store's transactions (the voucher through the store's own row access and
// batch rules), so after a crash either both are there or neither is. BEGIN IMMEDIATE serializes writers
// across connections and processes, so several payee processes sharing the file charge each
// (deployment, payer, key) once: the primary key makes a second insert impossible.
import type { StatementSync } from "node:sqlite";
import type { Address, Hex } from "../channel.ts";
import { StoreError, StoreMigrationError, TrickleError } from "../errors.ts";
import { applyBatch, type StoreTables } from "../store/batch.ts";
import type { DeploymentStore } from "../store/deployment.ts";
import { SqliteStore, type SqliteStoreOptions } from "../store/sqlite.ts";
import type { ChargeOptions, ChargeResult, Deployment, SaveVoucherResult, StoredVoucher } from "../store/store.ts";
import { checkDeployment } from "../store/validate.ts";
import type { Receipt } from "./receipt.ts";
import { chargeFromRow, CommerceView, viewOf, type Charge, type CommerceStore, type CommitOutcome, type SalesBackend } from "./store.ts";

/** The commerce tables' layout this code reads and writes; older files are migrated on open, newer ones refused. */
export const COMMERCE_SCHEMA_VERSION = 2;

// Prices as decimal TEXT (never compared in SQL); times as INTEGER (unix seconds fit 63 bits). Every row
// is keyed by deployment (chain id, lower-cased contract), as the payee store's are.
const KEY = "chain_id TEXT NOT NULL, contract TEXT NOT NULL CHECK (length(contract) = 42)";
const SCHEMA_V2 = [
  `CREATE TABLE commerce_charges (
  ${KEY},
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
  PRIMARY KEY (chain_id, contract, payer, key)
) WITHOUT ROWID`,
  "CREATE INDEX commerce_charges_issued ON commerce_charges (chain_id, contract, issued_at)",
  `CREATE TABLE commerce_credit (
  ${KEY},
  channel_id TEXT NOT NULL CHECK (length(channel_id) = 66),
  credit     TEXT NOT NULL,
  PRIMARY KEY (chain_id, contract, channel_id)
) WITHOUT ROWID`,
];

type Row = Record<string, unknown>;

/** The key columns of a deployment (its contract is already lower-cased). */
function key(d: Deployment): [string, string] {
  return [d.chainId.toString(), d.contract];
}

/**
 * Creates the commerce tables, or migrates them, in one of the store's transactions. Version 1 keyed
 * sales by (payer, key) alone: its rows belong to the deployment the file was used with, `legacy`.
 */
function migrate(store: SqliteStore, legacy: Deployment | undefined): void {
  const run = (sql: string, ...params: string[]) => store.prepare(sql).run(...params);
  store.transaction(() => {
    run("CREATE TABLE IF NOT EXISTS commerce_schema_version (version INTEGER NOT NULL)");
    const version = Number((store.prepare("SELECT max(version) AS version FROM commerce_schema_version").get() as Row).version ?? 0);
    if (version > COMMERCE_SCHEMA_VERSION) {
      throw new StoreError("the commerce tables were written by a newer Trickle", { version, supported: COMMERCE_SCHEMA_VERSION });
    }
    if (version === COMMERCE_SCHEMA_VERSION) return;
    if (version === 1) {
      const count = (table: string) => Number((store.prepare(`SELECT count(*) AS n FROM ${table}`).get() as Row).n);
      const rows = count("commerce_charges") + count("commerce_credit");
      if (rows > 0 && legacy === undefined) {
        throw new StoreMigrationError(
          "the commerce tables predate chain keying and hold sales: open the file once with legacyDeployment (the chain id and contract it was used with)",
          { rows },
        );
      }
      run("DROP INDEX commerce_charges_issued");
      run("ALTER TABLE commerce_charges RENAME TO v1_commerce_charges");
      run("ALTER TABLE commerce_credit RENAME TO v1_commerce_credit");
    }
    for (const statement of SCHEMA_V2) run(statement);
    if (version === 1) {
      const scope = legacy === undefined ? ["", ""] : key(legacy);
      run(`INSERT INTO commerce_charges SELECT ?, ?, payer, key, kind, item, channel_id, token, price, cumulative, valid_from,
        valid_until, issued_at, signature, status FROM v1_commerce_charges`, ...scope);
      run("INSERT INTO commerce_credit SELECT ?, ?, channel_id, credit FROM v1_commerce_credit", ...scope);
      run("DROP TABLE v1_commerce_charges");
      run("DROP TABLE v1_commerce_credit");
    }
    run("DELETE FROM commerce_schema_version");
    run(`INSERT INTO commerce_schema_version (version) VALUES (${COMMERCE_SCHEMA_VERSION})`);
  });
}

interface PendingSale {
  d: Deployment;
  voucher: StoredVoucher;
  receipt: Receipt;
  resolve: (outcome: CommitOutcome) => void;
  reject: (error: unknown) => void;
}

export class SqliteCommerceStore implements SalesBackend {
  readonly #inner: SqliteStore;
  readonly #s: Record<string, StatementSync>;
  readonly #payeeViews = new Map<string, DeploymentStore>();
  readonly #views = new Map<string, CommerceView>();
  #open = true;
  #batch: PendingSale[] = [];

  private constructor(inner: SqliteStore) {
    this.#inner = inner;
    const s = (sql: string) => inner.prepare(sql);
    const where = "chain_id = ? AND contract = ?";
    this.#s = {
      charge: s(`SELECT * FROM commerce_charges WHERE ${where} AND payer = ? AND key = ?`),
      ofPayer: s(`SELECT * FROM commerce_charges WHERE ${where} AND payer = ? AND status = 'charged' ORDER BY issued_at, key`),
      between: s(`SELECT * FROM commerce_charges WHERE ${where} AND issued_at >= ? AND issued_at < ? ORDER BY issued_at, payer, key`),
      putCharge: s(`INSERT INTO commerce_charges (chain_id, contract, payer, key, kind, item, channel_id, token, price, cumulative,
        valid_from, valid_until, issued_at, signature, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'charged')
        ON CONFLICT (chain_id, contract, payer, key) DO UPDATE SET kind = excluded.kind, item = excluded.item,
        channel_id = excluded.channel_id, token = excluded.token, price = excluded.price, cumulative = excluded.cumulative,
        valid_from = excluded.valid_from, valid_until = excluded.valid_until, issued_at = excluded.issued_at,
        signature = excluded.signature, status = 'charged'
        WHERE commerce_charges.status = 'voided'`),
      voidCharge: s(`UPDATE commerce_charges SET status = 'voided' WHERE ${where} AND payer = ? AND key = ? AND status = 'charged'`),
      credit: s(`SELECT credit FROM commerce_credit WHERE ${where} AND channel_id = ?`),
      putCredit: s(`INSERT INTO commerce_credit (chain_id, contract, channel_id, credit) VALUES (?, ?, ?, ?)
        ON CONFLICT (chain_id, contract, channel_id) DO UPDATE SET credit = excluded.credit`),
    };
  }

  /**
   * Opens (creating or migrating) the payee store and the commerce tables in the file at `path`. A file
   * from before chain keying needs `legacyDeployment` once, as {@link SqliteStore.open} does.
   */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteCommerceStore {
    const inner = SqliteStore.open(path, options);
    try {
      migrate(inner, options.legacyDeployment && checkDeployment(options.legacyDeployment));
      return new SqliteCommerceStore(inner);
    } catch (cause) {
      void inner.close();
      throw cause instanceof TrickleError ? cause : new StoreError("cannot open the commerce tables", { path }, { cause });
    }
  }

  /** The view of one deployment (the same object for every call with that deployment): give it to the Payee and the Seller. */
  forDeployment(deployment: Deployment): CommerceStore {
    const d = checkDeployment(deployment);
    return viewOf(this.#views, d, () => new CommerceView(this, d));
  }

  payeeView(d: Deployment): DeploymentStore {
    return viewOf(this.#payeeViews, d, () => this.#inner.forDeployment(d));
  }

  #transaction<T>(work: (tables: StoreTables) => T): T {
    if (!this.#open) throw new StoreError("the store is closed");
    try {
      return this.#inner.transaction(work);
    } catch (error) {
      throw error instanceof StoreError ? error : new StoreError("the commerce store could not commit", {}, { cause: error });
    }
  }

  #creditOf(d: Deployment, channelId: Hex): bigint {
    const row = this.#s.credit.get(...key(d), channelId) as Row | undefined;
    return row === undefined ? 0n : BigInt(row.credit as string);
  }

  /**
   * Sales submitted in the same turn of the event loop share one transaction (one fsync), as the payee
   * store's group commit does for vouchers. Each is decided in submission order against what the ones
   * before it in the batch wrote; if the transaction fails, every sale in it is refused and none written.
   */
  commitCharge(d: Deployment, voucher: StoredVoucher, receipt: Receipt): Promise<CommitOutcome> {
    if (!this.#open) return Promise.reject(new StoreError("the store is closed"));
    return new Promise((resolve, reject) => {
      this.#batch.push({ d, voucher, receipt, resolve, reject });
      if (this.#batch.length === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    const batch = this.#batch;
    this.#batch = [];
    let outcomes: CommitOutcome[];
    try {
      outcomes = this.#transaction((tables) => batch.map((sale) => this.#decide(tables, sale.d, sale.voucher, sale.receipt)));
    } catch (error) {
      for (const sale of batch) sale.reject(error);
      return;
    }
    batch.forEach((sale, i) => sale.resolve(outcomes[i]!));
  }

  #decide(tables: StoreTables, d: Deployment, v: StoredVoucher, r: Receipt): CommitOutcome {
    const existing = this.#s.charge.get(...key(d), r.payer, r.key) as Row | undefined;
    if (existing !== undefined && existing.status === "charged") return { status: "duplicate", receipt: chargeFromRow(existing).receipt };
    const best = tables.bestAmount(d, v.channelId) ?? 0n;
    if (v.amount <= best) return { status: "not-increasing", best };
    const credit = this.#creditOf(d, v.channelId);
    const available = v.amount - best + credit;
    if (available < r.price) return { status: "insufficient", available };
    // The voucher is written as the store writes a plain save (the gate's ledger, if the channel has one,
    // counts its increment as served: what paid for a sale buys no request).
    const [saved] = applyBatch([{ kind: "voucher", deployment: d, voucher: v }], tables);
    if (!saved?.ok || saved.value === undefined || !("stored" in saved.value) || !saved.value.stored) {
      throw new StoreError("the sale's voucher was not stored", { channelId: v.channelId });
    }
    this.#s.putCharge.run(
      ...key(d), r.payer, r.key, r.kind, r.item, r.channelId, r.token, r.price.toString(), r.cumulativeAmount.toString(),
      r.validFrom, r.validUntil, r.issuedAt, r.signature,
    );
    this.#s.putCredit.run(...key(d), v.channelId, (available - r.price).toString());
    return { status: "charged", previousAmount: best, credit: available - r.price };
  }

  savePlainVoucher(d: Deployment, voucher: StoredVoucher): Promise<SaveVoucherResult> {
    return this.payeeView(d).saveVoucherIfHigher(voucher);
  }

  chargeVoucher(d: Deployment, voucher: StoredVoucher, price: bigint, options?: ChargeOptions): Promise<ChargeResult> {
    return this.payeeView(d).chargeVoucher(voucher, price, options);
  }

  async voidCharge(d: Deployment, payer: Address, k: string): Promise<bigint | undefined> {
    return this.#transaction(() => {
      const row = this.#s.charge.get(...key(d), payer, k) as Row | undefined;
      if (row === undefined || row.status !== "charged") return undefined;
      this.#s.voidCharge.run(...key(d), payer, k);
      const channelId = row.channel_id as Hex;
      const credit = this.#creditOf(d, channelId) + BigInt(row.price as string);
      this.#s.putCredit.run(...key(d), channelId, credit.toString());
      return credit;
    });
  }

  async #read<T>(query: () => T): Promise<T> {
    if (!this.#open) throw new StoreError("the store is closed");
    try {
      return query();
    } catch (cause) {
      throw cause instanceof StoreError ? cause : new StoreError("the commerce store could not read", {}, { cause });
    }
  }

  charge(d: Deployment, payer: Address, k: string): Promise<Charge | undefined> {
    return this.#read(() => {
      const row = this.#s.charge.get(...key(d), payer, k) as Row | undefined;
      return row && chargeFromRow(row);
    });
  }

  receiptsOf(d: Deployment, payer: Address): Promise<Receipt[]> {
    return this.#read(() => (this.#s.ofPayer.all(...key(d), payer) as Row[]).map((row) => chargeFromRow(row).receipt));
  }

  chargesBetween(d: Deployment, from: bigint, to: bigint): Promise<Charge[]> {
    const clamp = (t: bigint) => (t > 9_007_199_254_740_991n ? 9_007_199_254_740_991n : t < 0n ? 0n : t);
    return this.#read(() => (this.#s.between.all(...key(d), clamp(from), clamp(to)) as Row[]).map(chargeFromRow));
  }

  credit(d: Deployment, channelId: Hex): Promise<bigint> {
    return this.#read(() => this.#creditOf(d, channelId));
  }

  /** Commits (or refuses) the sales already submitted, waits for pending writes, then releases the file. */
  async close(): Promise<void> {
    if (!this.#open) return;
    while (this.#batch.length > 0) await new Promise((resolve) => setImmediate(resolve));
    this.#open = false;
    await this.#inner.close();
  }
}
