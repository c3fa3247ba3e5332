// The default store: one SQLite file through `node:sqlite` (embedded, nothing to install).
// Every commit is durable before it is acknowledged: the WAL is fsynced after the commit, so a voucher
// acknowledged to a caller survives a crash or a power loss. Writes go through a group commit, so
// concurrent saves share one transaction and one fsync.
//
// The fsync runs off the event loop. SQLite in WAL mode with synchronous=FULL fsyncs the WAL inside
// COMMIT, on the loop: every request waits for the disk, and the group commits stay small because
// nothing is parsed meanwhile. With synchronous=NORMAL, COMMIT writes the WAL frames and returns, and
// the store itself then fdatasyncs the WAL file on libuv's thread pool before it resolves the commit's
// writes: the same guarantee as FULL (whose only difference in WAL mode is that sync at commit), while
// the loop keeps parsing and checking the requests that join the next commit. NORMAL still syncs the
// WAL before every checkpoint and the database after it, so what an earlier fdatasync made durable
// stays so when the WAL is checkpointed and restarted. The WAL file (the same inode for as long as a
// connection is open) may carry another process's frames too: they come before this commit's, and
// one fdatasync flushes them all, so a process that read them and acknowledged a write of its own made
// them durable first. A failed fdatasync leaves the durability of everything since unknown: the store
// refuses every write after it.
import { fdatasync, fdatasyncSync, openSync, closeSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import type { StatementSync } from "node:sqlite";
import type { Address, ChannelConfig, Hex } from "../channel.ts";
import { StoreError, StoreMigrationError, TrickleError } from "../errors.ts";
import { applyBatch } from "./batch.ts";
import { encodeChain, optionalChain } from "./prepaid.ts";
import type { OpOutcome, OpValue, StoreTables, WriteOp } from "./batch.ts";
import { DeploymentStore, type KeyedStore } from "./deployment.ts";
import { GroupCommit } from "./group-commit.ts";
import type { ChannelLedger, Deployment, PayerChannelRecord, StoreBackend, StoredVoucher, UnclaimedVoucher } from "./store.ts";
import { checkDeployment } from "./validate.ts";

/** The schema this code reads and writes; older files are migrated on open, newer ones refused. */
export const SCHEMA_VERSION = 4;

/** How to open a store file. */
export interface SqliteStoreOptions {
  /**
   * The deployment that the payee records of a version-1 file belong to. Version 1 keyed payee records
   * by channel id alone; such a file was used on one chain, which only its owner knows. Needed once, to
   * migrate a file that holds payee records (a `STORE_MIGRATION` error says so); ignored afterwards.
   */
  legacyDeployment?: Deployment;
}

// Amounts are uint256 stored as 32-byte big-endian BLOBs: SQLite compares BLOBs with memcmp, so for
// equal lengths byte order is numeric order (decimal TEXT would compare "9" above "10").
// Config integers and chain ids are TEXT because a uint64 closeDelay does not fit SQLite's signed 64-bit INTEGER.
// Every table is keyed by (chain_id, contract, ...): a channel id names a config, not a deployment.
const KEY = `chain_id TEXT NOT NULL, contract TEXT NOT NULL CHECK (length(contract) = 42)`;
const CONFIG = `payer TEXT NOT NULL, payee TEXT NOT NULL, token TEXT NOT NULL, signer TEXT NOT NULL, close_delay TEXT NOT NULL, salt TEXT NOT NULL`;
const SCHEMA_V2 = `
CREATE TABLE payee_vouchers (
  ${KEY},
  channel_id TEXT NOT NULL CHECK (length(channel_id) = 66),
  amount     BLOB NOT NULL CHECK (typeof(amount) = 'blob' AND length(amount) = 32),
  signature  TEXT NOT NULL CHECK (length(signature) = 132),
  PRIMARY KEY (chain_id, contract, channel_id)
) WITHOUT ROWID;
CREATE TABLE payee_claims (
  ${KEY},
  channel_id TEXT NOT NULL CHECK (length(channel_id) = 66),
  claimed    BLOB NOT NULL CHECK (typeof(claimed) = 'blob' AND length(claimed) = 32),
  finished   INTEGER NOT NULL CHECK (finished IN (0, 1)),
  PRIMARY KEY (chain_id, contract, channel_id)
) WITHOUT ROWID;
CREATE TABLE payee_channels (
  ${KEY},
  channel_id TEXT NOT NULL CHECK (length(channel_id) = 66),
  ${CONFIG},
  PRIMARY KEY (chain_id, contract, channel_id)
) WITHOUT ROWID;
CREATE TABLE payer_channels (
  ${KEY},
  channel_id    TEXT NOT NULL CHECK (length(channel_id) = 66),
  ${CONFIG},
  session_key   TEXT,
  signed_amount BLOB NOT NULL CHECK (typeof(signed_amount) = 'blob' AND length(signed_amount) = 32),
  signature     TEXT,
  PRIMARY KEY (chain_id, contract, channel_id)
) WITHOUT ROWID;
CREATE TABLE meta (
  ${KEY},
  key   TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (chain_id, contract, key)
) WITHOUT ROWID;
`;

// Version 3: the charge ledger (what the HTTP gate served per channel), shared by every process that
// opens the file. Used amounts are a short comma-separated decimal list: under in-order traffic it is
// empty (see applyCharge), so the row stays small.
const SCHEMA_V3 = `
CREATE TABLE payee_ledgers (
  ${KEY},
  channel_id TEXT NOT NULL CHECK (length(channel_id) = 66),
  served     BLOB NOT NULL CHECK (typeof(served) = 'blob' AND length(served) = 32),
  floor      BLOB NOT NULL CHECK (typeof(floor) = 'blob' AND length(floor) = 32),
  used       TEXT NOT NULL,
  PRIMARY KEY (chain_id, contract, channel_id)
) WITHOUT ROWID;
`;

// Version 4: the prepaid token chain of each charge ledger (src/store/prepaid.ts), "" for none.
const SCHEMA_V4 = "ALTER TABLE payee_ledgers ADD COLUMN prepaid TEXT NOT NULL DEFAULT ''";

/** Version 1 to 2: every record gains its deployment. Payer records carried theirs; payee records take `legacy`. */
function migrateV1toV2(db: DatabaseSync, legacy: Deployment | undefined): void {
  const count = (table: string) => Number((db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as Row).n);
  const payeeRows = count("payee_vouchers") + count("payee_channels") + count("meta");
  if (payeeRows > 0 && legacy === undefined) {
    throw new StoreMigrationError(
      "the store file predates chain keying and holds payee records: open it once with legacyDeployment (the chain id and contract it was used with)",
      { payeeRows },
    );
  }
  for (const table of ["payee_vouchers", "payee_channels", "payer_channels", "meta"]) db.exec(`ALTER TABLE ${table} RENAME TO v1_${table}`);
  db.exec(SCHEMA_V2);
  const chainId = legacy?.chainId.toString() ?? "";
  const contract = legacy?.contract.toLowerCase() ?? "";
  const scoped = (columns: string) => `INSERT INTO ${columns} SELECT ?, ?, `;
  db.prepare(`${scoped("payee_vouchers")}channel_id, amount, signature FROM v1_payee_vouchers`).run(chainId, contract);
  db.prepare(`${scoped("payee_channels")}channel_id, payer, payee, token, signer, close_delay, salt FROM v1_payee_channels`).run(chainId, contract);
  db.prepare(`${scoped("meta")}key, value FROM v1_meta`).run(chainId, contract);
  db.exec(`INSERT INTO payer_channels SELECT chain_id, lower(contract), channel_id, payer, payee, token, signer, close_delay, salt,
    session_key, signed_amount, signature FROM v1_payer_channels`);
  for (const table of ["payee_vouchers", "payee_channels", "payer_channels", "meta"]) db.exec(`DROP TABLE v1_${table}`);
}

const WORD_MASK = (1n << 64n) - 1n;

/** A uint256 as 32 big-endian bytes, written as four 64-bit words (no hex string in between). */
export function encodeUint256(value: bigint): Uint8Array {
  const bytes = new Uint8Array(32);
  const view = new DataView(bytes.buffer);
  if (value <= WORD_MASK) {
    view.setBigUint64(24, value);
    return bytes;
  }
  view.setBigUint64(0, value >> 192n);
  view.setBigUint64(8, (value >> 128n) & WORD_MASK);
  view.setBigUint64(16, (value >> 64n) & WORD_MASK);
  view.setBigUint64(24, value & WORD_MASK);
  return bytes;
}

export function decodeUint256(bytes: unknown): bigint {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
    throw new StoreError("the store holds an amount that is not 32 bytes");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, 32);
  const low = view.getBigUint64(24);
  const [a, b, c] = [view.getBigUint64(0), view.getBigUint64(8), view.getBigUint64(16)];
  return a === 0n && b === 0n && c === 0n ? low : (a << 192n) | (b << 128n) | (c << 64n) | low;
}

type Row = Record<string, unknown>;

/** The key columns of a deployment (its contract is already lower-cased by the view). */
const keys = new WeakMap<Deployment, [string, string]>();

/** The key columns of a deployment, made once per view's deployment object. */
function key(d: Deployment): [string, string] {
  let columns = keys.get(d);
  if (columns === undefined) keys.set(d, (columns = [d.chainId.toString(), d.contract]));
  return columns;
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
    signedAmount: decodeUint256(row.signed_amount),
  };
  if (row.session_key !== null) record.sessionKey = row.session_key as Hex;
  if (row.signature !== null) record.signature = row.signature as Hex;
  return record;
}

function ledgerFromRow(row: Row): ChannelLedger {
  const used = row.used as string;
  return {
    served: decodeUint256(row.served),
    floor: decodeUint256(row.floor),
    used: used === "" ? [] : used.split(",").map((amount) => BigInt(amount)),
    ...optionalChain(row.prepaid as string),
  };
}

function voucherFromRow(row: Row): StoredVoucher {
  return { channelId: row.channel_id as Hex, amount: decodeUint256(row.amount), signature: row.signature as Hex };
}

function migrate(db: DatabaseSync, options: SqliteStoreOptions): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    const row = db.prepare("SELECT max(version) AS version FROM schema_version").get() as Row | undefined;
    const version = Number(row?.version ?? 0);
    if (version > SCHEMA_VERSION) {
      throw new StoreError("the store file was written by a newer Trickle", { version, supported: SCHEMA_VERSION });
    }
    if (version < 1) db.exec(SCHEMA_V2);
    else if (version < 2) migrateV1toV2(db, options.legacyDeployment && checkDeployment(options.legacyDeployment));
    if (version < 3) db.exec(SCHEMA_V3);
    if (version < 4) db.exec(SCHEMA_V4);
    if (version < SCHEMA_VERSION) {
      db.exec("DELETE FROM schema_version");
      db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(SCHEMA_VERSION);
    }
    db.exec("COMMIT");
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
}

export class SqliteStore implements StoreBackend, KeyedStore {
  readonly #db: DatabaseSync;
  /** The WAL file, fdatasynced after every commit (undefined for an in-memory database). */
  readonly #wal: number | undefined;
  /** Set when an fdatasync failed: nothing written since can be called durable. */
  #syncFailure: StoreError | undefined;
  readonly #writes: GroupCommit;
  readonly #tables: StoreTables;
  readonly #statements: Record<string, StatementSync>;
  #open = true;

  private constructor(db: DatabaseSync, wal: number | undefined) {
    this.#db = db;
    this.#wal = wal;
    const s = (sql: string) => db.prepare(sql);
    const where = "chain_id = ? AND contract = ?";
    this.#statements = {
      bestAmount: s(`SELECT amount FROM payee_vouchers WHERE ${where} AND channel_id = ?`),
      bestVoucher: s(`SELECT channel_id, amount, signature FROM payee_vouchers WHERE ${where} AND channel_id = ?`),
      bestVouchers: s(`SELECT channel_id, amount, signature FROM payee_vouchers WHERE ${where} ORDER BY channel_id`),
      // Amounts are equal-length big-endian blobs, so `>` compares them as numbers.
      unclaimedVouchers: s(`SELECT v.channel_id, v.amount, v.signature, c.claimed FROM payee_vouchers v
        LEFT JOIN payee_claims c ON c.chain_id = v.chain_id AND c.contract = v.contract AND c.channel_id = v.channel_id
        WHERE v.chain_id = ? AND v.contract = ? AND (c.channel_id IS NULL OR (c.finished = 0 AND v.amount > c.claimed))
        ORDER BY v.channel_id`),
      // The WHERE re-checks monotonicity in SQL: a write that would lower a voucher changes no row.
      putBest: s(`INSERT INTO payee_vouchers (chain_id, contract, channel_id, amount, signature) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (chain_id, contract, channel_id) DO UPDATE SET amount = excluded.amount, signature = excluded.signature
        WHERE excluded.amount > payee_vouchers.amount`),
      ledger: s(`SELECT served, floor, used, prepaid FROM payee_ledgers WHERE ${where} AND channel_id = ?`),
      putLedger: s(`INSERT INTO payee_ledgers (chain_id, contract, channel_id, served, floor, used, prepaid) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (chain_id, contract, channel_id) DO UPDATE SET served = excluded.served, floor = excluded.floor, used = excluded.used, prepaid = excluded.prepaid`),
      putClaimed: s(`INSERT INTO payee_claims (chain_id, contract, channel_id, claimed, finished) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (chain_id, contract, channel_id) DO UPDATE SET
          claimed = max(payee_claims.claimed, excluded.claimed), finished = max(payee_claims.finished, excluded.finished)`),
      putPayeeChannel: s(`INSERT OR IGNORE INTO payee_channels (chain_id, contract, channel_id, payer, payee, token, signer, close_delay, salt)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      payeeChannel: s(`SELECT * FROM payee_channels WHERE ${where} AND channel_id = ?`),
      getMeta: s(`SELECT value FROM meta WHERE ${where} AND key = ?`),
      putMeta: s(`INSERT INTO meta (chain_id, contract, key, value) VALUES (?, ?, ?, ?)
        ON CONFLICT (chain_id, contract, key) DO UPDATE SET value = excluded.value`),
      payerChannel: s(`SELECT * FROM payer_channels WHERE ${where} AND channel_id = ?`),
      payerChannels: s(`SELECT * FROM payer_channels WHERE ${where} ORDER BY channel_id`),
      putPayerChannel: s(`INSERT OR REPLACE INTO payer_channels (chain_id, contract, channel_id, payer, payee, token, signer,
        close_delay, salt, session_key, signed_amount, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    };
    const st = this.#statements;
    this.#tables = {
      bestAmount: (d, id) => {
        const row = st.bestAmount.get(...key(d), id) as Row | undefined;
        return row && decodeUint256(row.amount);
      },
      putBest: (d, voucher) => {
        const { changes } = st.putBest.run(...key(d), voucher.channelId, encodeUint256(voucher.amount), voucher.signature);
        if (Number(changes) !== 1) throw new StoreError("a stored voucher would have been lowered", { channelId: voucher.channelId });
      },
      ledger: (d, id) => {
        const row = st.ledger.get(...key(d), id) as Row | undefined;
        return row && ledgerFromRow(row);
      },
      putLedger: (d, id, l) => void st.putLedger.run(...key(d), id, encodeUint256(l.served), encodeUint256(l.floor), l.used.join(","), encodeChain(l.prepaid)),
      putClaimed: (d, id, claimed, finished) => void st.putClaimed.run(...key(d), id, encodeUint256(claimed), finished ? 1 : 0),
      putPayeeChannel: (d, id, c) =>
        void st.putPayeeChannel.run(...key(d), id, c.payer, c.payee, c.token, c.signer, c.closeDelay.toString(), c.salt),
      putMeta: (d, k, value) => void st.putMeta.run(...key(d), k, value),
      payerChannel: (d, id) => {
        const row = st.payerChannel.get(...key(d), id) as Row | undefined;
        return row && payerRecordFromRow(row);
      },
      putPayerChannel: (d, r) =>
        void st.putPayerChannel.run(
          ...key(d), r.channelId, r.config.payer, r.config.payee, r.config.token, r.config.signer,
          r.config.closeDelay.toString(), r.config.salt, r.sessionKey ?? null, encodeUint256(r.signedAmount), r.signature ?? null,
        ),
    };
    this.#writes = new GroupCommit(async (ops) => {
      const outcomes = this.#commit(ops);
      await this.#syncWal();
      return outcomes;
    });
  }

  /** Opens (creating or migrating) the store at `path`. */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    let db: DatabaseSync;
    let wal: number | undefined;
    try {
      db = new DatabaseSync(path);
    } catch (cause) {
      throw new StoreError("cannot open the store file", { path }, { cause });
    }
    try {
      db.exec("PRAGMA busy_timeout = 5000");
      const mode = (db.prepare("PRAGMA journal_mode = WAL").get() as Row).journal_mode;
      if (mode !== "wal" && path !== ":memory:") throw new StoreError("the store file cannot use WAL", { path, mode });
      // NORMAL: COMMIT does not fsync; the store fdatasyncs the WAL after each commit (see the top).
      db.exec("PRAGMA synchronous = NORMAL");
      migrate(db, options);
      // The migration's commit created the WAL file if it was not there.
      wal = path === ":memory:" ? undefined : openSync(`${path}-wal`, "r");
      if (wal !== undefined) fdatasyncSync(wal);
      return new SqliteStore(db, wal);
    } catch (cause) {
      if (wal !== undefined) closeSync(wal);
      db.close();
      throw cause instanceof TrickleError ? cause : new StoreError("cannot open the store file", { path }, { cause });
    }
  }

  forDeployment(deployment: Deployment): DeploymentStore {
    return new DeploymentStore(this, deployment);
  }

  /** Number of group commits (transactions, hence WAL fdatasyncs) since open. */
  get commits(): number {
    return this.#writes.commits;
  }

  /** Makes every commit so far durable, on the thread pool; rejects (and fails the store) when it cannot. */
  #syncWal(): Promise<void> {
    if (this.#syncFailure !== undefined) return Promise.reject(this.#syncFailure);
    const wal = this.#wal;
    if (wal === undefined) return Promise.resolve();
    return new Promise((resolve, reject) => {
      fdatasync(wal, (error) => {
        if (error === null) resolve();
        else reject((this.#syncFailure ??= new StoreError("the store could not sync its write-ahead log: no write is durable from now on", {}, { cause: error })));
      });
    });
  }

  /** {@link syncWal}, blocking: for the synchronous {@link transaction}. */
  #syncWalNow(): void {
    if (this.#syncFailure !== undefined) throw this.#syncFailure;
    if (this.#wal === undefined) return;
    try {
      fdatasyncSync(this.#wal);
    } catch (error) {
      throw (this.#syncFailure = new StoreError("the store could not sync its write-ahead log: no write is durable from now on", {}, { cause: error }));
    }
  }

  #commit(ops: readonly WriteOp[]): OpOutcome[] {
    if (this.#syncFailure !== undefined) throw this.#syncFailure;
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const outcomes = applyBatch(ops, this.#tables);
      this.#db.exec("COMMIT");
      return outcomes;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /**
   * A statement on the store's connection, for tables a feature keeps beside the store's in its file
   * (the commerce sales). Run writes through {@link transaction}, so they commit with the store's records.
   */
  prepare(sql: string): StatementSync {
    if (!this.#open || this.#writes.closed) throw new StoreError("the store is closed");
    return this.#db.prepare(sql);
  }

  /**
   * Runs `work` as one write transaction on the store's connection (BEGIN IMMEDIATE: one writer at a time
   * across every connection and process on the file), with the store's row access, and commits it
   * durably before returning. Synchronous, so it never interleaves with the store's own commits. When
   * `work` throws, nothing of it is written and the error is rethrown.
   */
  transaction<T>(work: (tables: StoreTables) => T): T {
    if (!this.#open || this.#writes.closed) throw new StoreError("the store is closed");
    if (this.#syncFailure !== undefined) throw this.#syncFailure;
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = work(this.#tables);
      this.#db.exec("COMMIT");
      this.#syncWalNow();
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  async #read<T>(query: () => T): Promise<T> {
    if (!this.#open) throw new StoreError("the store is closed");
    try {
      return query();
    } catch (cause) {
      throw cause instanceof StoreError ? cause : new StoreError("the store could not read", {}, { cause });
    }
  }

  submit(op: WriteOp): Promise<OpValue> {
    return this.#writes.submit(op);
  }

  chargeLedger(d: Deployment, channelId: Hex): Promise<ChannelLedger | undefined> {
    return this.#read(() => {
      const row = this.#statements.ledger.get(...key(d), channelId) as Row | undefined;
      return row && ledgerFromRow(row);
    });
  }

  bestVoucher(d: Deployment, channelId: Hex): Promise<StoredVoucher | undefined> {
    return this.#read(() => {
      const row = this.#statements.bestVoucher.get(...key(d), channelId) as Row | undefined;
      return row && voucherFromRow(row);
    });
  }

  bestVouchers(d: Deployment): Promise<StoredVoucher[]> {
    return this.#read(() => (this.#statements.bestVouchers.all(...key(d)) as Row[]).map(voucherFromRow));
  }

  unclaimedVouchers(d: Deployment): Promise<UnclaimedVoucher[]> {
    return this.#read(() =>
      (this.#statements.unclaimedVouchers.all(...key(d)) as Row[]).map((row) => ({
        ...voucherFromRow(row),
        claimed: row.claimed === null ? 0n : decodeUint256(row.claimed),
      })),
    );
  }

  channel(d: Deployment, channelId: Hex): Promise<ChannelConfig | undefined> {
    return this.#read(() => {
      const row = this.#statements.payeeChannel.get(...key(d), channelId) as Row | undefined;
      return row && configFromRow(row);
    });
  }

  getMeta(d: Deployment, k: string): Promise<string | undefined> {
    return this.#read(() => (this.#statements.getMeta.get(...key(d), k) as Row | undefined)?.value as string | undefined);
  }

  payerChannel(d: Deployment, channelId: Hex): Promise<PayerChannelRecord | undefined> {
    return this.#read(() => {
      const row = this.#statements.payerChannel.get(...key(d), channelId) as Row | undefined;
      return row && payerRecordFromRow(row);
    });
  }

  payerChannels(d: Deployment): Promise<PayerChannelRecord[]> {
    return this.#read(() => (this.#statements.payerChannels.all(...key(d)) as Row[]).map(payerRecordFromRow));
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    await this.#writes.close();
    this.#open = false;
    this.#db.close();
    if (this.#wal !== undefined) closeSync(this.#wal);
  }
}
