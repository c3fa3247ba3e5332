/// <reference lib="dom" />
// `trickle/store/browser`: the durable store of a payer in a web page, on IndexedDB. A page reload (or a
// crash of the tab) keeps the session key and the last signed amount, so the page goes on paying from the
// same channel and never signs one cumulative amount twice for different totals.
//
// Every write goes through the same commit semantics as the SQLite store (`applyBatch`), inside one
// IndexedDB `readwrite` transaction opened with `durability: "strict"`: the promise resolves on the
// transaction's `complete` event, after the browser has flushed it. Rows are read inside that same
// transaction rather than from a cache, so two tabs of one origin writing the same channel are serialised
// by IndexedDB itself and neither can sign below what the other recorded.
//
// No Node built-in is used here: the file is bundled into web pages.
import type { Address, ChannelConfig, Hex } from "../channel.ts";
import { StoreError } from "../errors.ts";
import { applyBatch } from "./batch.ts";
import type { OpOutcome, StoreTables, WriteOp } from "./batch.ts";
import type { PayeeStore, PayerChannelRecord, PayerStore, SaveVoucherResult, StoredVoucher } from "./store.ts";
import { checkChannelId, checkConfig, checkMetaKey, checkMetaValue, checkPayerRecord, checkSignature, checkUint, checkVoucher, configId } from "./validate.ts";

/** The layout this code reads and writes; a database of a newer layout is refused. */
export const BROWSER_SCHEMA_VERSION = 1;

const PAYEE_VOUCHERS = "payeeVouchers";
const PAYEE_CHANNELS = "payeeChannels";
const PAYER_CHANNELS = "payerChannels";
const META = "meta";
const ALL_STORES = [PAYEE_VOUCHERS, PAYEE_CHANNELS, PAYER_CHANNELS, META];

// Integers are kept as decimal strings: the rows stay plain JSON-like data that any IndexedDB (and any
// devtools viewer) shows exactly, whatever its support for BigInt in structured clone.
interface ConfigRow {
  payer: string;
  payee: string;
  token: string;
  signer: string;
  closeDelay: string;
  salt: string;
}
interface VoucherRow {
  channelId: string;
  amount: string;
  signature: string;
}
interface PayeeChannelRow extends ConfigRow {
  channelId: string;
}
interface PayerChannelRow {
  channelId: string;
  chainId: string;
  contract: string;
  config: ConfigRow;
  sessionKey: string | null;
  signedAmount: string;
  signature: string | null;
}
interface MetaRow {
  key: string;
  value: string;
}

function configToRow(config: ChannelConfig): ConfigRow {
  return { ...config, closeDelay: config.closeDelay.toString() };
}

function configFromRow(row: ConfigRow): ChannelConfig {
  return {
    payer: row.payer as Address,
    payee: row.payee as Address,
    token: row.token as Address,
    signer: row.signer as Address,
    closeDelay: BigInt(row.closeDelay),
    salt: row.salt as Hex,
  };
}

function voucherFromRow(row: VoucherRow): StoredVoucher {
  return { channelId: row.channelId as Hex, amount: BigInt(row.amount), signature: row.signature as Hex };
}

function payerRecordToRow(record: PayerChannelRecord): PayerChannelRow {
  return {
    channelId: record.channelId,
    chainId: record.chainId.toString(),
    contract: record.contract,
    config: configToRow(record.config),
    sessionKey: record.sessionKey ?? null,
    signedAmount: record.signedAmount.toString(),
    signature: record.signature ?? null,
  };
}

function payerRecordFromRow(row: PayerChannelRow): PayerChannelRecord {
  const record: PayerChannelRecord = {
    channelId: row.channelId as Hex,
    chainId: BigInt(row.chainId),
    contract: row.contract as Address,
    config: configFromRow(row.config),
    signedAmount: BigInt(row.signedAmount),
  };
  if (row.sessionKey !== null) record.sessionKey = row.sessionKey as Hex;
  if (row.signature !== null) record.signature = row.signature as Hex;
  return record;
}

function requestResult<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function transactionDone(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error("IndexedDB transaction failed"));
    tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
  });
}

/** The keys one commit reads before it applies: every row its ops may compare with. */
function keysRead(ops: readonly WriteOp[]): { vouchers: Set<string>; payeeChannels: Set<string>; payerChannels: Set<string> } {
  const vouchers = new Set<string>();
  const payeeChannels = new Set<string>();
  const payerChannels = new Set<string>();
  for (const op of ops) {
    if (op.kind === "voucher") vouchers.add(op.voucher.channelId);
    else if (op.kind === "payeeChannel") payeeChannels.add(op.channelId);
    else if (op.kind === "payerChannel") payerChannels.add(op.record.channelId);
    else if (op.kind === "signed") payerChannels.add(op.channelId);
  }
  return { vouchers, payeeChannels, payerChannels };
}

interface Pending {
  op: WriteOp;
  resolve: (value: SaveVoucherResult | undefined) => void;
  reject: (error: Error) => void;
}

export interface IndexedDbStoreOptions {
  /** The IndexedDB factory; `globalThis.indexedDB` by default (tests pass `fake-indexeddb`'s). */
  indexedDB?: IDBFactory;
}

/**
 * A {@link PayerStore} (and {@link PayeeStore}, so one store can serve a page that is paid too) on
 * IndexedDB. Open it with `await IndexedDbStore.open("trickle")`; one database per name.
 */
export class IndexedDbStore implements PayeeStore, PayerStore {
  readonly #db: IDBDatabase;
  #pending: Pending[] = [];
  #scheduled = false;
  /** The commit in flight: commits run one after the other so each sees the one before it. */
  #running: Promise<void> = Promise.resolve();
  #closed = false;
  #commits = 0;

  private constructor(db: IDBDatabase) {
    this.#db = db;
  }

  /** Opens (creating when missing) the database `name`. */
  static async open(name: string, options: IndexedDbStoreOptions = {}): Promise<IndexedDbStore> {
    const factory = options.indexedDB ?? globalThis.indexedDB;
    if (factory === undefined) throw new StoreError("IndexedDB is not available here");
    if (typeof name !== "string" || name.length === 0) throw new StoreError("the database needs a name");
    let request: IDBOpenDBRequest;
    try {
      request = factory.open(name, BROWSER_SCHEMA_VERSION);
    } catch (cause) {
      // A newer layout makes open() throw a VersionError synchronously in some engines.
      throw new StoreError("cannot open the IndexedDB store", { name }, { cause });
    }
    request.onupgradeneeded = () => {
      const db = request.result;
      for (const store of [PAYEE_VOUCHERS, PAYEE_CHANNELS, PAYER_CHANNELS]) {
        if (!db.objectStoreNames.contains(store)) db.createObjectStore(store, { keyPath: "channelId" });
      }
      if (!db.objectStoreNames.contains(META)) db.createObjectStore(META, { keyPath: "key" });
    };
    let db: IDBDatabase;
    try {
      db = await requestResult(request);
    } catch (cause) {
      throw new StoreError("cannot open the IndexedDB store (a newer Trickle may have written it)", { name }, { cause });
    }
    // Another tab upgrading the layout must not wait on this one forever.
    db.onversionchange = () => db.close();
    return new IndexedDbStore(db);
  }

  /** Number of committed transactions since open (one per batch of concurrent writes). */
  get commits(): number {
    return this.#commits;
  }

  #submit(op: WriteOp): Promise<SaveVoucherResult | undefined> {
    if (this.#closed) return Promise.reject(new StoreError("the store is closed"));
    return new Promise((resolve, reject) => {
      this.#pending.push({ op, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // A macrotask, not a microtask, so that callers still in their own awaits this turn join the batch.
        setTimeout(() => {
          this.#running = this.#running.then(() => this.#flush());
        }, 0);
      }
    });
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    let outcomes: OpOutcome[];
    try {
      outcomes = await this.#commit(batch.map((p) => p.op));
      this.#commits++;
    } catch (cause) {
      const error = cause instanceof StoreError ? cause : new StoreError("the store could not commit", {}, { cause });
      for (const p of batch) p.reject(error);
      return;
    }
    outcomes.forEach((outcome, i) => {
      if (outcome.ok) batch[i].resolve(outcome.value);
      else batch[i].reject(outcome.error);
    });
  }

  /** One transaction: read the rows the ops compare with, decide with `applyBatch`, write, await `complete`. */
  #commit(ops: readonly WriteOp[]): Promise<OpOutcome[]> {
    const tx = this.#db.transaction(ALL_STORES, "readwrite", { durability: "strict" });
    const done = transactionDone(tx);
    const vouchersStore = tx.objectStore(PAYEE_VOUCHERS);
    const payerStore = tx.objectStore(PAYER_CHANNELS);
    const payeeStore = tx.objectStore(PAYEE_CHANNELS);
    const { vouchers, payeeChannels, payerChannels } = keysRead(ops);
    const knownPayeeChannels = new Set<string>();
    const best = new Map<string, bigint>();
    const payerRows = new Map<string, PayerChannelRecord>();
    let outcomes: OpOutcome[] | undefined;
    let failure: unknown;

    // Everything below runs inside request callbacks, so the transaction stays active throughout (no
    // reliance on when promise jobs run relative to IndexedDB's auto-commit).
    const apply = () => {
      const tables: StoreTables = {
        bestAmount: (id) => best.get(id),
        putBest: (voucher) => {
          best.set(voucher.channelId, voucher.amount);
          vouchersStore.put({ channelId: voucher.channelId, amount: voucher.amount.toString(), signature: voucher.signature } satisfies VoucherRow);
        },
        putPayeeChannel: (id, config) => {
          // The config of an id never changes: keep the first one stored.
          if (knownPayeeChannels.has(id)) return;
          knownPayeeChannels.add(id);
          payeeStore.put({ channelId: id, ...configToRow(config) } satisfies PayeeChannelRow);
        },
        putMeta: (key, value) => void tx.objectStore(META).put({ key, value } satisfies MetaRow),
        payerChannel: (id) => {
          const record = payerRows.get(id);
          return record && { ...record, config: { ...record.config } };
        },
        putPayerChannel: (record) => {
          payerRows.set(record.channelId, record);
          payerStore.put(payerRecordToRow(record));
        },
      };
      try {
        outcomes = applyBatch(ops, tables);
      } catch (error) {
        failure = error;
        tx.abort();
      }
    };

    let reads = vouchers.size + payeeChannels.size + payerChannels.size;
    const readDone = () => {
      if (--reads === 0) apply();
    };
    if (reads === 0) apply();
    for (const id of vouchers) {
      const request = vouchersStore.get(id) as IDBRequest<VoucherRow | undefined>;
      request.onsuccess = () => {
        if (request.result !== undefined) best.set(id, BigInt(request.result.amount));
        readDone();
      };
    }
    for (const id of payeeChannels) {
      const request = payeeStore.getKey(id);
      request.onsuccess = () => {
        if (request.result !== undefined) knownPayeeChannels.add(id);
        readDone();
      };
    }
    for (const id of payerChannels) {
      const request = payerStore.get(id) as IDBRequest<PayerChannelRow | undefined>;
      request.onsuccess = () => {
        if (request.result !== undefined) payerRows.set(id, payerRecordFromRow(request.result));
        readDone();
      };
    }
    return done.then(
      () => {
        if (outcomes === undefined) throw new StoreError("the transaction completed without a result");
        return outcomes;
      },
      (cause: unknown) => {
        throw failure ?? cause;
      },
    );
  }

  async #read<T>(store: string, key: string): Promise<T | undefined> {
    if (this.#closed) throw new StoreError("the store is closed");
    return (await requestResult(this.#db.transaction(store, "readonly").objectStore(store).get(key))) as T | undefined;
  }

  async #readAll<T>(store: string): Promise<T[]> {
    if (this.#closed) throw new StoreError("the store is closed");
    // getAll returns rows in key order: channel ids are stored lower-cased, so this is the id order.
    return (await requestResult(this.#db.transaction(store, "readonly").objectStore(store).getAll())) as T[];
  }

  async saveVoucherIfHigher(voucher: StoredVoucher): Promise<SaveVoucherResult> {
    const result = await this.#submit({ kind: "voucher", voucher: checkVoucher(voucher) });
    if (!result) throw new StoreError("no result for a voucher save");
    return result;
  }

  async bestVoucher(channelId: Hex): Promise<StoredVoucher | undefined> {
    const row = await this.#read<VoucherRow>(PAYEE_VOUCHERS, checkChannelId(channelId));
    return row && voucherFromRow(row);
  }

  async bestVouchers(): Promise<StoredVoucher[]> {
    return (await this.#readAll<VoucherRow>(PAYEE_VOUCHERS)).map(voucherFromRow);
  }

  async saveChannel(config: ChannelConfig): Promise<void> {
    const checked = checkConfig(config);
    await this.#submit({ kind: "payeeChannel", channelId: configId(checked), config: checked });
  }

  async channel(channelId: Hex): Promise<ChannelConfig | undefined> {
    const row = await this.#read<PayeeChannelRow>(PAYEE_CHANNELS, checkChannelId(channelId));
    return row && configFromRow(row);
  }

  async getMeta(key: string): Promise<string | undefined> {
    return (await this.#read<MetaRow>(META, checkMetaKey(key)))?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.#submit({ kind: "meta", key: checkMetaKey(key), value: checkMetaValue(value) });
  }

  async savePayerChannel(record: PayerChannelRecord): Promise<void> {
    await this.#submit({ kind: "payerChannel", record: checkPayerRecord(record) });
  }

  async payerChannel(channelId: Hex): Promise<PayerChannelRecord | undefined> {
    const row = await this.#read<PayerChannelRow>(PAYER_CHANNELS, checkChannelId(channelId));
    return row && payerRecordFromRow(row);
  }

  async payerChannels(): Promise<PayerChannelRecord[]> {
    return (await this.#readAll<PayerChannelRow>(PAYER_CHANNELS)).map(payerRecordFromRow);
  }

  async recordSigned(channelId: Hex, amount: bigint, signature: Hex): Promise<void> {
    await this.#submit({ kind: "signed", channelId: checkChannelId(channelId), amount: checkUint(amount, "amount"), signature: checkSignature(signature) });
  }

  /** Waits for every submitted write to settle, then closes the database. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // A scheduled flush chains onto #running from its timer: wait for the timer, then for the chain.
    while (this.#scheduled || this.#pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 0));
    await this.#running;
    this.#db.close();
  }
}
