// The in-memory store, for tests and demos. It shares the write path of the SQLite and PostgreSQL stores
// (same validation, same group commit, same batch semantics), so a test on it shows what production
// does; only durability differs: everything is gone with the process.
import type { ChannelConfig, Hex } from "../channel.ts";
import { applyBatch, copyLedger, recordKey } from "./batch.ts";
import type { StoreTables, WriteOp } from "./batch.ts";
import { DeploymentStore, type KeyedStore } from "./deployment.ts";
import { GroupCommit } from "./group-commit.ts";
import type { OpValue } from "./batch.ts";
import type { ChannelLedger, Deployment, PayerChannelRecord, StoreBackend, StoredVoucher, UnclaimedVoucher } from "./store.ts";

function copyRecord(record: PayerChannelRecord): PayerChannelRecord {
  return { ...record, config: { ...record.config } };
}

function byChannelId<T extends { channelId: Hex }>(a: T, b: T): number {
  return a.channelId < b.channelId ? -1 : 1;
}

interface Claimed {
  claimed: bigint;
  finished: boolean;
}

export class MemoryStore implements StoreBackend, KeyedStore {
  // Every map is keyed by recordKey(deployment, id); `scope` lists a deployment's keys for the listings.
  readonly #best = new Map<string, StoredVoucher>();
  readonly #claimed = new Map<string, Claimed>();
  readonly #payeeChannels = new Map<string, ChannelConfig>();
  readonly #ledgers = new Map<string, ChannelLedger>();
  readonly #meta = new Map<string, string>();
  readonly #payerChannels = new Map<string, PayerChannelRecord>();
  readonly #writes: GroupCommit;

  constructor() {
    this.#writes = new GroupCommit((ops) => this.#commit(ops));
  }

  forDeployment(deployment: Deployment): DeploymentStore {
    return new DeploymentStore(this, deployment);
  }

  /** Number of group commits so far (one per batch of concurrent writes). */
  get commits(): number {
    return this.#writes.commits;
  }

  #commit(ops: readonly WriteOp[]) {
    // An undo journal, so a batch that throws half-way changes nothing (as a rolled-back transaction).
    const undo: (() => void)[] = [];
    const put = <V>(map: Map<string, V>, key: string, value: V) => {
      const had = map.has(key);
      const old = map.get(key);
      undo.push(() => (had ? map.set(key, old as V) : map.delete(key)));
      map.set(key, value);
    };
    const tables: StoreTables = {
      bestAmount: (d, id) => this.#best.get(recordKey(d, id))?.amount,
      putBest: (d, voucher) => put(this.#best, recordKey(d, voucher.channelId), { ...voucher }),
      ledger: (d, id) => {
        const ledger = this.#ledgers.get(recordKey(d, id));
        return ledger && copyLedger(ledger);
      },
      putLedger: (d, id, ledger) => put(this.#ledgers, recordKey(d, id), copyLedger(ledger)),
      putPayeeChannel: (d, id, config) => {
        if (!this.#payeeChannels.has(recordKey(d, id))) put(this.#payeeChannels, recordKey(d, id), { ...config });
      },
      putMeta: (d, key, value) => put(this.#meta, recordKey(d, key), value),
      payerChannel: (d, id) => {
        const record = this.#payerChannels.get(recordKey(d, id));
        return record && copyRecord(record);
      },
      putPayerChannel: (d, record) => put(this.#payerChannels, recordKey(d, record.channelId), copyRecord(record)),
      putClaimed: (d, id, claimed, finished) => {
        const key = recordKey(d, id);
        const old = this.#claimed.get(key);
        put(this.#claimed, key, {
          claimed: old !== undefined && old.claimed > claimed ? old.claimed : claimed,
          finished: finished || (old?.finished ?? false),
        });
      },
    };
    try {
      return applyBatch(ops, tables);
    } catch (error) {
      for (const revert of undo.reverse()) revert();
      throw error;
    }
  }

  /** The entries of `map` that belong to `d`, by channel id. */
  #scoped<V>(map: Map<string, V>, d: Deployment): V[] {
    const prefix = recordKey(d, "");
    return [...map].filter(([key]) => key.startsWith(prefix)).map(([, value]) => value);
  }

  submit(op: WriteOp): Promise<OpValue> {
    return this.#writes.submit(op);
  }

  async chargeLedger(d: Deployment, channelId: Hex): Promise<ChannelLedger | undefined> {
    const ledger = this.#ledgers.get(recordKey(d, channelId));
    return ledger && copyLedger(ledger);
  }

  async bestVoucher(d: Deployment, channelId: Hex): Promise<StoredVoucher | undefined> {
    const best = this.#best.get(recordKey(d, channelId));
    return best && { ...best };
  }

  async bestVouchers(d: Deployment): Promise<StoredVoucher[]> {
    return this.#scoped(this.#best, d).map((voucher) => ({ ...voucher })).sort(byChannelId);
  }

  async unclaimedVouchers(d: Deployment): Promise<UnclaimedVoucher[]> {
    const unclaimed: UnclaimedVoucher[] = [];
    for (const voucher of this.#scoped(this.#best, d)) {
      const settled = this.#claimed.get(recordKey(d, voucher.channelId));
      const claimed = settled?.claimed ?? 0n;
      if (settled?.finished !== true && voucher.amount > claimed) unclaimed.push({ ...voucher, claimed });
    }
    return unclaimed.sort(byChannelId);
  }

  async channel(d: Deployment, channelId: Hex): Promise<ChannelConfig | undefined> {
    const config = this.#payeeChannels.get(recordKey(d, channelId));
    return config && { ...config };
  }

  async getMeta(d: Deployment, key: string): Promise<string | undefined> {
    return this.#meta.get(recordKey(d, key));
  }

  async payerChannel(d: Deployment, channelId: Hex): Promise<PayerChannelRecord | undefined> {
    const record = this.#payerChannels.get(recordKey(d, channelId));
    return record && copyRecord(record);
  }

  async payerChannels(d: Deployment): Promise<PayerChannelRecord[]> {
    return this.#scoped(this.#payerChannels, d).map(copyRecord).sort(byChannelId);
  }

  async close(): Promise<void> {
    await this.#writes.close();
  }
}
