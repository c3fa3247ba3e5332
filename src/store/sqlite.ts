// The default store: one SQLite file through `node:sqlite` (embedded, nothing to install).
// WAL with synchronous=FULL makes every commit durable before it returns: the WAL is fsynced on
// commit, so a voucher acknowledged to a caller survives a crash or a power loss. Writes go through
// a group commit, so concurrent saves share one transaction and one fsync.
import { DatabaseSync } from "node:sqlite";
import type { StatementSync } from "node:sqlite";
import type { Address, ChannelConfig, Hex } from "../channel.ts";
import { StoreError } from "../errors.ts";
import { applyBatch } from "./batch.ts";
import type { OpOutcome, StoreTables, WriteOp } from "./batch.ts";
import { GroupCommit } from "./group-commit.ts";
import type { ChannelLedger, ChargeResult, PayeeStore, PayerChannelRecord, PayerStore, SaveVoucherResult, StoredVoucher } from "./store.ts";
import { checkChannelId, checkConfig, checkPrice, checkMetaKey, checkMetaValue, checkPayerRecord, checkSignature, checkUint, checkVoucher, configId } from "./validate.ts";

/** The schema this code reads and writes; older files are migrated on open, newer ones refused. */
export const SCHEMA_VERSION = 2;

// Amounts are uint256 stored as 32-byte big-endian BLOBs: SQLite compares BLOBs with memcmp, so for
// equal lengths byte order is numeric order (decimal TEXT would compare "9" above "10").
// Config integers are TEXT because a uint64 closeDelay does not fit SQLite's signed 64-bit INTEGER.
const SCHEMA_V1 = `
CREATE TABLE payee_vouchers (
  channel_id TEXT NOT NULL PRIMARY KEY CHECK (length(channel_id) = 66),
  amount     BLOB NOT NULL CHECK (typeof(amount) = 'blob' AND length(amount) = 32),
  signature  TEXT NOT NULL CHECK (length(signature) = 132)
) WITHOUT ROWID;
CREATE TABLE payee_channels (
  channel_id  TEXT NOT NULL PRIMARY KEY CHECK (length(channel_id) = 66),
  payer       TEXT NOT NULL,
  payee       TEXT NOT NULL,
  token       TEXT NOT NULL,
  signer      TEXT NOT NULL,
  close_delay TEXT NOT NULL,
  salt        TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE payer_channels (
  channel_id    TEXT NOT NULL PRIMARY KEY CHECK (length(channel_id) = 66),
  chain_id      TEXT NOT NULL,
  contract      TEXT NOT NULL,
  payer         TEXT NOT NULL,
  payee         TEXT NOT NULL,
  token         TEXT NOT NULL,
  signer        TEXT NOT NULL,
  close_delay   TEXT NOT NULL,
  salt          TEXT NOT NULL,
  session_key   TEXT,
  signed_amount BLOB NOT NULL CHECK (typeof(signed_amount) = 'blob' AND length(signed_amount) = 32),
  signature     TEXT
) WITHOUT ROWID;
CREATE TABLE meta (
  key   TEXT NOT NULL PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
`;

// Version 2: the charge ledger (what the HTTP gate served per channel), shared by every process that
// opens the file. Used amounts are a short comma-separated decimal list: under in-order traffic it is
// empty (see applyCharge), so the row stays small.
const SCHEMA_V2 = `
CREATE TABLE payee_ledgers (
  channel_id TEXT NOT NULL PRIMARY KEY CHECK (length(channel_id) = 66),
  served     BLOB NOT NULL CHECK (typeof(served) = 'blob' AND length(served) = 32),
  floor      BLOB NOT NULL CHECK (typeof(floor) = 'blob' AND length(floor) = 32),
  used       TEXT NOT NULL
) WITHOUT ROWID;
`;

export function encodeUint256(value: bigint): Uint8Array {
  return Buffer.from(value.toString(16).padStart(64, "0"), "hex");
}

export function decodeUint256(bytes: unknown): bigint {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
    throw new StoreError("the store holds an amount that is not 32 bytes");
  }
  return BigInt(`0x${Buffer.from(bytes).toString("hex")}`);
}

type Row = Record<string, unknown>;

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
  return { served: decodeUint256(row.served), floor: decodeUint256(row.floor), used: used === "" ? [] : used.split(",").map((amount) => BigInt(amount)) };
}

function voucherFromRow(row: Row): StoredVoucher {
  return { channelId: row.channel_id as Hex, amount: decodeUint256(row.amount), signature: row.signature as Hex };
}

function migrate(db: DatabaseSync): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    const row = db.prepare("SELECT max(version) AS version FROM schema_version").get() as Row | undefined;
    const version = Number(row?.version ?? 0);
    if (version > SCHEMA_VERSION) {
      throw new StoreError("the store file was written by a newer Trickle", { version, supported: SCHEMA_VERSION });
    }
    if (version < 1) {
      db.exec(SCHEMA_V1);
      db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(1);
    }
    if (version < 2) {
      db.exec(SCHEMA_V2);
      db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(2);
    }
    db.exec("COMMIT");
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
}

export class SqliteStore implements PayeeStore, PayerStore {
  readonly #db: DatabaseSync;
  readonly #writes: GroupCommit;
  readonly #tables: StoreTables;
  readonly #statements: Record<string, StatementSync>;
  #open = true;

  private constructor(db: DatabaseSync) {
    this.#db = db;
    const s = (sql: string) => db.prepare(sql);
    this.#statements = {
      bestAmount: s("SELECT amount FROM payee_vouchers WHERE channel_id = ?"),
      bestVoucher: s("SELECT channel_id, amount, signature FROM payee_vouchers WHERE channel_id = ?"),
      bestVouchers: s("SELECT channel_id, amount, signature FROM payee_vouchers ORDER BY channel_id"),
      // The WHERE re-checks monotonicity in SQL: a write that would lower a voucher changes no row.
      putBest: s(`INSERT INTO payee_vouchers (channel_id, amount, signature) VALUES (?, ?, ?)
        ON CONFLICT (channel_id) DO UPDATE SET amount = excluded.amount, signature = excluded.signature
        WHERE excluded.amount > payee_vouchers.amount`),
      ledger: s("SELECT served, floor, used FROM payee_ledgers WHERE channel_id = ?"),
      putLedger: s(`INSERT INTO payee_ledgers (channel_id, served, floor, used) VALUES (?, ?, ?, ?)
        ON CONFLICT (channel_id) DO UPDATE SET served = excluded.served, floor = excluded.floor, used = excluded.used`),
      putPayeeChannel: s(`INSERT OR IGNORE INTO payee_channels (channel_id, payer, payee, token, signer, close_delay, salt)
        VALUES (?, ?, ?, ?, ?, ?, ?)`),
      payeeChannel: s("SELECT * FROM payee_channels WHERE channel_id = ?"),
      getMeta: s("SELECT value FROM meta WHERE key = ?"),
      putMeta: s("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
      payerChannel: s("SELECT * FROM payer_channels WHERE channel_id = ?"),
      payerChannels: s("SELECT * FROM payer_channels ORDER BY channel_id"),
      putPayerChannel: s(`INSERT OR REPLACE INTO payer_channels (channel_id, chain_id, contract, payer, payee, token, signer,
        close_delay, salt, session_key, signed_amount, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    };
    const st = this.#statements;
    this.#tables = {
      bestAmount: (id) => {
        const row = st.bestAmount.get(id) as Row | undefined;
        return row && decodeUint256(row.amount);
      },
      putBest: (voucher) => {
        const { changes } = st.putBest.run(voucher.channelId, encodeUint256(voucher.amount), voucher.signature);
        if (Number(changes) !== 1) throw new StoreError("a stored voucher would have been lowered", { channelId: voucher.channelId });
      },
      ledger: (id) => {
        const row = st.ledger.get(id) as Row | undefined;
        return row && ledgerFromRow(row);
      },
      putLedger: (id, l) => void st.putLedger.run(id, encodeUint256(l.served), encodeUint256(l.floor), l.used.join(",")),
      putPayeeChannel: (id, c) => void st.putPayeeChannel.run(id, c.payer, c.payee, c.token, c.signer, c.closeDelay.toString(), c.salt),
      putMeta: (key, value) => void st.putMeta.run(key, value),
      payerChannel: (id) => {
        const row = st.payerChannel.get(id) as Row | undefined;
        return row && payerRecordFromRow(row);
      },
      putPayerChannel: (r) =>
        void st.putPayerChannel.run(
          r.channelId, r.chainId.toString(), r.contract, r.config.payer, r.config.payee, r.config.token, r.config.signer,
          r.config.closeDelay.toString(), r.config.salt, r.sessionKey ?? null, encodeUint256(r.signedAmount), r.signature ?? null,
        ),
    };
    this.#writes = new GroupCommit((ops) => this.#commit(ops));
  }

  /** Opens (creating or migrating) the store at `path`. */
  static open(path: string): SqliteStore {
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
    } catch (cause) {
      throw new StoreError("cannot open the store file", { path }, { cause });
    }
    try {
      db.exec("PRAGMA busy_timeout = 5000");
      const mode = (db.prepare("PRAGMA journal_mode = WAL").get() as Row).journal_mode;
      if (mode !== "wal" && path !== ":memory:") throw new StoreError("the store file cannot use WAL", { path, mode });
      db.exec("PRAGMA synchronous = FULL");
      migrate(db);
      return new SqliteStore(db);
    } catch (cause) {
      db.close();
      throw cause instanceof StoreError ? cause : new StoreError("cannot open the store file", { path }, { cause });
    }
  }

  /** Number of group commits (transactions, hence WAL fsyncs) since open. */
  get commits(): number {
    return this.#writes.commits;
  }

  #commit(ops: readonly WriteOp[]): OpOutcome[] {
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

  #read<T>(query: () => T): T {
    if (!this.#open) throw new StoreError("the store is closed");
    try {
      return query();
    } catch (cause) {
      throw cause instanceof StoreError ? cause : new StoreError("the store could not read", {}, { cause });
    }
  }

  async saveVoucherIfHigher(voucher: StoredVoucher): Promise<SaveVoucherResult> {
    const result = await this.#writes.submit({ kind: "voucher", voucher: checkVoucher(voucher) });
    if (!result || !("stored" in result) || "charged" in result) throw new StoreError("no result for a voucher save");
    return result;
  }

  async chargeVoucher(voucher: StoredVoucher, price: bigint): Promise<ChargeResult> {
    const op = { kind: "charge", voucher: checkVoucher(voucher), price: checkPrice(price) } as const;
    const result = await this.#writes.submit(op);
    if (!result || !("charged" in result)) throw new StoreError("no result for a charge");
    return result;
  }

  async chargeLedger(channelId: Hex): Promise<ChannelLedger | undefined> {
    const id = checkChannelId(channelId);
    return this.#read(() => {
      const row = this.#statements.ledger.get(id) as Row | undefined;
      return row && ledgerFromRow(row);
    });
  }

  async bestVoucher(channelId: Hex): Promise<StoredVoucher | undefined> {
    const id = checkChannelId(channelId);
    return this.#read(() => {
      const row = this.#statements.bestVoucher.get(id) as Row | undefined;
      return row && voucherFromRow(row);
    });
  }

  async bestVouchers(): Promise<StoredVoucher[]> {
    return this.#read(() => (this.#statements.bestVouchers.all() as Row[]).map(voucherFromRow));
  }

  async saveChannel(config: ChannelConfig): Promise<void> {
    const checked = checkConfig(config);
    await this.#writes.submit({ kind: "payeeChannel", channelId: configId(checked), config: checked });
  }

  async channel(channelId: Hex): Promise<ChannelConfig | undefined> {
    const id = checkChannelId(channelId);
    return this.#read(() => {
      const row = this.#statements.payeeChannel.get(id) as Row | undefined;
      return row && configFromRow(row);
    });
  }

  async getMeta(key: string): Promise<string | undefined> {
    const checked = checkMetaKey(key);
    return this.#read(() => (this.#statements.getMeta.get(checked) as Row | undefined)?.value as string | undefined);
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.#writes.submit({ kind: "meta", key: checkMetaKey(key), value: checkMetaValue(value) });
  }

  async savePayerChannel(record: PayerChannelRecord): Promise<void> {
    await this.#writes.submit({ kind: "payerChannel", record: checkPayerRecord(record) });
  }

  async payerChannel(channelId: Hex): Promise<PayerChannelRecord | undefined> {
    const id = checkChannelId(channelId);
    return this.#read(() => {
      const row = this.#statements.payerChannel.get(id) as Row | undefined;
      return row && payerRecordFromRow(row);
    });
  }

  async payerChannels(): Promise<PayerChannelRecord[]> {
    return this.#read(() => (this.#statements.payerChannels.all() as Row[]).map(payerRecordFromRow));
  }

  async recordSigned(channelId: Hex, amount: bigint, signature: Hex): Promise<void> {
    await this.#writes.submit({
      kind: "signed",
      channelId: checkChannelId(channelId),
      amount: checkUint(amount, "amount"),
      signature: checkSignature(signature),
    });
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    await this.#writes.close();
    this.#open = false;
    this.#db.close();
  }
}
