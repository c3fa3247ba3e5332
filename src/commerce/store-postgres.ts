// The commerce store on PostgreSQL: the sales tables sit in the PostgresStore's schema, beside its
// tables, and a sale's charge and the voucher that paid for it are written in one transaction (the
// voucher through the store's own row rules), so after a crash either both are there or neither is.
//
// Exactly once across processes. A batch of sales takes, in one sorted statement, the advisory lock of
// every channel it pays on (the same lock the store's group commit takes for a voucher save or a gate
// charge of that channel, in any process) and one lock per (deployment, payer, key) it sells. Under
// those locks the stored charge of a key and the channel's best voucher are the ones the sale replaces:
// a purchase id sent to two processes at once is sold by the first and reported `duplicate` by the
// second. A voided charge's price is added to its channel's credit as a delta (`credit + price`),
// and so is a sale's use of credit, so voiding needs only the key's lock and never waits for a channel.
import type { Address, Hex } from "../channel.ts";
import { InvalidArgumentError, StoreError, TrickleError } from "../errors.ts";
import { applyBatch, recordKey } from "../store/batch.ts";
import type { DeploymentStore } from "../store/deployment.ts";
import { PostgresStore, type PostgresStoreOptions, type PostgresTransaction, type Row } from "../store/postgres.ts";
import type { ChargeOptions, ChargeResult, Deployment, SaveVoucherResult, StoredVoucher } from "../store/store.ts";
import { checkDeployment } from "../store/validate.ts";
import type { Receipt } from "./receipt.ts";
import { chargeFromRow, CommerceView, sortCharges, viewOf, type Charge, type CommerceStore, type CommitOutcome, type SalesBackend } from "./store.ts";

/** The commerce tables' layout this code reads and writes; older ones are migrated on open, newer ones refused. */
export const POSTGRES_COMMERCE_SCHEMA_VERSION = 1;

function schemaSql(s: string): string[] {
  const key = "chain_id NUMERIC(78, 0) NOT NULL, contract TEXT NOT NULL CHECK (length(contract) = 42)";
  const amount = (name: string) => `${name} NUMERIC(78, 0) NOT NULL CHECK (${name} >= 0)`;
  const time = (name: string) => `${name} NUMERIC(20, 0) NOT NULL CHECK (${name} >= 0)`;
  return [
    `CREATE TABLE ${s}.commerce_charges (${key},
  payer TEXT NOT NULL CHECK (length(payer) = 42), key TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('purchase', 'period')), item TEXT NOT NULL,
  channel_id TEXT NOT NULL CHECK (length(channel_id) = 66), token TEXT NOT NULL CHECK (length(token) = 42),
  ${amount("price")}, ${amount("cumulative")}, ${time("valid_from")}, ${time("valid_until")}, ${time("issued_at")},
  signature TEXT NOT NULL CHECK (length(signature) = 132), status TEXT NOT NULL CHECK (status IN ('charged', 'voided')),
  PRIMARY KEY (chain_id, contract, payer, key))`,
    `CREATE INDEX commerce_charges_issued ON ${s}.commerce_charges (chain_id, contract, issued_at)`,
    `CREATE TABLE ${s}.commerce_credit (${key}, channel_id TEXT NOT NULL CHECK (length(channel_id) = 66), ${amount("credit")},
  PRIMARY KEY (chain_id, contract, channel_id))`,
  ];
}

/** The lock name of one sale key: a purchase id is sold by one transaction at a time. */
function saleLock(d: Deployment, payer: Address, key: string): string {
  return `commerce:${recordKey(d, `${payer}\n${key}`)}`;
}

/** PostgreSQL text cannot hold NUL: such a string is refused before it could fail a whole batch. */
function checkText(value: string, name: string): string {
  if (value.includes("\u0000")) throw new InvalidArgumentError(`${name} must not contain NUL characters`, { [name]: value });
  return value;
}

async function migrate(store: PostgresStore): Promise<void> {
  const s = store.schema;
  await store.transaction({ channels: [], names: ["commerce:migrate"] }, async (tx) => {
    await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.commerce_schema_version (version INTEGER NOT NULL)`);
    const [row] = await tx.query(`SELECT max(version) AS version FROM ${s}.commerce_schema_version`);
    const version = Number(row?.version ?? 0);
    if (version > POSTGRES_COMMERCE_SCHEMA_VERSION) {
      throw new StoreError("the commerce tables were written by a newer Trickle", { version, supported: POSTGRES_COMMERCE_SCHEMA_VERSION });
    }
    if (version === POSTGRES_COMMERCE_SCHEMA_VERSION) return;
    for (const statement of schemaSql(s)) await tx.query(statement);
    await tx.query(`INSERT INTO ${s}.commerce_schema_version (version) VALUES ($1)`, [POSTGRES_COMMERCE_SCHEMA_VERSION]);
  });
}

interface PendingSale {
  d: Deployment;
  voucher: StoredVoucher;
  receipt: Receipt;
  resolve: (outcome: CommitOutcome) => void;
  reject: (error: unknown) => void;
}

const ROW_KEY = "unnest($1::numeric[], $2::text[], $3::text[], $4::text[]) AS k(chain_id, contract, payer, key)";

export class PostgresCommerceStore implements SalesBackend {
  readonly #inner: PostgresStore;
  readonly #payeeViews = new Map<string, DeploymentStore>();
  readonly #views = new Map<string, CommerceView>();
  #open = true;
  #pending: PendingSale[] = [];
  #scheduled = false;
  #committing = false;
  #idle: (() => void)[] = [];

  private constructor(inner: PostgresStore) {
    this.#inner = inner;
  }

  /**
   * Opens the payee store at `connection` (see {@link PostgresStore.open}; `create: false` refuses a
   * database without one) and creates or migrates the commerce tables in its schema. Several processes
   * may open the same database at once.
   */
  static async open(connection: Parameters<typeof PostgresStore.open>[0], options: PostgresStoreOptions = {}): Promise<PostgresCommerceStore> {
    const inner = await PostgresStore.open(connection, options);
    try {
      await migrate(inner);
      return new PostgresCommerceStore(inner);
    } catch (cause) {
      await inner.close().catch(() => undefined);
      throw cause instanceof TrickleError ? cause : new StoreError("cannot open the commerce tables", { schema: inner.schema }, { cause });
    }
  }

  /** The payee store underneath (its schema, its commit count). */
  get store(): PostgresStore {
    return this.#inner;
  }

  /** The view of one deployment (the same object for every call with that deployment): give it to the Payee and the Seller. */
  forDeployment(deployment: Deployment): CommerceStore {
    const d = checkDeployment(deployment);
    return viewOf(this.#views, d, () => new CommerceView(this, d));
  }

  payeeView(d: Deployment): DeploymentStore {
    return viewOf(this.#payeeViews, d, () => this.#inner.forDeployment(d));
  }

  /**
   * Sales submitted while a batch commits all join the next one (one transaction, one WAL flush). Each is
   * decided in submission order against what the ones before it in the batch wrote; if the transaction
   * fails, every sale in it is refused and none is written.
   */
  commitCharge(d: Deployment, voucher: StoredVoucher, receipt: Receipt): Promise<CommitOutcome> {
    if (!this.#open) return Promise.reject(new StoreError("the store is closed"));
    try {
      for (const [name, value] of [["key", receipt.key], ["item", receipt.item]] as const) checkText(value, name);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({ d, voucher, receipt, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#committing) return;
    this.#scheduled = true;
    setImmediate(() => void this.#flush());
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length > 0) {
      this.#committing = true;
      try {
        const lock = {
          channels: batch.map((sale) => ({ deployment: sale.d, channelId: sale.voucher.channelId })),
          names: batch.map((sale) => saleLock(sale.d, sale.receipt.payer, sale.receipt.key)),
        };
        const outcomes = await this.#inner.transaction(lock, (tx) => this.#decideAll(tx, batch));
        batch.forEach((sale, i) => sale.resolve(outcomes[i]!));
      } catch (cause) {
        const error = cause instanceof TrickleError ? cause : new StoreError("the commerce store could not commit", {}, { cause });
        for (const sale of batch) sale.reject(error);
      }
      this.#committing = false;
      if (this.#pending.length > 0) this.#schedule();
    }
    if (this.#pending.length === 0 && !this.#scheduled && !this.#committing) for (const wake of this.#idle.splice(0)) wake();
  }

  async #decideAll(tx: PostgresTransaction, batch: PendingSale[]): Promise<CommitOutcome[]> {
    const s = this.#inner.schema;
    const saleKey = (sale: PendingSale) => recordKey(sale.d, `${sale.receipt.payer}\n${sale.receipt.key}`);
    const creditKey = (d: Deployment, channelId: Hex) => recordKey(d, channelId);
    // Everything the batch decides on, read once under its locks.
    const charges = new Map<string, Charge>();
    const chargeRows = await tx.query(`SELECT c.* FROM ${s}.commerce_charges c JOIN ${ROW_KEY} USING (chain_id, contract, payer, key)`, [
      batch.map((x) => x.d.chainId.toString()),
      batch.map((x) => x.d.contract),
      batch.map((x) => x.receipt.payer),
      batch.map((x) => x.receipt.key),
    ]);
    for (const row of chargeRows) {
      const d = { chainId: BigInt(row.chain_id as string), contract: row.contract as Address };
      charges.set(recordKey(d, `${row.payer as string}\n${row.key as string}`), chargeFromRow(row));
    }
    const credits = new Map<string, bigint>();
    const creditRead = new Set<string>();
    const creditRows = await tx.query(
      `SELECT c.chain_id, c.contract, c.channel_id, c.credit FROM ${s}.commerce_credit c
       JOIN unnest($1::numeric[], $2::text[], $3::text[]) AS k(chain_id, contract, channel_id) USING (chain_id, contract, channel_id)`,
      [batch.map((x) => x.d.chainId.toString()), batch.map((x) => x.d.contract), batch.map((x) => x.voucher.channelId)],
    );
    for (const row of creditRows) {
      const key = creditKey({ chainId: BigInt(row.chain_id as string), contract: row.contract as Address }, row.channel_id as Hex);
      credits.set(key, BigInt(row.credit as string));
      creditRead.add(key);
    }

    const sold: PendingSale[] = [];
    const creditDelta = new Map<string, { d: Deployment; channelId: Hex; delta: bigint }>();
    const outcomes = batch.map((sale): CommitOutcome => {
      const { d, voucher: v, receipt: r } = sale;
      const existing = charges.get(saleKey(sale));
      if (existing?.status === "charged") return { status: "duplicate", receipt: { ...existing.receipt } };
      const best = tx.tables.bestAmount(d, v.channelId) ?? 0n;
      if (v.amount <= best) return { status: "not-increasing", best };
      const credit = credits.get(creditKey(d, v.channelId)) ?? 0n;
      const available = v.amount - best + credit;
      if (available < r.price) return { status: "insufficient", available };
      // The voucher is written as the store writes a plain save (the gate's ledger, if the channel has one,
      // counts its increment as served: what paid for a sale buys no request).
      const [saved] = applyBatch([{ kind: "voucher", deployment: d, voucher: v }], tx.tables);
      if (!saved?.ok || saved.value === undefined || !("stored" in saved.value) || !saved.value.stored) {
        throw new StoreError("the sale's voucher was not stored", { channelId: v.channelId });
      }
      charges.set(saleKey(sale), { receipt: r, status: "charged" });
      sold.push(sale);
      credits.set(creditKey(d, v.channelId), available - r.price);
      const change = creditDelta.get(creditKey(d, v.channelId)) ?? { d, channelId: v.channelId, delta: 0n };
      change.delta += available - r.price - credit;
      creditDelta.set(creditKey(d, v.channelId), change);
      return { status: "charged", previousAmount: best, credit: available - r.price };
    });

    if (sold.length > 0) {
      const column = <T>(pick: (sale: PendingSale) => T) => sold.map(pick);
      // A new key, or one whose charge was voided: under the key's lock nothing else can have sold it.
      const written = await tx.query(
        `INSERT INTO ${s}.commerce_charges (chain_id, contract, payer, key, kind, item, channel_id, token, price, cumulative,
           valid_from, valid_until, issued_at, signature, status)
         SELECT *, 'charged' FROM unnest($1::numeric[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
           $9::numeric[], $10::numeric[], $11::numeric[], $12::numeric[], $13::numeric[], $14::text[])
         ON CONFLICT (chain_id, contract, payer, key) DO UPDATE SET kind = excluded.kind, item = excluded.item,
           channel_id = excluded.channel_id, token = excluded.token, price = excluded.price, cumulative = excluded.cumulative,
           valid_from = excluded.valid_from, valid_until = excluded.valid_until, issued_at = excluded.issued_at,
           signature = excluded.signature, status = 'charged'
         WHERE commerce_charges.status = 'voided'
         RETURNING 1`,
        [
          column((x) => x.d.chainId.toString()), column((x) => x.d.contract), column((x) => x.receipt.payer), column((x) => x.receipt.key),
          column((x) => x.receipt.kind), column((x) => x.receipt.item), column((x) => x.receipt.channelId), column((x) => x.receipt.token),
          column((x) => x.receipt.price.toString()), column((x) => x.receipt.cumulativeAmount.toString()),
          column((x) => x.receipt.validFrom.toString()), column((x) => x.receipt.validUntil.toString()),
          column((x) => x.receipt.issuedAt.toString()), column((x) => x.receipt.signature),
        ],
      );
      if (written.length !== sold.length) throw new StoreError("a sale was stored twice", { expected: sold.length, written: written.length });
      // Deltas, so a void committed meanwhile (it holds no channel lock) is never overwritten. A channel
      // with no credit row when the batch read it can only go up from zero: its row is inserted.
      const changes = [...creditDelta.values()];
      const cols = (list: typeof changes) => [list.map((c) => c.d.chainId.toString()), list.map((c) => c.d.contract), list.map((c) => c.channelId), list.map((c) => c.delta.toString())];
      const stored = changes.filter((c) => creditRead.has(creditKey(c.d, c.channelId)));
      const fresh = changes.filter((c) => !creditRead.has(creditKey(c.d, c.channelId)));
      if (stored.length > 0) {
        await tx.query(
          `UPDATE ${s}.commerce_credit c SET credit = c.credit + k.delta FROM unnest($1::numeric[], $2::text[], $3::text[], $4::numeric[])
           AS k(chain_id, contract, channel_id, delta) WHERE (c.chain_id, c.contract, c.channel_id) = (k.chain_id, k.contract, k.channel_id)`,
          cols(stored),
        );
      }
      if (fresh.length > 0) {
        await tx.query(
          `INSERT INTO ${s}.commerce_credit (chain_id, contract, channel_id, credit)
           SELECT * FROM unnest($1::numeric[], $2::text[], $3::text[], $4::numeric[])
           ON CONFLICT (chain_id, contract, channel_id) DO UPDATE SET credit = commerce_credit.credit + excluded.credit`,
          cols(fresh),
        );
      }
    }
    return outcomes;
  }

  savePlainVoucher(d: Deployment, voucher: StoredVoucher): Promise<SaveVoucherResult> {
    return this.payeeView(d).saveVoucherIfHigher(voucher);
  }

  chargeVoucher(d: Deployment, voucher: StoredVoucher, price: bigint, options?: ChargeOptions): Promise<ChargeResult> {
    return this.payeeView(d).chargeVoucher(voucher, price, options);
  }

  async voidCharge(d: Deployment, payer: Address, key: string): Promise<bigint | undefined> {
    if (!this.#open) throw new StoreError("the store is closed");
    if (key.includes("\u0000")) return undefined;
    const s = this.#inner.schema;
    const where = "chain_id = $1 AND contract = $2 AND payer = $3 AND key = $4";
    return this.#inner.transaction({ channels: [], names: [saleLock(d, payer, key)] }, async (tx) => {
      const [row] = await tx.query(`UPDATE ${s}.commerce_charges SET status = 'voided' WHERE ${where} AND status = 'charged' RETURNING channel_id, price`, [
        d.chainId.toString(), d.contract, payer, key,
      ]);
      if (row === undefined) return undefined;
      const [credit] = await tx.query(
        `INSERT INTO ${s}.commerce_credit (chain_id, contract, channel_id, credit) VALUES ($1, $2, $3, $4)
         ON CONFLICT (chain_id, contract, channel_id) DO UPDATE SET credit = commerce_credit.credit + excluded.credit
         RETURNING credit`,
        [d.chainId.toString(), d.contract, row.channel_id, row.price],
      );
      return BigInt(credit!.credit as string);
    });
  }

  async #read(sql: string, values: unknown[]): Promise<Row[]> {
    if (!this.#open) throw new StoreError("the store is closed");
    return this.#inner.read(sql, values);
  }

  async charge(d: Deployment, payer: Address, key: string): Promise<Charge | undefined> {
    if (key.includes("\u0000")) return undefined;
    const rows = await this.#read(
      `SELECT * FROM ${this.#inner.schema}.commerce_charges WHERE chain_id = $1 AND contract = $2 AND payer = $3 AND key = $4`,
      [d.chainId.toString(), d.contract, payer, key],
    );
    return rows[0] && chargeFromRow(rows[0]);
  }

  async receiptsOf(d: Deployment, payer: Address): Promise<Receipt[]> {
    const rows = await this.#read(
      `SELECT * FROM ${this.#inner.schema}.commerce_charges WHERE chain_id = $1 AND contract = $2 AND payer = $3 AND status = 'charged'`,
      [d.chainId.toString(), d.contract, payer],
    );
    // Sorted here, not by the database's collation, so every store lists in the same order.
    return sortCharges(rows.map(chargeFromRow)).map((c) => c.receipt);
  }

  async chargesBetween(d: Deployment, from: bigint, to: bigint): Promise<Charge[]> {
    const rows = await this.#read(
      `SELECT * FROM ${this.#inner.schema}.commerce_charges WHERE chain_id = $1 AND contract = $2 AND issued_at >= $3 AND issued_at < $4`,
      [d.chainId.toString(), d.contract, from.toString(), to.toString()],
    );
    return sortCharges(rows.map(chargeFromRow));
  }

  async credit(d: Deployment, channelId: Hex): Promise<bigint> {
    const rows = await this.#read(`SELECT credit FROM ${this.#inner.schema}.commerce_credit WHERE chain_id = $1 AND contract = $2 AND channel_id = $3`, [
      d.chainId.toString(),
      d.contract,
      channelId,
    ]);
    return rows[0] === undefined ? 0n : BigInt(rows[0].credit as string);
  }

  /** Commits (or refuses) the sales already submitted, waits for pending writes, then closes every connection. */
  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    if (this.#pending.length > 0 || this.#scheduled || this.#committing) await new Promise<void>((resolve) => this.#idle.push(resolve));
    await this.#inner.close();
  }
}
