/**
 * The payer's side of a subscription: renews automatically, within limits the subscriber set, with one
 * voucher per period on its existing channel (no transaction while the deposit lasts). Browser-safe.
 *
 * Limits: which plans, the most per period, and until when. Before signing anything it checks them and the
 * channel, so a renewal that cannot happen is reported ahead of time with a machine-readable reason, and a
 * renewal never costs more than `maxPerPeriod`. A lost answer is retried with the same voucher, so the
 * payee's once-per-period rule and this side's signed total agree.
 */
import { ChannelStatus, type Address, type ChannelConfig, type Hex } from "../channel.ts";
import type { ChainReader } from "../chain/adapter.ts";
import { InvalidArgumentError } from "../errors.ts";
import type { Voucher, VoucherDomain } from "../voucher.ts";
import type { VoucherSource, Counter } from "./counter.ts";
import { RenewalRefusedError, type RenewalBlock } from "./errors.ts";
import { periodsOf, type PeriodQuote } from "./plans.ts";
import { verifyReceipt, type Receipt } from "./receipt.ts";

export interface SubscriberLimits {
  /** Plans this subscriber agrees to pay for. */
  plans: readonly string[];
  /** The most one period (or one upgrade) may cost, in base units. */
  maxPerPeriod: bigint;
  /** No renewal is paid at or after this time (unix seconds). */
  until: bigint;
}

export interface SubscriberParameters {
  /** A `Payer`, or anything that signs vouchers the same way (durably, cumulative). */
  payer: VoucherSource;
  /** Reads the channel's deposit and status, to say ahead of time whether a renewal can happen. */
  chain: ChainReader;
  config: ChannelConfig;
  channelId: Hex;
  counter: Counter;
  limits: SubscriberLimits;
  /** Receipts are verified against this signer and domain before they are trusted. */
  receiptSigner: Address;
  domain: VoucherDomain;
  /** Renew when the paid period ends within this many seconds. Default 0: at the end. */
  renewAhead?: bigint;
  /** Times a lost answer is retried with the same voucher. Default 3. */
  retries?: number;
  now?: () => bigint;
}

export type RenewalCheck = { ok: true; quote: PeriodQuote; voucherIncrement: bigint } | { ok: false; reason: RenewalBlock; details: Record<string, unknown> };

export class Subscriber {
  readonly #p: SubscriberParameters;
  readonly #now: () => bigint;
  #plan: string | undefined;
  #cancelled = false;
  #receipts: Receipt[] = [];
  #credit = 0n;
  /** The price per period of each plan when the subscriber chose it: a renewal at another price is PLAN_CHANGED. */
  readonly #agreed = new Map<string, bigint>();
  /** Paid to the payee in total, and the number of renewals, for reports. */
  spent = 0n;

  constructor(params: SubscriberParameters) {
    if (typeof params.limits.maxPerPeriod !== "bigint" || typeof params.limits.until !== "bigint") {
      throw new InvalidArgumentError("limits take bigint maxPerPeriod and until", { limits: params.limits });
    }
    this.#p = params;
    this.#now = params.now ?? (() => BigInt(Math.floor(Date.now() / 1000)));
  }

  /** The plan renewals are for; undefined before {@link subscribe}. */
  get plan(): string | undefined {
    return this.#plan;
  }

  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** Every period receipt, in order. */
  get receipts(): readonly Receipt[] {
    return this.#receipts;
  }

  /** When the paid time ends (0 before the first period). */
  get paidUntil(): bigint {
    return this.#receipts.reduce((end, r) => (r.validUntil > end ? r.validUntil : end), 0n);
  }

  /** Picks up the receipts the payee restored (after a restart of this side), verified first. */
  restore(receipts: readonly Receipt[], plan?: string): void {
    const periods = receipts.filter((r) => r.kind === "period");
    for (const r of periods) verifyReceipt(this.#p.domain, r, this.#p.receiptSigner);
    this.#receipts = periodsOf(periods);
    this.#plan = plan ?? this.#receipts.at(-1)?.item;
  }

  /** Starts (or restarts after a lapse) on `plan`, paying the first period now. */
  async subscribe(plan: string): Promise<Receipt> {
    this.#plan = plan;
    this.#cancelled = false;
    const receipt = await this.#pay(true);
    return receipt;
  }

  /**
   * Moves to `plan`: an upgrade (higher tier) is paid now, pro-rated; a downgrade is paid at the next
   * renewal and starts when the running period ends.
   */
  async changePlan(plan: string): Promise<Receipt | undefined> {
    this.#plan = plan;
    const quote = await this.#p.counter.quote({ payer: this.#p.config.payer, plan });
    if (quote.change === "upgrade") return this.#pay(true);
    return undefined;
  }

  /**
   * Records the per-period price the subscriber accepted for `plan` (subscribe does it from the first full
   * quote; after a restart of this side the app sets it again from its own records). A renewal quoted at
   * another price is refused with PLAN_CHANGED.
   */
  agree(plan: string, price: bigint): void {
    this.#agreed.set(plan, price);
  }

  /** Stops renewing; the payer keeps what it paid for until {@link paidUntil}. */
  cancel(): void {
    this.#cancelled = true;
  }

  /** Whether the next renewal would succeed now, and if not, why; nothing is signed. */
  async check(): Promise<RenewalCheck> {
    const now = this.#now();
    const refuse = (reason: RenewalBlock, details: Record<string, unknown> = {}): RenewalCheck => ({ ok: false, reason, details });
    if (this.#cancelled) return refuse("CANCELLED");
    const plan = this.#plan;
    if (plan === undefined) return refuse("PLAN_NOT_ALLOWED", { plan });
    if (now >= this.#p.limits.until) return refuse("EXPIRED_LIMIT", { until: this.#p.limits.until });
    if (!this.#p.limits.plans.includes(plan)) return refuse("PLAN_NOT_ALLOWED", { plan });
    let quote: PeriodQuote;
    try {
      quote = await this.#p.counter.quote({ payer: this.#p.config.payer, plan });
    } catch (error) {
      if (error instanceof RenewalRefusedError) return refuse(error.reason, error.details);
      if ((error as { code?: string }).code === "UNKNOWN_ITEM") return refuse("PLAN_CHANGED", { plan });
      throw error;
    }
    const agreed = this.#agreed.get(plan);
    if (quote.change === "renewal" && agreed !== undefined && agreed !== quote.price) return refuse("PLAN_CHANGED", { plan, agreed, price: quote.price });
    if (quote.price > this.#p.limits.maxPerPeriod) return refuse("LIMIT_REACHED", { price: quote.price, maxPerPeriod: this.#p.limits.maxPerPeriod });
    const state = await this.#p.chain.readChannel(this.#p.channelId);
    if (state.status === ChannelStatus.Closing) return refuse("CHANNEL_CLOSING");
    if (state.status !== ChannelStatus.Open) return refuse("CHANNEL_NOT_OPEN", { status: state.status });
    const record = await this.#p.payer.channel(this.#p.channelId);
    const signed = record?.signedAmount ?? 0n;
    // A voucher must raise the amount; credit the payee holds for this channel lowers what is needed.
    const increment = quote.price > this.#credit ? quote.price - this.#credit : 1n;
    if (signed + increment > state.deposit) return refuse("DEPOSIT_EXHAUSTED", { deposit: state.deposit, signed, needed: increment });
    return { ok: true, quote, voucherIncrement: increment };
  }

  /**
   * Renews when the paid period ends within `renewAhead`; returns the new receipt, or undefined when not
   * due. Throws {@link RenewalRefusedError} with the reason when a due renewal cannot happen.
   */
  async renewIfDue(): Promise<Receipt | undefined> {
    if (this.#receipts.length > 0 && this.paidUntil - this.#now() > (this.#p.renewAhead ?? 0n)) return undefined;
    if (this.#cancelled) return undefined;
    return this.#pay(false);
  }

  async #pay(first: boolean): Promise<Receipt> {
    const check = await this.check();
    if (!check.ok) throw new RenewalRefusedError(check.reason, `renewal refused: ${check.reason}`, check.details);
    const plan = this.#plan!;
    const full = fullPrice(check.quote);
    if (full !== undefined && (first || !this.#agreed.has(plan))) this.#agreed.set(plan, full);
    const voucher = await this.#p.payer.pay(this.#p.channelId, check.voucherIncrement);
    const sale = await this.#send(voucher, plan, check.quote.sequence);
    verifyReceipt(this.#p.domain, sale.receipt, this.#p.receiptSigner);
    if (sale.receipt.item !== plan || sale.receipt.price > this.#p.limits.maxPerPeriod) {
      throw new RenewalRefusedError("PLAN_CHANGED", "the payee answered with another plan or price", { receipt: sale.receipt.key });
    }
    this.#credit = sale.credit;
    if (!sale.replayed) this.spent += check.voucherIncrement;
    this.#receipts = [...this.#receipts.filter((r) => r.key !== sale.receipt.key), sale.receipt];
    return sale.receipt;
  }

  async #send(voucher: Voucher, plan: string, sequence: number) {
    const attempts = (this.#p.retries ?? 3) + 1;
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      try {
        return await this.#p.counter.renew({ voucher, config: this.#p.config, plan, sequence });
      } catch (error) {
        // Only a lost answer is retried; a refusal from the payee is final.
        if (typeof (error as { code?: unknown }).code === "string") throw error;
        last = error;
      }
    }
    throw last;
  }
}

/** The full per-period price a quote shows, remembered as the one agreed (upgrades and trials quote less). */
function fullPrice(quote: PeriodQuote): bigint | undefined {
  return quote.change === "renewal" || quote.change === "new" || quote.change === "downgrade" ? quote.price : undefined;
}
