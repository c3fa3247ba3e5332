/**
 * The commerce ledger: every sale (purchase or subscription period) as a signed receipt, stored in the
 * same transaction as the voucher that paid for it. A `CommerceStore` is one deployment's view (chain id
 * and `PaymentChannels` contract) and also the Payee's store for that deployment, so the Payee stays the
 * one owner of voucher acceptance and the store the one owner of what was sold. Sales, like every payee
 * record, are keyed by deployment: two deployments' sales never meet.
 *
 * Backends: `MemoryCommerceStore` (tests), `SqliteCommerceStore` (`trickle/commerce/sqlite`) and
 * `PostgresCommerceStore` (`trickle/commerce/postgres`, for several payee processes on one database);
 * each gives one view per deployment with `forDeployment`.
 */
import type { Address, ChannelConfig, Hex } from "../channel.ts";
import { InsufficientPaymentError, InvalidArgumentError } from "../errors.ts";
import type {
  ChannelLedger,
  ChargeOptions,
  ChargeResult,
  Deployment,
  PayeeStore,
  SaveVoucherResult,
  StoredVoucher,
  UnclaimedVoucher,
} from "../store/store.ts";
import { recordKey } from "../store/batch.ts";
import { checkChannelId } from "../store/validate.ts";
import type { Receipt, ReceiptKind } from "./receipt.ts";
import { checkChargeInput } from "./validate.ts";

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

/** One deployment's sales and payee records; give the same view to the Payee and to the Seller. */
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

/**
 * What a commerce backend implements for its views. Every call names its deployment (validated, contract
 * lower-cased) and takes validated, normalized input (lower-case hex).
 */
export interface SalesBackend {
  /** The payee records of one deployment (the view's reads and its other writes go there). */
  payeeView(d: Deployment): PayeeStore;
  /** A voucher save that pays for no sale; serialized with the sales that write the same best voucher. */
  savePlainVoucher(d: Deployment, voucher: StoredVoucher): Promise<SaveVoucherResult>;
  /** The HTTP gate's charge (see {@link PayeeStore.chargeVoucher}); serialized with the sales likewise. */
  chargeVoucher(d: Deployment, voucher: StoredVoucher, price: bigint, options?: ChargeOptions): Promise<ChargeResult>;
  commitCharge(d: Deployment, voucher: StoredVoucher, receipt: Receipt): Promise<CommitOutcome>;
  voidCharge(d: Deployment, payer: Address, key: string): Promise<bigint | undefined>;
  charge(d: Deployment, payer: Address, key: string): Promise<Charge | undefined>;
  receiptsOf(d: Deployment, payer: Address): Promise<Receipt[]>;
  chargesBetween(d: Deployment, from: bigint, to: bigint): Promise<Charge[]>;
  credit(d: Deployment, channelId: Hex): Promise<bigint>;
  close(): Promise<void>;
}

function checkPayer(payer: Address): Address {
  if (typeof payer !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(payer)) throw new InvalidArgumentError("payer must be a 20-byte address", { payer });
  return payer.toLowerCase() as Address;
}

function checkKey(key: string): string {
  if (typeof key !== "string") throw new InvalidArgumentError("a charge key is a string", { key });
  return key;
}

function checkTime(time: bigint, name: string): bigint {
  if (typeof time !== "bigint") throw new InvalidArgumentError(`${name} must be a bigint (unix seconds)`, { [name]: time });
  return time;
}

/**
 * One deployment's view of a commerce backend: the {@link CommerceStore} the Payee and the Seller share.
 * Backends hand out one view per deployment (`forDeployment` returns the same object each time), so a
 * sale routed through {@link ChargingStore.chargeThrough} reaches the Payee's save whichever way it got its view.
 */
export class CommerceView extends ChargingStore implements CommerceStore {
  readonly deployment: Deployment;
  readonly #sales: SalesBackend;
  readonly #payee: PayeeStore;

  constructor(sales: SalesBackend, deployment: Deployment) {
    super();
    this.#sales = sales;
    this.#payee = sales.payeeView(deployment);
    this.deployment = this.#payee.deployment;
  }

  async commitCharge(voucher: StoredVoucher, receipt: Receipt): Promise<CommitOutcome> {
    const input = checkChargeInput(voucher, receipt);
    return this.#sales.commitCharge(this.deployment, input.voucher, input.receipt);
  }

  protected savePlainVoucher(voucher: StoredVoucher): Promise<SaveVoucherResult> {
    return this.#sales.savePlainVoucher(this.deployment, voucher);
  }

  chargeVoucher(voucher: StoredVoucher, price: bigint, options?: ChargeOptions): Promise<ChargeResult> {
    return this.#sales.chargeVoucher(this.deployment, voucher, price, options);
  }

  async voidCharge(payer: Address, key: string): Promise<bigint | undefined> {
    return this.#sales.voidCharge(this.deployment, checkPayer(payer), checkKey(key));
  }

  async charge(payer: Address, key: string): Promise<Charge | undefined> {
    return this.#sales.charge(this.deployment, checkPayer(payer), checkKey(key));
  }

  async receiptsOf(payer: Address): Promise<Receipt[]> {
    return this.#sales.receiptsOf(this.deployment, checkPayer(payer));
  }

  async chargesBetween(from: bigint, to: bigint): Promise<Charge[]> {
    return this.#sales.chargesBetween(this.deployment, checkTime(from, "from"), checkTime(to, "to"));
  }

  async credit(channelId: Hex): Promise<bigint> {
    return this.#sales.credit(this.deployment, checkChannelId(channelId));
  }

  chargeLedger(channelId: Hex): Promise<ChannelLedger | undefined> {
    return this.#payee.chargeLedger(channelId);
  }
  bestVoucher(channelId: Hex): Promise<StoredVoucher | undefined> {
    return this.#payee.bestVoucher(channelId);
  }
  bestVouchers(): Promise<StoredVoucher[]> {
    return this.#payee.bestVouchers();
  }
  unclaimedVouchers(): Promise<UnclaimedVoucher[]> {
    return this.#payee.unclaimedVouchers();
  }
  recordClaimed(channelId: Hex, claimed: bigint, finished?: boolean): Promise<void> {
    return this.#payee.recordClaimed(channelId, claimed, finished);
  }
  saveChannel(config: ChannelConfig): Promise<void> {
    return this.#payee.saveChannel(config);
  }
  channel(channelId: Hex): Promise<ChannelConfig | undefined> {
    return this.#payee.channel(channelId);
  }
  getMeta(key: string): Promise<string | undefined> {
    return this.#payee.getMeta(key);
  }
  setMeta(key: string, value: string): Promise<void> {
    return this.#payee.setMeta(key, value);
  }
  /** Waits for pending sales and writes, then releases the whole backend (every view of it). */
  close(): Promise<void> {
    return this.#sales.close();
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

/** One view per deployment, made on first use: the Payee and the Seller must share the same object. */
export function viewOf<V>(views: Map<string, V>, deployment: Deployment, make: () => V): V {
  const scope = recordKey(deployment, "");
  let view = views.get(scope);
  if (view === undefined) {
    view = make();
    views.set(scope, view);
  }
  return view;
}

/**
 * A charge from an SQL row of the commerce tables (SQLite and PostgreSQL share column names): amounts
 * are decimal text, times integers or their text.
 */
export function chargeFromRow(row: Record<string, unknown>): Charge {
  const receipt: Receipt = {
    kind: row.kind as ReceiptKind,
    key: row.key as string,
    item: row.item as string,
    payer: row.payer as Address,
    channelId: row.channel_id as Hex,
    token: row.token as Address,
    price: BigInt(row.price as string),
    cumulativeAmount: BigInt(row.cumulative as string),
    validFrom: BigInt(row.valid_from as string | number | bigint),
    validUntil: BigInt(row.valid_until as string | number | bigint),
    issuedAt: BigInt(row.issued_at as string | number | bigint),
    signature: row.signature as Hex,
  };
  return { receipt, status: row.status as Charge["status"] };
}
