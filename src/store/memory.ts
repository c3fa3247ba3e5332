// The in-memory store, for tests and demos. It shares the write path of the SQLite store (same
// validation, same group commit, same batch semantics), so a test on it shows what production does;
// only durability differs: everything is gone with the process.
import type { ChannelConfig, Hex } from "../channel.ts";
import { StoreError } from "../errors.ts";
import { applyBatch } from "./batch.ts";
import type { StoreTables, WriteOp } from "./batch.ts";
import { GroupCommit } from "./group-commit.ts";
import type { ChannelLedger, ChargeResult, PayeeStore, PayerChannelRecord, PayerStore, SaveVoucherResult, StoredVoucher } from "./store.ts";
import { checkChannelId, checkConfig, checkPrice, checkMetaKey, checkMetaValue, checkPayerRecord, checkSignature, checkUint, checkVoucher, configId } from "./validate.ts";

function copyRecord(record: PayerChannelRecord): PayerChannelRecord {
  return { ...record, config: { ...record.config } };
}

export class MemoryStore implements PayeeStore, PayerStore {
  readonly #best = new Map<Hex, StoredVoucher>();
  readonly #payeeChannels = new Map<Hex, ChannelConfig>();
  readonly #ledgers = new Map<Hex, ChannelLedger>();
  readonly #meta = new Map<string, string>();
  readonly #payerChannels = new Map<Hex, PayerChannelRecord>();
  readonly #writes: GroupCommit;

  constructor() {
    this.#writes = new GroupCommit((ops) => this.#commit(ops));
  }

  /** Number of group commits so far (one per batch of concurrent writes). */
  get commits(): number {
    return this.#writes.commits;
  }

  #commit(ops: readonly WriteOp[]) {
    // An undo journal, so a batch that throws half-way changes nothing (as a rolled-back transaction).
    const undo: (() => void)[] = [];
    const put = <K, V>(map: Map<K, V>, key: K, value: V) => {
      const had = map.has(key);
      const old = map.get(key);
      undo.push(() => (had ? map.set(key, old as V) : map.delete(key)));
      map.set(key, value);
    };
    const tables: StoreTables = {
      bestAmount: (id) => this.#best.get(id)?.amount,
      putBest: (voucher) => put(this.#best, voucher.channelId, { ...voucher }),
      ledger: (id) => {
        const ledger = this.#ledgers.get(id);
        return ledger && { ...ledger, used: [...ledger.used] };
      },
      putLedger: (id, ledger) => put(this.#ledgers, id, { ...ledger, used: [...ledger.used] }),
      putPayeeChannel: (id, config) => {
        if (!this.#payeeChannels.has(id)) put(this.#payeeChannels, id, { ...config });
      },
      putMeta: (key, value) => put(this.#meta, key, value),
      payerChannel: (id) => {
        const record = this.#payerChannels.get(id);
        return record && copyRecord(record);
      },
      putPayerChannel: (record) => put(this.#payerChannels, record.channelId, copyRecord(record)),
    };
    try {
      return applyBatch(ops, tables);
    } catch (error) {
      for (const revert of undo.reverse()) revert();
      throw error;
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
    const ledger = this.#ledgers.get(checkChannelId(channelId));
    return ledger && { ...ledger, used: [...ledger.used] };
  }

  async bestVoucher(channelId: Hex): Promise<StoredVoucher | undefined> {
    const best = this.#best.get(checkChannelId(channelId));
    return best && { ...best };
  }

  async bestVouchers(): Promise<StoredVoucher[]> {
    return [...this.#best.values()].map((voucher) => ({ ...voucher })).sort((a, b) => (a.channelId < b.channelId ? -1 : 1));
  }

  async saveChannel(config: ChannelConfig): Promise<void> {
    const checked = checkConfig(config);
    await this.#writes.submit({ kind: "payeeChannel", channelId: configId(checked), config: checked });
  }

  async channel(channelId: Hex): Promise<ChannelConfig | undefined> {
    const config = this.#payeeChannels.get(checkChannelId(channelId));
    return config && { ...config };
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.#meta.get(checkMetaKey(key));
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.#writes.submit({ kind: "meta", key: checkMetaKey(key), value: checkMetaValue(value) });
  }

  async savePayerChannel(record: PayerChannelRecord): Promise<void> {
    await this.#writes.submit({ kind: "payerChannel", record: checkPayerRecord(record) });
  }

  async payerChannel(channelId: Hex): Promise<PayerChannelRecord | undefined> {
    const record = this.#payerChannels.get(checkChannelId(channelId));
    return record && copyRecord(record);
  }

  async payerChannels(): Promise<PayerChannelRecord[]> {
    return [...this.#payerChannels.values()].map(copyRecord).sort((a, b) => (a.channelId < b.channelId ? -1 : 1));
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
    await this.#writes.close();
  }
}
