/**
 * The commerce ledger: every sale (purchase or subscription period) as a signed receipt, stored in the
 * same transaction as the voucher that paid for it. A `CommerceStore` is also the Payee's store, so the
 * Payee stays the one owner of voucher acceptance and the store the one owner of what was sold.
 *
 * Implementations: `MemoryCommerceStore` (tests), `SqliteCommerceStore` (`trickle/commerce/sqlite`). One for
 * PostgreSQL implements {@link CommerceStore.commitCharge} as one transaction: lock the channel's voucher
 * row (`SELECT ... FOR UPDATE`), read the charge by `(payer, key)` (a primary key), check, write both.
 */
import type { Address, Hex } from "../channel.ts";
import { InsufficientPaymentError } from "../errors.ts";
import type { PayeeStore, SaveVoucherResult, StoredVoucher } from "../store/store.ts";
import type { Receipt } from "./receipt.ts";

/** A stored sale: its receipt, and whether it stands or was voided (its handler failed; its price became credit). */
export interface Charge {
  receipt: Receipt;
  status: "charged" | "voided";
}

/**
 * What {@link CommerceStore.commitCharge} did, atomically:
 * - `charged`: the voucher is the channel's best and the receipt is stored; `credit` is what is left on the channel.
 * - `duplicate`: this payer already has a standing charge with this key: nothing was written; `receipt` is the stored one.
 * - `not-increasing`: the voucher is not above the stored best (`best`): nothing was written.
 * - `insufficient`: the voucher's increment plus the channel's credit (`available`) is below the price: nothing was written.
 */
export type CommitOutcome =
  | { status: "charged"; previousAmount: bigint; credit: bigint }
  | { status: "duplicate"; receipt: Receipt }
  | { status: "not-increasing"; best: bigint }
  | { status: "insufficient"; available: bigint };

export interface CommerceStore extends PayeeStore {
  /**
   * In one transaction: unless `(receipt.payer, receipt.key)` already has a standing charge, and if
   * `voucher.amount - best + credit >= receipt.price`, stores the voucher as the channel's best, stores the
   * charge (replacing a voided one with the same key), and sets the channel's credit to the rest. Durable
   * before it resolves. The receipt's `channelId` and `cumulativeAmount` must be the voucher's.
   */
  commitCharge(voucher: StoredVoucher, receipt: Receipt): Promise<CommitOutcome>;
  /** In one transaction: marks a standing charge voided and adds its price to its channel's credit. Returns the new credit, or undefined when there was no standing charge. */
  voidCharge(payer: Address, key: string): Promise<bigint | undefined>;
  /** The charge of `(payer, key)`, standing or voided. */
  charge(payer: Address, key: string): Promise<Charge | undefined>;
  /** Every standing receipt of a payer, oldest first (what "restore purchases" returns). */
  receiptsOf(payer: Address): Promise<Receipt[]>;
  /** Every charge issued in `[from, to)` (unix seconds), standing and voided, oldest first. */
  chargesBetween(from: bigint, to: bigint): Promise<Charge[]>;
  /** The value a channel's vouchers paid beyond the prices charged (overpayment, voided charges). */
  credit(channelId: Hex): Promise<bigint>;
  /** See {@link ChargingStore.chargeThrough}; implementations extend ChargingStore to get it. */
  chargeThrough(voucher: StoredVoucher, receipt: Receipt, accept: () => Promise<unknown>): Promise<{ outcome?: CommitOutcome; error?: unknown }>;
}

function routeKey(voucher: StoredVoucher): string {
  return `${voucher.channelId.toLowerCase()}:${voucher.amount}:${voucher.signature.toLowerCase()}`;
}

/**
 * The glue that lets a sale go through `Payee.accept` unchanged: the caller registers the receipt a voucher
 * pays for, and when the Payee, after every check, saves that voucher, the save becomes `commitCharge`.
 * Vouchers nobody registered (plain paid requests) are saved as usual.
 */
export abstract class ChargingStore {
  readonly #routes = new Map<string, { receipt: Receipt; outcome?: CommitOutcome; done: Promise<unknown> }>();

  abstract commitCharge(voucher: StoredVoucher, receipt: Receipt): Promise<CommitOutcome>;
  protected abstract savePlainVoucher(voucher: StoredVoucher): Promise<SaveVoucherResult>;

  /**
   * Runs `accept` (a `Payee.accept` of `voucher`) with `voucher` routed to {@link commitCharge} for
   * `receipt`. Returns what the commit did (undefined when `accept` refused before saving) and the error
   * `accept` threw. A voucher already paying for a sale in flight waits for it, then reports `not-increasing`:
   * one voucher pays once.
   */
  async chargeThrough(voucher: StoredVoucher, receipt: Receipt, accept: () => Promise<unknown>): Promise<{ outcome?: CommitOutcome; error?: unknown }> {
    const key = routeKey(voucher);
    const inFlight = this.#routes.get(key);
    if (inFlight !== undefined) {
      await inFlight.done.catch(() => undefined);
      return { outcome: { status: "not-increasing", best: voucher.amount } };
    }
    const done = Promise.resolve().then(accept);
    const route = { receipt, done } as { receipt: Receipt; outcome?: CommitOutcome; done: Promise<unknown> };
    this.#routes.set(key, route);
    try {
      await done;
      return { outcome: route.outcome };
    } catch (error) {
      return { outcome: route.outcome, error };
    } finally {
      this.#routes.delete(key);
    }
  }

  async saveVoucherIfHigher(voucher: StoredVoucher): Promise<SaveVoucherResult> {
    const route = this.#routes.get(routeKey(voucher));
    if (route === undefined) return this.savePlainVoucher(voucher);
    const outcome = await this.commitCharge(voucher, route.receipt);
    route.outcome = outcome;
    switch (outcome.status) {
      case "charged":
        return { stored: true, previousAmount: outcome.previousAmount };
      case "not-increasing":
        return { stored: false, previousAmount: outcome.best };
      case "duplicate":
        return { stored: false, previousAmount: voucher.amount };
      case "insufficient":
        throw new InsufficientPaymentError(`the voucher and the channel's credit cover ${outcome.available}, the price is ${route.receipt.price}`, {
          available: outcome.available,
          price: route.receipt.price,
        });
    }
  }
}
