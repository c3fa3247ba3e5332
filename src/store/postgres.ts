// The store for several payee processes sharing state: one PostgreSQL database through `pg`
// (node-postgres). Same interfaces, same write semantics (src/store/batch.ts) as SQLite and memory.
//
// Exactly-once across processes. Each group commit is one transaction that first takes a
// transaction-scoped advisory lock per channel it writes (vouchers, charges and payer records), in sorted order
// so two committers never deadlock, then reads those channels, decides with `applyBatch`, and writes.
// While the locks are held no other process can move those channels, so the amount a voucher is
// compared with is the amount it replaces: every `stored: true` reports the true previous best, and
// increments summed over all processes equal the best amount; a charge reads the ledger every other
// process wrote, so processes sharing the database serve exactly what was paid. Row locks (`SELECT ... FOR UPDATE`)
// would do for rows that exist, but not for a channel's first voucher (no row to lock yet), which is
// where two processes race most. The voucher upsert still re-checks `amount < new` in SQL as a last
// guard: a write that would lower a voucher fails the whole commit.
//
// Durability: COMMIT returns once the WAL is flushed (`synchronous_commit` on, PostgreSQL's default;
// the store refuses a session where it is off). Group commit: writes queued while a commit is in
// flight all join the next one, so one WAL flush carries many vouchers.
import pg from "pg";
import type { Address, ChannelConfig, Hex } from "../channel.ts";
import { InvalidArgumentError, StoreError, StoreNotFoundError, TrickleError } from "../errors.ts";
import { applyBatch, copyLedger, recordKey } from "./batch.ts";
import { encodeChain, optionalChain } from "./prepaid.ts";
import type { OpOutcome, OpValue, StoreTables, WriteOp } from "./batch.ts";
import { DeploymentStore, type KeyedStore } from "./deployment.ts";
import { GroupCommit } from "./group-commit.ts";
import { ADVISORY_LOCK_SPACE, advisoryKey } from "./postgres-lease.ts";
import type { ChannelLedger, Deployment, PayerChannelRecord, StoreBackend, StoredVoucher, UnclaimedVoucher } from "./store.ts";

/** The schema this code reads and writes; older schemas are migrated on open, newer ones refused. */
export const POSTGRES_SCHEMA_VERSION = 2;

export { PostgresLeaderLease, type LeaderLease } from "./postgres-lease.ts";

export interface PostgresStoreOptions {
  /** The PostgreSQL schema holding Trickle's tables; created if missing. Default `trickle`. */
  schema?: string;
  /** Connections in the pool (reads run beside the one committing). Default 4. */
  poolSize?: number;
  /**
   * Whether to create Trickle's tables when the schema has none. Default true. With false, a database
   * without them is refused (`STORE_NOT_FOUND`) and left untouched: a mistyped URL or schema must not
   * start an empty store while the one with the vouchers to claim is elsewhere.
   */
  create?: boolean;
}

/** One transaction of {@link PostgresStore.transaction}: the store's row rules, and raw SQL beside them. */
export interface PostgresTransaction {
  /** The locked channels' vouchers and charge ledgers; what is put here is written before COMMIT. */
  readonly tables: StoreTables;
  /** Runs one statement in the transaction. */
  query(sql: string, values?: unknown[]): Promise<Row[]>;
}

export type Row = Record<string, unknown>;

/** Version 2: the prepaid token chain of each charge ledger (src/store/prepaid.ts), "" for none. */
const LEDGER_PREPAID_COLUMN = "prepaid TEXT NOT NULL DEFAULT ''";

function schemaSql(schema: string): string {
  const key = "chain_id NUMERIC(78, 0) NOT NULL, contract TEXT NOT NULL CHECK (length(contract) = 42)";
  const channel = "channel_id TEXT NOT NULL CHECK (length(channel_id) = 66)";
  const config = "payer TEXT NOT NULL, payee TEXT NOT NULL, token TEXT NOT NULL, signer TEXT NOT NULL, close_delay NUMERIC(20, 0) NOT NULL, salt TEXT NOT NULL";
  // NUMERIC(78, 0) holds any uint256 and compares numerically.
  const amount = (name: string) => `${name} NUMERIC(78, 0) NOT NULL CHECK (${name} >= 0)`;
  return `
CREATE TABLE ${schema}.payee_vouchers (${key}, ${channel}, ${amount("amount")}, signature TEXT NOT NULL CHECK (length(signature) = 132),
  PRIMARY KEY (chain_id, contract, channel_id));
CREATE TABLE ${schema}.payee_claims (${key}, ${channel}, ${amount("claimed")}, finished BOOLEAN NOT NULL,
  PRIMARY KEY (chain_id, contract, channel_id));
CREATE TABLE ${schema}.payee_channels (${key}, ${channel}, ${config}, PRIMARY KEY (chain_id, contract, channel_id));
CREATE TABLE ${schema}.payer_channels (${key}, ${channel}, ${config}, session_key TEXT, ${amount("signed_amount")}, signature TEXT,
  PRIMARY KEY (chain_id, contract, channel_id));
CREATE TABLE ${schema}.meta (${key}, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (chain_id, contract, key));
CREATE TABLE ${schema}.payee_ledgers (${key}, ${channel}, ${amount("served")}, ${amount("floor")}, used TEXT NOT NULL,
  ${LEDGER_PREPAID_COLUMN}, PRIMARY KEY (chain_id, contract, channel_id));
`;
}

function checkSchemaName(schema: unknown): string {
  if (typeof schema !== "string" || !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new InvalidArgumentError("schema must be a lower-case SQL identifier", { schema });
  }
  return schema;
}

function configFromRow(row: Row): ChannelConfig {
  return {
    payer: row.payer as Address,
    payee: row.payee as Address,
    token: row.token as Address,
    signer: row.signer as Address,
    closeDelay: BigInt(row.close_delay as string),
    salt: row.salt as Hex,
  };
}

function payerRecordFromRow(row: Row): PayerChannelRecord {
  const record: PayerChannelRecord = {
    channelId: row.channel_id as Hex,
    chainId: BigInt(row.chain_id as string),
    contract: row.contract as Address,
    config: configFromRow(row),
    signedAmount: BigInt(row.signed_amount as string),
  };
  if (row.session_key !== null) record.sessionKey = row.session_key as Hex;
  if (row.signature !== null) record.signature = row.signature as Hex;
  return record;
}

/** Used amounts are a short comma-separated decimal list, empty under in-order traffic (see applyCharge). */
function ledgerFromRow(row: Row): ChannelLedger {
  const used = row.used as string;
  return {
    served: BigInt(row.served as string),
    floor: BigInt(row.floor as string),
    used: used === "" ? [] : used.split(",").map((amount) => BigInt(amount)),
    ...optionalChain(row.prepaid as string),
  };
}

function voucherFromRow(row: Row): StoredVoucher {
  return { channelId: row.channel_id as Hex, amount: BigInt(row.amount as string), signature: row.signature as Hex };
}

/** A channel's 32-bit advisory lock key. Two channels sharing one only wait for each other. */
function lockKey(kind: string, d: Deployment, id: string): number {
  return advisoryKey(`${kind}:${recordKey(d, id)}`);
}

async function migrate(client: pg.PoolClient, schema: string, create: boolean): Promise<void> {
  await client.query("BEGIN");
  try {
    // Processes starting together migrate one at a time.
    await client.query("SELECT pg_advisory_xact_lock($1, 0)", [ADVISORY_LOCK_SPACE]);
    if (!create) {
      const { rows } = await client.query("SELECT to_regclass($1) IS NOT NULL AS found", [`${schema}.schema_version`]);
      if (rows[0]?.found !== true) {
        throw new StoreNotFoundError(`the database has no Trickle store in schema "${schema}"`, { schema });
      }
    }
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.schema_version (version INTEGER NOT NULL)`);
    const { rows } = await client.query(`SELECT max(version) AS version FROM ${schema}.schema_version`);
    const version = Number(rows[0]?.version ?? 0);
    if (version > POSTGRES_SCHEMA_VERSION) {
      throw new StoreError("the database was written by a newer Trickle", { version, supported: POSTGRES_SCHEMA_VERSION });
    }
    if (version < 1) await client.query(schemaSql(schema));
    else if (version < 2) await client.query(`ALTER TABLE ${schema}.payee_ledgers ADD COLUMN ${LEDGER_PREPAID_COLUMN}`);
    if (version < POSTGRES_SCHEMA_VERSION) {
      await client.query(`DELETE FROM ${schema}.schema_version`);
      await client.query(`INSERT INTO ${schema}.schema_version (version) VALUES ($1)`, [POSTGRES_SCHEMA_VERSION]);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

/** The rows one commit touches, read under its locks, and what it writes back. */
class BatchTables implements StoreTables {
  readonly best = new Map<string, bigint>();
  readonly ledgers = new Map<string, ChannelLedger>();
  readonly payer = new Map<string, PayerChannelRecord>();
  readonly writes = {
    best: new Map<string, { d: Deployment; voucher: StoredVoucher }>(),
    ledgers: new Map<string, { d: Deployment; id: Hex; ledger: ChannelLedger }>(),
    payeeChannels: new Map<string, { d: Deployment; id: Hex; config: ChannelConfig }>(),
    meta: new Map<string, { d: Deployment; key: string; value: string }>(),
    payer: new Map<string, { d: Deployment; record: PayerChannelRecord }>(),
    claimed: new Map<string, { d: Deployment; id: Hex; claimed: bigint; finished: boolean }>(),
  };

  bestAmount(d: Deployment, id: Hex): bigint | undefined {
    return this.best.get(recordKey(d, id));
  }
  ledger(d: Deployment, id: Hex): ChannelLedger | undefined {
    const ledger = this.ledgers.get(recordKey(d, id));
    return ledger && copyLedger(ledger);
  }
  putLedger(d: Deployment, id: Hex, ledger: ChannelLedger): void {
    const copy = copyLedger(ledger);
    this.ledgers.set(recordKey(d, id), copy);
    this.writes.ledgers.set(recordKey(d, id), { d, id, ledger: copy });
  }
  putBest(d: Deployment, voucher: StoredVoucher): void {
    this.best.set(recordKey(d, voucher.channelId), voucher.amount);
    this.writes.best.set(recordKey(d, voucher.channelId), { d, voucher });
  }
  putPayeeChannel(d: Deployment, id: Hex, config: ChannelConfig): void {
    if (!this.writes.payeeChannels.has(recordKey(d, id))) this.writes.payeeChannels.set(recordKey(d, id), { d, id, config });
  }
  putMeta(d: Deployment, key: string, value: string): void {
    this.writes.meta.set(recordKey(d, key), { d, key, value });
  }
  payerChannel(d: Deployment, id: Hex): PayerChannelRecord | undefined {
    const record = this.payer.get(recordKey(d, id));
    return record && { ...record, config: { ...record.config } };
  }
  putPayerChannel(d: Deployment, record: PayerChannelRecord): void {
    this.payer.set(recordKey(d, record.channelId), record);
    this.writes.payer.set(recordKey(d, record.channelId), { d, record });
  }
  putClaimed(d: Deployment, id: Hex, claimed: bigint, finished: boolean): void {
    const key = recordKey(d, id);
    const old = this.writes.claimed.get(key);
    this.writes.claimed.set(key, {
      d,
      id,
      claimed: old !== undefined && old.claimed > claimed ? old.claimed : claimed,
      finished: finished || (old?.finished ?? false),
    });
  }
}

/**
 * Column arrays for one `unnest(...)` statement, rows sorted by key: two commits upserting overlapping
 * rows then lock them in the same order and cannot deadlock.
 */
function columns<T>(items: Map<string, T>, pick: (item: T) => unknown[]): unknown[][] {
  const out: unknown[][] = [];
  const sorted = [...items].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, item]) => item);
  for (const item of sorted) {
    pick(item).forEach((value, i) => (out[i] ??= []).push(value));
  }
  return out;
}

/**
 * A column of values as an SQL array literal of `type` (`ARRAY['1', '2']::numeric[]`), for the
 * simple-protocol queries of a commit, which take no parameters. Every value goes through pg's
 * `escapeLiteral` (quotes and backslashes doubled, `E''` when needed): the store's values are checked
 * hex, addresses and decimals before they get here, but meta keys and values are any strings.
 */
function literals(values: readonly (string | null)[], type: string): string {
  let out = "ARRAY[";
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (i > 0) out += ",";
    // Hex, addresses, decimals and used-amount lists hold no quote or backslash: quoted as they are.
    out += value === null ? "NULL" : PLAIN.test(value) ? `'${value}'` : pg.escapeLiteral(value);
  }
  return `${out}]::${type}[]`;
}

/** Characters that need no escaping inside a standard SQL string literal, as every store value but meta has. */
const PLAIN = /^[0-9A-Za-z,:_-]*$/;

/** What a commit that would lower a stored voucher fails with. */
const LOWERED = "a stored voucher would have been lowered";

/** Runs several statements as one simple-protocol query (one round trip); one result per statement. */
async function run(client: pg.PoolClient, statements: string[]): Promise<pg.QueryResult[]> {
  const result = (await client.query(statements.join(";\n"))) as pg.QueryResult | pg.QueryResult[];
  return Array.isArray(result) ? result : [result];
}

export class PostgresStore implements StoreBackend, KeyedStore {
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #writes: GroupCommit;
  #open = true;

  private constructor(pool: pg.Pool, schema: string) {
    this.#pool = pool;
    this.#schema = schema;
    this.#writes = new GroupCommit((ops) => this.#commit(ops));
  }

  /**
   * Connects (a `postgresql://` URL or a `pg` pool config), creates or migrates the schema, and checks
   * that commits are durable. Several processes may open the same database at once.
   */
  static async open(connection: string | pg.PoolConfig, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const schema = checkSchemaName(options.schema ?? "trickle");
    const config: pg.PoolConfig = typeof connection === "string" ? { connectionString: connection } : { ...connection };
    config.max = options.poolSize ?? config.max ?? 4;
    const pool = new pg.Pool(config);
    // An idle connection that breaks (server restart) is dropped from the pool, not thrown into the process.
    pool.on("error", () => undefined);
    // A connection the server ends while a commit holds it also emits "error" on the client itself; its
    // query rejects with the cause (a StoreError to the caller), so the event must not reach the process.
    pool.on("connect", (client) => client.on("error", () => undefined));
    try {
      const client = await pool.connect();
      try {
        const { rows } = await client.query("SHOW synchronous_commit");
        if (rows[0]?.synchronous_commit === "off") {
          throw new StoreError("synchronous_commit is off: an acknowledged voucher could be lost on a crash", { setting: "synchronous_commit" });
        }
        await migrate(client, schema, options.create ?? true);
      } finally {
        client.release();
      }
      return new PostgresStore(pool, schema);
    } catch (cause) {
      await pool.end().catch(() => undefined);
      throw cause instanceof TrickleError ? cause : new StoreError("cannot open the PostgreSQL store", { schema }, { cause });
    }
  }

  forDeployment(deployment: Deployment): DeploymentStore {
    return new DeploymentStore(this, deployment);
  }

  /** Number of group commits (transactions, hence WAL flushes) since open. */
  get commits(): number {
    return this.#writes.commits;
  }

  /** The schema this store works in. */
  get schema(): string {
    return this.#schema;
  }

  // A commit is two round trips. The first, `BEGIN; <locks>; <reads>` ({@link #lockAndRead}), and the
  // second, `<writes>; COMMIT`, are each one simple-protocol query of several statements, so the values
  // are SQL literals (see `literals`): the same guarantee as one round trip per statement, at a third of
  // the round trips.
  async #commit(ops: readonly WriteOp[]): Promise<OpOutcome[]> {
    const client = await this.#pool.connect();
    let broken = false;
    try {
      // The channels whose rows this commit reads before writing: their locks, sorted, taken at once.
      const locked = new Map<number, true>();
      const voucherKeys = new Map<string, { d: Deployment; id: Hex }>();
      const payerKeys = new Map<string, { d: Deployment; id: Hex }>();
      for (const op of ops) {
        if (op.kind === "voucher" || op.kind === "charge") {
          voucherKeys.set(recordKey(op.deployment, op.voucher.channelId), { d: op.deployment, id: op.voucher.channelId });
          locked.set(lockKey("v", op.deployment, op.voucher.channelId), true);
        } else if (op.kind === "payerChannel" || op.kind === "signed") {
          const id = op.kind === "signed" ? op.channelId : op.record.channelId;
          payerKeys.set(recordKey(op.deployment, id), { d: op.deployment, id });
          locked.set(lockKey("p", op.deployment, id), true);
        }
      }
      const tables = await this.#lockAndRead(client, [...locked.keys()], voucherKeys, payerKeys);
      const outcomes = applyBatch(ops, tables);
      await run(client, [...this.#writeStatements(tables), "COMMIT"]);
      return outcomes;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      if (error instanceof Error && error.message.includes(LOWERED)) throw new StoreError(LOWERED, {}, { cause: error });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /**
   * One round trip: `BEGIN`, the advisory locks `locks` (sorted, taken at once), then the best vouchers and
   * charge ledgers of `voucherKeys` and the payer records of `payerKeys`, read into fresh tables. Each
   * statement of a READ COMMITTED transaction reads from a snapshot taken when it starts, so the reads,
   * which follow the lock statement, see every commit made before the locks were granted.
   */
  async #lockAndRead(
    client: pg.PoolClient,
    locks: readonly number[],
    voucherKeys: Map<string, { d: Deployment; id: Hex }>,
    payerKeys: Map<string, { d: Deployment; id: Hex }> = new Map(),
  ): Promise<BatchTables> {
    const s = this.#schema;
    const statements = ["BEGIN"];
    if (locks.length > 0) {
      const keys = [...locks].sort((a, b) => a - b);
      // unnest yields the array's order, and the locks are taken row by row in it.
      statements.push(`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_SPACE}, k) FROM unnest(${literals(keys.map(String), "int4")}) AS k`);
    }
    const keyed = (keys: Map<string, { d: Deployment; id: Hex }>) => {
      const [chainIds, contracts, ids] = columns(keys, (k) => [k.d.chainId.toString(), k.d.contract, k.id]) as string[][];
      return `unnest(${literals(chainIds, "numeric")}, ${literals(contracts, "text")}, ${literals(ids, "text")}) AS k(chain_id, contract, channel_id)`;
    };
    let vouchersAt = -1;
    let payersAt = -1;
    if (voucherKeys.size > 0) {
      vouchersAt = statements.length;
      statements.push(`SELECT v.chain_id, v.contract, v.channel_id, v.amount FROM ${s}.payee_vouchers v JOIN ${keyed(voucherKeys)} USING (chain_id, contract, channel_id)`);
      statements.push(`SELECT l.* FROM ${s}.payee_ledgers l JOIN ${keyed(voucherKeys)} USING (chain_id, contract, channel_id)`);
    }
    if (payerKeys.size > 0) {
      payersAt = statements.length;
      statements.push(`SELECT p.* FROM ${s}.payer_channels p JOIN ${keyed(payerKeys)} USING (chain_id, contract, channel_id)`);
    }
    const read = await run(client, statements);
    const tables = new BatchTables();
    if (vouchersAt >= 0) {
      for (const row of read[vouchersAt].rows) {
        const d = { chainId: BigInt(row.chain_id), contract: row.contract as Address };
        tables.best.set(recordKey(d, row.channel_id), BigInt(row.amount));
      }
      for (const row of read[vouchersAt + 1].rows) {
        const d = { chainId: BigInt(row.chain_id), contract: row.contract as Address };
        tables.ledgers.set(recordKey(d, row.channel_id), ledgerFromRow(row));
      }
    }
    if (payersAt >= 0) {
      for (const row of read[payersAt].rows) {
        const record = payerRecordFromRow(row);
        tables.payer.set(recordKey({ chainId: record.chainId, contract: record.contract }, record.channelId), record);
      }
    }
    return tables;
  }

  /** The statements that write a commit's rows back, in one round trip with its COMMIT. */
  #writeStatements(tables: BatchTables): string[] {
    const s = this.#schema;
    const w = tables.writes;
    const statements: string[] = [];
    const rows = (cols: unknown[][], types: string[]) => `unnest(${cols.map((col, i) => literals(col as (string | null)[], types[i])).join(", ")})`;
    if (w.best.size > 0) {
      const cols = columns(w.best, ({ d, voucher }) => [d.chainId.toString(), d.contract, voucher.channelId, voucher.amount.toString(), voucher.signature]);
      // The WHERE re-checks monotonicity in SQL: a write that would lower a voucher changes no row, and
      // then the count of rows written is short and the cast of a text to int fails the statement, so
      // the COMMIT after it never runs and the whole commit is rolled back (a last guard: the locks
      // already make it unreachable). The count is in the text so the cast is not folded at plan time.
      statements.push(
        `WITH upserted AS (
           INSERT INTO ${s}.payee_vouchers (chain_id, contract, channel_id, amount, signature)
           SELECT * FROM ${rows(cols, ["numeric", "text", "text", "numeric", "text"])}
           ON CONFLICT (chain_id, contract, channel_id) DO UPDATE SET amount = excluded.amount, signature = excluded.signature
           WHERE excluded.amount > payee_vouchers.amount
           RETURNING 1)
         SELECT CASE WHEN n = ${w.best.size} THEN n ELSE CAST('${LOWERED}: ' || n AS int) END AS written FROM (SELECT count(*) AS n FROM upserted) AS c`,
      );
    }
    if (w.ledgers.size > 0) {
      const cols = columns(w.ledgers, ({ d, id, ledger: l }) => [d.chainId.toString(), d.contract, id, l.served.toString(), l.floor.toString(), l.used.join(","), encodeChain(l.prepaid)]);
      statements.push(
        `INSERT INTO ${s}.payee_ledgers (chain_id, contract, channel_id, served, floor, used, prepaid)
         SELECT * FROM ${rows(cols, ["numeric", "text", "text", "numeric", "numeric", "text", "text"])}
         ON CONFLICT (chain_id, contract, channel_id) DO UPDATE SET served = excluded.served, floor = excluded.floor, used = excluded.used, prepaid = excluded.prepaid`,
      );
    }
    if (w.payeeChannels.size > 0) {
      const cols = columns(w.payeeChannels, ({ d, id, config: c }) => [d.chainId.toString(), d.contract, id, c.payer, c.payee, c.token, c.signer, c.closeDelay.toString(), c.salt]);
      statements.push(
        `INSERT INTO ${s}.payee_channels (chain_id, contract, channel_id, payer, payee, token, signer, close_delay, salt)
         SELECT * FROM ${rows(cols, ["numeric", "text", "text", "text", "text", "text", "text", "numeric", "text"])}
         ON CONFLICT DO NOTHING`,
      );
    }
    if (w.meta.size > 0) {
      const cols = columns(w.meta, ({ d, key, value }) => [d.chainId.toString(), d.contract, key, value]);
      statements.push(
        `INSERT INTO ${s}.meta (chain_id, contract, key, value) SELECT * FROM ${rows(cols, ["numeric", "text", "text", "text"])}
         ON CONFLICT (chain_id, contract, key) DO UPDATE SET value = excluded.value`,
      );
    }
    if (w.payer.size > 0) {
      const cols = columns(w.payer, ({ d, record: r }) => [
        d.chainId.toString(), d.contract, r.channelId, r.config.payer, r.config.payee, r.config.token, r.config.signer,
        r.config.closeDelay.toString(), r.config.salt, r.sessionKey ?? null, r.signedAmount.toString(), r.signature ?? null,
      ]);
      statements.push(
        `INSERT INTO ${s}.payer_channels (chain_id, contract, channel_id, payer, payee, token, signer, close_delay, salt, session_key, signed_amount, signature)
         SELECT * FROM ${rows(cols, ["numeric", "text", "text", "text", "text", "text", "text", "numeric", "text", "text", "numeric", "text"])}
         ON CONFLICT (chain_id, contract, channel_id) DO UPDATE SET session_key = excluded.session_key,
           signed_amount = excluded.signed_amount, signature = excluded.signature`,
      );
    }
    if (w.claimed.size > 0) {
      const cols = columns(w.claimed, ({ d, id, claimed, finished }) => [d.chainId.toString(), d.contract, id, claimed.toString(), String(finished)]);
      // Monotonic in SQL, so concurrent recorders need no lock: claimed only rises, finished is never undone.
      statements.push(
        `INSERT INTO ${s}.payee_claims (chain_id, contract, channel_id, claimed, finished)
         SELECT * FROM ${rows(cols, ["numeric", "text", "text", "numeric", "bool"])}
         ON CONFLICT (chain_id, contract, channel_id) DO UPDATE SET
           claimed = GREATEST(payee_claims.claimed, excluded.claimed), finished = payee_claims.finished OR excluded.finished`,
      );
    }
    return statements;
  }

  /**
   * Runs `work` as one transaction holding the locks a group commit takes for the channels `channels`
   * (so it serializes with every voucher save and charge of those channels, in any process) and one
   * lock per name of `names` (for a feature's own keys). Every lock is taken at once, in sorted order,
   * so two such transactions never deadlock. The channels' vouchers and charge ledgers are read into
   * `tables` under the locks; what `work` puts there is written by the store's own rules before COMMIT.
   * For features that keep their rows beside the store's and must commit with them (the commerce sales).
   * What `work` throws rolls everything back and is rethrown as it is; a failure of the store is `STORE`.
   */
  async transaction<T>(
    lock: { channels: readonly { deployment: Deployment; channelId: Hex }[]; names?: readonly string[] },
    work: (tx: PostgresTransaction) => Promise<T>,
  ): Promise<T> {
    if (!this.#open) throw new StoreError("the store is closed");
    const client = await this.#pool.connect().catch((cause: unknown) => {
      throw new StoreError("the store could not connect", {}, { cause });
    });
    let broken = false;
    let thrownByWork: unknown;
    try {
      const locked = new Set<number>();
      const channels = new Map<string, { d: Deployment; id: Hex }>();
      for (const { deployment, channelId } of lock.channels) {
        channels.set(recordKey(deployment, channelId), { d: deployment, id: channelId });
        locked.add(lockKey("v", deployment, channelId));
      }
      for (const name of lock.names ?? []) locked.add(advisoryKey(`x:${name}`));
      const tables = await this.#lockAndRead(client, [...locked], channels);
      const query = async (sql: string, values: unknown[] = []): Promise<Row[]> => {
        try {
          return (await client.query(sql, values)).rows as Row[];
        } catch (cause) {
          throw new StoreError("the store could not run a statement", {}, { cause });
        }
      };
      let result: T;
      try {
        result = await work({ tables, query });
      } catch (error) {
        thrownByWork = error;
        throw error;
      }
      await run(client, [...this.#writeStatements(tables), "COMMIT"]);
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      // What `work` threw reaches the caller as it is; the store's own failures are STORE.
      if (error === thrownByWork || error instanceof TrickleError) throw error;
      if (error instanceof Error && error.message.includes(LOWERED)) throw new StoreError(LOWERED, {}, { cause: error });
      throw new StoreError("the store could not commit", {}, { cause: error });
    } finally {
      client.release(broken);
    }
  }

  /** Runs one read outside any transaction (for features keeping their rows in this store's schema). */
  read(sql: string, values: unknown[] = []): Promise<Row[]> {
    return this.#query(sql, values);
  }

  async #query(sql: string, values: unknown[]): Promise<Row[]> {
    if (!this.#open) throw new StoreError("the store is closed");
    try {
      return (await this.#pool.query(sql, values)).rows as Row[];
    } catch (cause) {
      throw new StoreError("the store could not read", {}, { cause });
    }
  }

  submit(op: WriteOp): Promise<OpValue> {
    return this.#writes.submit(op);
  }

  async chargeLedger(d: Deployment, channelId: Hex): Promise<ChannelLedger | undefined> {
    const rows = await this.#query(
      `SELECT served, floor, used, prepaid FROM ${this.#schema}.payee_ledgers WHERE chain_id = $1 AND contract = $2 AND channel_id = $3`,
      [d.chainId.toString(), d.contract, channelId],
    );
    return rows[0] && ledgerFromRow(rows[0]);
  }

  async bestVoucher(d: Deployment, channelId: Hex): Promise<StoredVoucher | undefined> {
    const rows = await this.#query(
      `SELECT channel_id, amount, signature FROM ${this.#schema}.payee_vouchers WHERE chain_id = $1 AND contract = $2 AND channel_id = $3`,
      [d.chainId.toString(), d.contract, channelId],
    );
    return rows[0] && voucherFromRow(rows[0]);
  }

  async bestVouchers(d: Deployment): Promise<StoredVoucher[]> {
    const rows = await this.#query(
      `SELECT channel_id, amount, signature FROM ${this.#schema}.payee_vouchers WHERE chain_id = $1 AND contract = $2 ORDER BY channel_id COLLATE "C"`,
      [d.chainId.toString(), d.contract],
    );
    return rows.map(voucherFromRow);
  }

  async unclaimedVouchers(d: Deployment): Promise<UnclaimedVoucher[]> {
    const rows = await this.#query(
      `SELECT v.channel_id, v.amount, v.signature, c.claimed FROM ${this.#schema}.payee_vouchers v
       LEFT JOIN ${this.#schema}.payee_claims c USING (chain_id, contract, channel_id)
       WHERE v.chain_id = $1 AND v.contract = $2 AND (c.channel_id IS NULL OR (NOT c.finished AND v.amount > c.claimed))
       ORDER BY v.channel_id COLLATE "C"`,
      [d.chainId.toString(), d.contract],
    );
    return rows.map((row) => ({ ...voucherFromRow(row), claimed: row.claimed === null ? 0n : BigInt(row.claimed as string) }));
  }

  async channel(d: Deployment, channelId: Hex): Promise<ChannelConfig | undefined> {
    const rows = await this.#query(`SELECT * FROM ${this.#schema}.payee_channels WHERE chain_id = $1 AND contract = $2 AND channel_id = $3`, [
      d.chainId.toString(),
      d.contract,
      channelId,
    ]);
    return rows[0] && configFromRow(rows[0]);
  }

  async getMeta(d: Deployment, key: string): Promise<string | undefined> {
    const rows = await this.#query(`SELECT value FROM ${this.#schema}.meta WHERE chain_id = $1 AND contract = $2 AND key = $3`, [
      d.chainId.toString(),
      d.contract,
      key,
    ]);
    return rows[0]?.value as string | undefined;
  }

  async payerChannel(d: Deployment, channelId: Hex): Promise<PayerChannelRecord | undefined> {
    const rows = await this.#query(`SELECT * FROM ${this.#schema}.payer_channels WHERE chain_id = $1 AND contract = $2 AND channel_id = $3`, [
      d.chainId.toString(),
      d.contract,
      channelId,
    ]);
    return rows[0] && payerRecordFromRow(rows[0]);
  }

  async payerChannels(d: Deployment): Promise<PayerChannelRecord[]> {
    const rows = await this.#query(
      `SELECT * FROM ${this.#schema}.payer_channels WHERE chain_id = $1 AND contract = $2 ORDER BY channel_id COLLATE "C"`,
      [d.chainId.toString(), d.contract],
    );
    return rows.map(payerRecordFromRow);
  }

  /** Waits for pending writes, then closes every connection. */
  async close(): Promise<void> {
    if (!this.#open) return;
    await this.#writes.close();
    this.#open = false;
    await this.#pool.end();
  }
}
