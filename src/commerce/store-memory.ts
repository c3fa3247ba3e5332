// The in-memory commerce store, for tests and demos: a MemoryStore for everything the Payee keeps, and
// the sales beside it. Every voucher write (a sale's or a plain one) runs under one lock, so a sale's
// read-check-write of the channel's best voucher cannot interleave with another write: the same
// atomicity a database transaction gives, within one process.
import type { Address, ChannelConfig, Hex } from "../channel.ts";
import { StoreError } from "../errors.ts";
import { MemoryStore } from "../store/memory.ts";
import type { SaveVoucherResult, StoredVoucher } from "../store/store.ts";
import { checkChannelId } from "../store/validate.ts";
import type { Receipt } from "./receipt.ts";
import { ChargingStore, type Charge, type CommerceStore, type CommitOutcome } from "./store.ts";
import { checkChargeInput } from "./validate.ts";

export class MemoryCommerceStore extends ChargingStore implements CommerceStore {
  readonly #inner = new MemoryStore();
  readonly #charges = new Map<string, Charge>();
  readonly #credit = new Map<Hex, bigint>();
  #lock: Promise<unknown> = Promise.resolve();
  #open = true;

  #serial<T>(run: () => Promise<T>): Promise<T> {
    if (!this.#open) return Promise.reject(new StoreError("the store is closed"));
    const next = this.#lock.then(run, run);
    this.#lock = next.catch(() => undefined);
    return next;
  }

  commitCharge(voucher: StoredVoucher, receipt: Receipt): Promise<CommitOutcome> {
    const input = checkChargeInput(voucher, receipt);
    return this.#serial(async () => {
      const key = `${input.receipt.payer}\n${input.receipt.key}`;
      const existing = this.#charges.get(key);
      if (existing?.status === "charged") return { status: "duplicate", receipt: { ...existing.receipt } };
      const best = (await this.#inner.bestVoucher(input.voucher.channelId))?.amount ?? 0n;
      if (input.voucher.amount <= best) return { status: "not-increasing", best };
      const credit = this.#credit.get(input.voucher.channelId) ?? 0n;
      const available = input.voucher.amount - best + credit;
      if (available < input.receipt.price) return { status: "insufficient", available };
      const saved = await this.#inner.saveVoucherIfHigher(input.voucher);
      if (!saved.stored) throw new StoreError("a voucher write ran outside the commerce lock");
      this.#charges.set(key, { receipt: input.receipt, status: "charged" });
      this.#credit.set(input.voucher.channelId, available - input.receipt.price);
      return { status: "charged", previousAmount: best, credit: available - input.receipt.price };
    });
  }

  protected savePlainVoucher(voucher: StoredVoucher): Promise<SaveVoucherResult> {
    return this.#serial(() => this.#inner.saveVoucherIfHigher(voucher));
  }

  voidCharge(payer: Address, key: string): Promise<bigint | undefined> {
    return this.#serial(async () => {
      const charge = this.#charges.get(`${payer.toLowerCase()}\n${key}`);
      if (charge?.status !== "charged") return undefined;
      const channelId = charge.receipt.channelId;
      const credit = (this.#credit.get(channelId) ?? 0n) + charge.receipt.price;
      charge.status = "voided";
      this.#credit.set(channelId, credit);
      return credit;
    });
  }

  async charge(payer: Address, key: string): Promise<Charge | undefined> {
    const charge = this.#charges.get(`${payer.toLowerCase()}\n${key}`);
    return charge && { receipt: { ...charge.receipt }, status: charge.status };
  }

  async receiptsOf(payer: Address): Promise<Receipt[]> {
    const who = payer.toLowerCase();
    return sortCharges([...this.#charges.values()].filter((c) => c.status === "charged" && c.receipt.payer === who)).map((c) => ({ ...c.receipt }));
  }

  async chargesBetween(from: bigint, to: bigint): Promise<Charge[]> {
    return sortCharges([...this.#charges.values()].filter((c) => c.receipt.issuedAt >= from && c.receipt.issuedAt < to)).map((c) => ({
      receipt: { ...c.receipt },
      status: c.status,
    }));
  }

  async credit(channelId: Hex): Promise<bigint> {
    return this.#credit.get(checkChannelId(channelId)) ?? 0n;
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
    await this.#lock;
    this.#open = false;
    await this.#inner.close();
  }
}

/** Oldest first; ties by payer then key, so every store lists the same charges in the same order. */
export function sortCharges(charges: Charge[]): Charge[] {
  return charges.sort((a, b) =>
    a.receipt.issuedAt !== b.receipt.issuedAt
      ? a.receipt.issuedAt < b.receipt.issuedAt ? -1 : 1
      : a.receipt.payer !== b.receipt.payer
        ? a.receipt.payer < b.receipt.payer ? -1 : 1
        : a.receipt.key < b.receipt.key ? -1 : a.receipt.key > b.receipt.key ? 1 : 0,
  );
}
