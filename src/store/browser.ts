/// <reference lib="dom" />
// `trickle/store/browser`: the durable store of a payer in a web page, on IndexedDB. A page reload (or a
// crash of the tab) keeps the session key and the last signed amount, so the page goes on paying from the
// same channel and never signs one cumulative amount twice for different totals.
//
// Like the SQLite store, it is a store backend: one database holds the records of any number of
// deployments, every row keyed by (chainId, contract, channelId), and the Payer works on one
// deployment's view of it (`store.forDeployment({ chainId, contract })`).
//
// Every write goes through the same commit semantics as the SQLite store (`applyBatch`), inside one
// IndexedDB `readwrite` transaction opened with `durability: "strict"`: the promise resolves on the
// transaction's `complete` event, after the browser has flushed it. Rows are read inside that same
// transaction rather than from a cache, so two tabs of one origin writing the same channel are serialised
// by IndexedDB itself and neither can sign below what the other recorded.
//
// No Node built-in is used here: the file is bundled into web pages.
import type { Address, ChannelConfig, Hex } from "../channel.ts";
import { StoreError, StoreMigrationError } from "../errors.ts";
import { applyBatch, recordKey } from "./batch.ts";
import type { OpOutcome, OpValue, StoreTables, WriteOp } from "./batch.ts";
import { DeploymentStore, type KeyedStore } from "./deployment.ts";
import type { ChannelLedger, Deployment, PayerChannelRecord, StoreBackend, StoredVoucher, UnclaimedVoucher } from "./store.ts";
import { checkDeployment } from "./validate.ts";
import { encodeChain, optionalChain } from "./prepaid.ts";

/**
 * The layout this code reads and writes; a database of a newer layout is refused. Version 1 keyed rows
 * by channel id alone; version 2 keys every row by (chainId, contract, channelId) and adds the charge
 * ledgers and the claimed amounts.
 */
export const BROWSER_SCHEMA_VERSION = 2;

const PAYEE_VOUCHERS = "payeeVouchers";
const PAYEE_LEDGERS = "payeeLedgers";
const PAYEE_CLAIMS = "payeeClaims";
const PAYEE_CHANNELS = "payeeChannels";
const PAYER_CHANNELS = "payerChannels";
const META = "meta";
const CHANNEL_STORES = [PAYEE_VOUCHERS, PAYEE_LEDGERS, PAYEE_CLAIMS, PAYEE_CHANNELS, PAYER_CHANNELS];
const ALL_STORES = [...CHANNEL_STORES, META];
const CHANNEL_KEY = ["chainId", "contract", "channelId"];
const META_KEY = ["chainId", "contract", "key"];

// Integers are kept as decimal strings: the rows stay plain JSON-like data that any IndexedDB (and any
// devtools viewer) shows exactly, whatever its support for BigInt in structured clone. The chain id is a
// string too, and contracts are lower-cased, so a row's key is [chainId, contract, channelId or key].
interface Keyed {
  chainId: string;
  contract: string;
}
interface ConfigRow {
  payer: string;
  payee: string;
  token: string;
  signer: string;
  closeDelay: string;
  salt: string;
}
interface VoucherRow extends Keyed {
  channelId: string;
  amount: string;
  signature: string;
}
interface LedgerRow extends Keyed {
  channelId: string;
  served: string;
  floor: string;
  used: string[];
  /** The prepaid token chain ({@link encodeChain}); absent for none (and in rows of layout 2 before it). */
  prepaid?: string;
}
interface ClaimRow extends Keyed {
  channelId: string;
  claimed: string;
  finished: boolean;
}
interface PayeeChannelRow extends Keyed, ConfigRow {
  channelId: string;
}
interface PayerChannelRow extends Keyed {
  channelId: string;
  config: ConfigRow;
  sessionKey: string | null;
  signedAmount: string;
  signature: string | null;
}
interface MetaRow extends Keyed {
  key: string;
  value: string;
}

function keyed(d: Deployment): Keyed {
  return { chainId: d.chainId.toString(), contract: d.contract.toLowerCase() };
}

function rowKey(d: Deployment, id: string): [string, string, string] {
  return [d.chainId.toString(), d.contract.toLowerCase(), id];
}

/**
 * Every key of deployment `d`: arrays sort after strings, so `[chainId, contract, []]` is above them all.
 * Undefined without an `IDBKeyRange` (the caller then filters every row).
 */
function deploymentRange(keyRange: typeof IDBKeyRange | undefined, d: Deployment): IDBKeyRange | undefined {
  const { chainId, contract } = keyed(d);
  return keyRange?.bound([chainId, contract], [chainId, contract, []]);
}

/** The rows of `d` among `rows` (a no-op on rows already read through {@link deploymentRange}). */
function ofDeployment<T extends Keyed>(rows: T[], d: Deployment): T[] {
  const { chainId, contract } = keyed(d);
  return rows.filter((row) => row.chainId === chainId && row.contract === contract);
}

function configToRow(config: ChannelConfig): ConfigRow {
  return {
    payer: config.payer,
    payee: config.payee,
    token: config.token,
    signer: config.signer,
    closeDelay: config.closeDelay.toString(),
    salt: config.salt,
  };
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

function ledgerToRow(d: Deployment, channelId: Hex, ledger: ChannelLedger): LedgerRow {
  const row: LedgerRow = { ...keyed(d), channelId, served: ledger.served.toString(), floor: ledger.floor.toString(), used: ledger.used.map(String) };
  if (ledger.prepaid !== undefined) row.prepaid = encodeChain(ledger.prepaid);
  return row;
}

function ledgerFromRow(row: LedgerRow): ChannelLedger {
  return { served: BigInt(row.served), floor: BigInt(row.floor), used: row.used.map((amount) => BigInt(amount)), ...optionalChain(row.prepaid ?? "") };
}

function payerRecordToRow(d: Deployment, record: PayerChannelRecord): PayerChannelRow {
  return {
    ...keyed(d),
    channelId: record.channelId,
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

/** The rows one commit reads before it applies (every row its ops may compare with), by object store. */
function keysRead(ops: readonly WriteOp[]): Map<string, Map<string, { d: Deployment; id: Hex }>> {
  const reads = new Map<string, Map<string, { d: Deployment; id: Hex }>>(CHANNEL_STORES.map((store) => [store, new Map()]));
  const add = (store: string, d: Deployment, id: Hex) => reads.get(store)?.set(recordKey(d, id), { d, id });
  for (const op of ops) {
    const d = op.deployment;
    if (op.kind === "voucher" || op.kind === "charge") {
      add(PAYEE_VOUCHERS, d, op.voucher.channelId);
      add(PAYEE_LEDGERS, d, op.voucher.channelId);
    } else if (op.kind === "payeeChannel") add(PAYEE_CHANNELS, d, op.channelId);
    else if (op.kind === "payerChannel") add(PAYER_CHANNELS, d, op.record.channelId);
    else if (op.kind === "signed") add(PAYER_CHANNELS, d, op.channelId);
    else if (op.kind === "claimed") add(PAYEE_CLAIMS, d, op.channelId);
  }
  return reads;
}

interface Pending {
  op: WriteOp;
  resolve: (value: OpValue) => void;
  reject: (error: Error) => void;
}

export interface IndexedDbStoreOptions {
  /** The IndexedDB factory; `globalThis.indexedDB` by default (tests pass `fake-indexeddb`'s). */
  indexedDB?: IDBFactory;
  /** The key range class of that factory; `globalThis.IDBKeyRange` by default. Without one, listings read every row. */
  IDBKeyRange?: typeof IDBKeyRange;
  /**
   * The deployment that the payee records of a version-1 database belong to. Version 1 keyed payee
   * records by channel id alone; only the page knows the chain it used. Needed once, to migrate a
   * database that holds payee records (a `STORE_MIGRATION` error says so); ignored afterwards. Payer
   * records carry their deployment and migrate without it.
   */
  legacyDeployment?: Deployment;
}

/** Version 1 to 2, inside the upgrade transaction: reads every v1 row, recreates the stores keyed by deployment. */
function migrateV1(db: IDBDatabase, tx: IDBTransaction, legacy: Deployment | undefined, fail: (error: Error) => void): void {
  const v1Stores = [PAYEE_VOUCHERS, PAYEE_CHANNELS, PAYER_CHANNELS, META].filter((store) => db.objectStoreNames.contains(store));
  const rows = new Map<string, Record<string, unknown>[]>();
  let reads = v1Stores.length;
  const migrate = () => {
    const payeeRows = (rows.get(PAYEE_VOUCHERS)?.length ?? 0) + (rows.get(PAYEE_CHANNELS)?.length ?? 0) + (rows.get(META)?.length ?? 0);
    if (payeeRows > 0 && legacy === undefined) {
      fail(
        new StoreMigrationError(
          "the database predates chain keying and holds payee records: open it once with legacyDeployment (the chain id and contract it was used with)",
          { payeeRows },
        ),
      );
      tx.abort();
      return;
    }
    for (const store of v1Stores) db.deleteObjectStore(store);
    createStores(db);
    const scope = legacy ? keyed(legacy) : { chainId: "", contract: "" };
    for (const row of rows.get(PAYEE_VOUCHERS) ?? []) tx.objectStore(PAYEE_VOUCHERS).put({ ...row, ...scope });
    for (const row of rows.get(PAYEE_CHANNELS) ?? []) tx.objectStore(PAYEE_CHANNELS).put({ ...row, ...scope });
    for (const row of rows.get(META) ?? []) tx.objectStore(META).put({ ...row, ...scope });
    for (const row of rows.get(PAYER_CHANNELS) ?? []) {
      tx.objectStore(PAYER_CHANNELS).put({ ...row, contract: String(row.contract).toLowerCase() });
    }
  };
  if (reads === 0) migrate();
  for (const store of v1Stores) {
    const request = tx.objectStore(store).getAll();
    request.onsuccess = () => {
      rows.set(store, request.result as Record<string, unknown>[]);
      if (--reads === 0) migrate();
    };
  }
}

function createStores(db: IDBDatabase): void {
  for (const store of CHANNEL_STORES) {
    if (!db.objectStoreNames.contains(store)) db.createObjectStore(store, { keyPath: CHANNEL_KEY });
  }
  if (!db.objectStoreNames.contains(META)) db.createObjectStore(META, { keyPath: META_KEY });
}

/**
 * A {@link StoreBackend} on IndexedDB: the payer's store in a web page (and the payee's, so one store can
 * serve a page that is paid too). Open it with `await IndexedDbStore.open("trickle")` (one database per
 * name), then work on `store.forDeployment({ chainId, contract })`.
 */
export class IndexedDbStore implements StoreBackend, KeyedStore {
  readonly #db: IDBDatabase;
  readonly #keyRange: typeof IDBKeyRange | undefined;
  #pending: Pending[] = [];
  #scheduled = false;
  /** The commit in flight: commits run one after the other so each sees the one before it. */
  #running: Promise<void> = Promise.resolve();
  #closed = false;
  #commits = 0;

  private constructor(db: IDBDatabase, keyRange: typeof IDBKeyRange | undefined) {
    this.#db = db;
    this.#keyRange = keyRange;
  }

  /** Opens (creating or migrating when needed) the database `name`. */
  static async open(name: string, options: IndexedDbStoreOptions = {}): Promise<IndexedDbStore> {
    const factory = options.indexedDB ?? globalThis.indexedDB;
    if (factory === undefined) throw new StoreError("IndexedDB is not available here");
    if (typeof name !== "string" || name.length === 0) throw new StoreError("the database needs a name");
    const legacy = options.legacyDeployment && checkDeployment(options.legacyDeployment);
    let request: IDBOpenDBRequest;
    try {
      request = factory.open(name, BROWSER_SCHEMA_VERSION);
    } catch (cause) {
      // A newer layout makes open() throw a VersionError synchronously in some engines.
      throw new StoreError("cannot open the IndexedDB store", { name }, { cause });
    }
    let migrationError: Error | undefined;
    request.onupgradeneeded = (event) => {
      const db = request.result;
      const tx = request.transaction as IDBTransaction;
      if (event.oldVersion >= 1 && event.oldVersion < 2) migrateV1(db, tx, legacy, (error) => (migrationError = error));
      else createStores(db);
    };
    let db: IDBDatabase;
    try {
      db = await requestResult(request);
    } catch (cause) {
      if (migrationError) throw migrationError;
      throw new StoreError("cannot open the IndexedDB store (a newer Trickle may have written it)", { name }, { cause });
    }
    // Another tab upgrading the layout must not wait on this one forever.
    db.onversionchange = () => db.close();
    return new IndexedDbStore(db, options.IDBKeyRange ?? (globalThis as { IDBKeyRange?: typeof IDBKeyRange }).IDBKeyRange);
  }

  /** The view of one deployment's records: what the Payer (or the Payee) holds. */
  forDeployment(deployment: Deployment): DeploymentStore {
    return new DeploymentStore(this, deployment);
  }

  /** Number of committed transactions since open (one per batch of concurrent writes). */
  get commits(): number {
    return this.#commits;
  }

  submit(op: WriteOp): Promise<OpValue> {
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
    const store = (name: string) => tx.objectStore(name);
    // The rows of this commit, by object store then recordKey: read first, then kept up to date by the writes.
    const rows = new Map<string, Map<string, unknown>>(CHANNEL_STORES.map((name) => [name, new Map()]));
    const row = <T>(name: string, d: Deployment, id: string) => rows.get(name)?.get(recordKey(d, id)) as T | undefined;
    const put = (name: string, d: Deployment, id: string, value: object) => {
      rows.get(name)?.set(recordKey(d, id), value);
      store(name).put(value);
    };
    let outcomes: OpOutcome[] | undefined;
    let failure: unknown;

    // Everything below runs inside request callbacks, so the transaction stays active throughout (no
    // reliance on when promise jobs run relative to IndexedDB's auto-commit).
    const apply = () => {
      const tables: StoreTables = {
        bestAmount: (d, id) => {
          const best = row<VoucherRow>(PAYEE_VOUCHERS, d, id);
          return best && BigInt(best.amount);
        },
        putBest: (d, voucher) =>
          put(PAYEE_VOUCHERS, d, voucher.channelId, {
            ...keyed(d),
            channelId: voucher.channelId,
            amount: voucher.amount.toString(),
            signature: voucher.signature,
          } satisfies VoucherRow),
        ledger: (d, id) => {
          const ledger = row<LedgerRow>(PAYEE_LEDGERS, d, id);
          return ledger && ledgerFromRow(ledger);
        },
        putLedger: (d, id, ledger) => put(PAYEE_LEDGERS, d, id, ledgerToRow(d, id, ledger)),
        putPayeeChannel: (d, id, config) => {
          // The config of an id never changes: keep the first one stored.
          if (row(PAYEE_CHANNELS, d, id) !== undefined) return;
          put(PAYEE_CHANNELS, d, id, { ...keyed(d), channelId: id, ...configToRow(config) } satisfies PayeeChannelRow);
        },
        putMeta: (d, key, value) => void store(META).put({ ...keyed(d), key, value } satisfies MetaRow),
        payerChannel: (d, id) => {
          const record = row<PayerChannelRow>(PAYER_CHANNELS, d, id);
          return record && payerRecordFromRow(record);
        },
        putPayerChannel: (d, record) => put(PAYER_CHANNELS, d, record.channelId, payerRecordToRow(d, record)),
        putClaimed: (d, id, claimed, finished) => {
          const old = row<ClaimRow>(PAYEE_CLAIMS, d, id);
          const oldClaimed = old === undefined ? 0n : BigInt(old.claimed);
          put(PAYEE_CLAIMS, d, id, {
            ...keyed(d),
            channelId: id,
            claimed: (old !== undefined && oldClaimed > claimed ? oldClaimed : claimed).toString(),
            finished: finished || (old?.finished ?? false),
          } satisfies ClaimRow);
        },
      };
      try {
        outcomes = applyBatch(ops, tables);
      } catch (error) {
        failure = error;
        tx.abort();
      }
    };

    const wanted = keysRead(ops);
    let reads = [...wanted.values()].reduce((n, keys) => n + keys.size, 0);
    if (reads === 0) apply();
    for (const [name, keys] of wanted) {
      for (const [key, { d, id }] of keys) {
        const request = store(name).get(rowKey(d, id));
        request.onsuccess = () => {
          if (request.result !== undefined) rows.get(name)?.set(key, request.result);
          if (--reads === 0) apply();
        };
      }
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

  async #get<T>(name: string, key: IDBValidKey): Promise<T | undefined> {
    if (this.#closed) throw new StoreError("the store is closed");
    return (await requestResult(this.#db.transaction(name, "readonly").objectStore(name).get(key))) as T | undefined;
  }

  /** Every row of `d` in `name`, in key order: channel ids are lower-cased, so this is the id order. */
  async #all<T extends Keyed>(name: string, d: Deployment): Promise<T[]> {
    if (this.#closed) throw new StoreError("the store is closed");
    const rows = await requestResult(this.#db.transaction(name, "readonly").objectStore(name).getAll(deploymentRange(this.#keyRange, d)));
    return ofDeployment(rows as T[], d);
  }

  async chargeLedger(d: Deployment, channelId: Hex): Promise<ChannelLedger | undefined> {
    const row = await this.#get<LedgerRow>(PAYEE_LEDGERS, rowKey(d, channelId));
    return row && ledgerFromRow(row);
  }

  async bestVoucher(d: Deployment, channelId: Hex): Promise<StoredVoucher | undefined> {
    const row = await this.#get<VoucherRow>(PAYEE_VOUCHERS, rowKey(d, channelId));
    return row && voucherFromRow(row);
  }

  async bestVouchers(d: Deployment): Promise<StoredVoucher[]> {
    return (await this.#all<VoucherRow>(PAYEE_VOUCHERS, d)).map(voucherFromRow);
  }

  async unclaimedVouchers(d: Deployment): Promise<UnclaimedVoucher[]> {
    if (this.#closed) throw new StoreError("the store is closed");
    // One readonly transaction, so the vouchers and the claims are read from one state.
    const tx = this.#db.transaction([PAYEE_VOUCHERS, PAYEE_CLAIMS], "readonly");
    const [vouchers, claims] = await Promise.all([
      requestResult(tx.objectStore(PAYEE_VOUCHERS).getAll(deploymentRange(this.#keyRange, d))) as Promise<VoucherRow[]>,
      requestResult(tx.objectStore(PAYEE_CLAIMS).getAll(deploymentRange(this.#keyRange, d))) as Promise<ClaimRow[]>,
    ]).then(([v, c]) => [ofDeployment(v, d), ofDeployment(c, d)] as const);
    const claimsById = new Map(claims.map((claim) => [claim.channelId, claim]));
    const unclaimed: UnclaimedVoucher[] = [];
    for (const row of vouchers) {
      const claim = claimsById.get(row.channelId);
      const claimed = claim === undefined ? 0n : BigInt(claim.claimed);
      const voucher = voucherFromRow(row);
      if (claim?.finished !== true && voucher.amount > claimed) unclaimed.push({ ...voucher, claimed });
    }
    return unclaimed;
  }

  async channel(d: Deployment, channelId: Hex): Promise<ChannelConfig | undefined> {
    const row = await this.#get<PayeeChannelRow>(PAYEE_CHANNELS, rowKey(d, channelId));
    return row && configFromRow(row);
  }

  async getMeta(d: Deployment, key: string): Promise<string | undefined> {
    return (await this.#get<MetaRow>(META, rowKey(d, key)))?.value;
  }

  async payerChannel(d: Deployment, channelId: Hex): Promise<PayerChannelRecord | undefined> {
    const row = await this.#get<PayerChannelRow>(PAYER_CHANNELS, rowKey(d, channelId));
    return row && payerRecordFromRow(row);
  }

  async payerChannels(d: Deployment): Promise<PayerChannelRecord[]> {
    return (await this.#all<PayerChannelRow>(PAYER_CHANNELS, d)).map(payerRecordFromRow);
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
