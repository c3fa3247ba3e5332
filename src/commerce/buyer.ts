/**
 * The payer's side of an in-app store: pays for an item with one voucher and keeps the receipt. A purchase
 * whose answer is lost is retried with the same voucher and the same purchase id, so the payee charges it
 * once and answers with the same receipt. Browser-safe.
 */
import type { Address, ChannelConfig, Hex } from "../channel.ts";
import { InvalidArgumentError } from "../errors.ts";
import type { Voucher, VoucherDomain } from "../voucher.ts";
import type { VoucherSource, Counter, CounterSale } from "./counter.ts";
import { BadReceiptError } from "./errors.ts";
import { verifyReceipt, type Receipt } from "./receipt.ts";

export interface BuyerParameters {
  /** A `Payer`, or anything that signs vouchers the same way (durably, cumulative). */
  payer: VoucherSource;
  config: ChannelConfig;
  channelId: Hex;
  counter: Counter;
  receiptSigner: Address;
  domain: VoucherDomain;
  /** The most one purchase may cost, base units. */
  maxPrice: bigint;
  retries?: number;
}

export class Buyer {
  readonly #p: BuyerParameters;
  /** Vouchers signed for purchases not yet answered, by purchase id: a retry sends the same one. */
  readonly #pending = new Map<string, { voucher: Voucher; increment: bigint }>();
  readonly #receipts = new Map<string, Receipt>();
  #credit = 0n;
  /** Value signed in vouchers the payee did not store (a fresh voucher sent for a sale it had already made). */
  #unused = 0n;
  #lastAccepted: Voucher | undefined;
  spent = 0n;

  constructor(params: BuyerParameters) {
    this.#p = params;
  }

  /**
   * Buys `item` at `price` (the catalog's, as the app shows it) under `purchaseId`; returns the verified
   * receipt. A non-consumable this buyer already holds a receipt for (key `item:<id>`) is returned without
   * paying. The voucher raises the amount by the price less what the payee holds as credit and what
   * earlier unused vouchers already carry, and by at least one unit.
   */
  async buy(item: string, price: bigint, purchaseId: string): Promise<Receipt> {
    if (typeof price !== "bigint" || price < 0n || price > this.#p.maxPrice) {
      throw new InvalidArgumentError(`price must be a bigint from 0 to the buyer's maxPrice ${this.#p.maxPrice}`, { price });
    }
    const owned = this.#receipts.get(`item:${item}`) ?? this.#receipts.get(purchaseId);
    if (owned !== undefined && owned.item === item) return owned;
    let pending = this.#pending.get(purchaseId);
    if (pending === undefined) {
      const covered = this.#credit + this.#unused;
      const increment = price > covered ? price - covered : 1n;
      pending = { voucher: await this.#p.payer.pay(this.#p.channelId, increment), increment };
      this.#pending.set(purchaseId, pending);
      this.spent += increment;
    }
    let sale: CounterSale;
    try {
      sale = await this.#send(pending.voucher, item, purchaseId);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === "string") {
        // A refusal: this voucher will not pay for a sale, so a later purchase (under this id too) signs a
        // fresh one. Refused for a reused id or too little paid, nothing was stored and the fresh voucher
        // carries its value; NOT_INCREASING means the payee's best already holds it.
        this.#pending.delete(purchaseId);
        if (code !== "NOT_INCREASING") this.#unused += pending.increment;
      }
      throw error;
    }
    verifyReceipt(this.#p.domain, sale.receipt, this.#p.receiptSigner);
    if (sale.receipt.item !== item || sale.receipt.price > price) {
      throw new BadReceiptError("the receipt is for another item or a higher price", { item, price, receipt: sale.receipt.key });
    }
    this.#pending.delete(purchaseId);
    if (sale.receipt.cumulativeAmount === pending.voucher.amount) {
      // The payee stored this voucher: it carries every earlier one.
      this.#unused = 0n;
      this.#lastAccepted = pending.voucher;
    } else {
      this.#unused += pending.increment;
    }
    this.#credit = sale.credit;
    this.#receipts.set(sale.receipt.key, sale.receipt);
    return sale.receipt;
  }

  /** The credit the payee last reported for this channel. */
  get credit(): bigint {
    return this.#credit;
  }

  /** The latest voucher the payee stored: what restore over HTTP takes as proof of being the payer. */
  get lastAccepted(): Voucher | undefined {
    return this.#lastAccepted;
  }

  /** Receipts this buyer holds (its own purchases, and any it was given back by restore). */
  receipts(): Receipt[] {
    return [...this.#receipts.values()];
  }

  /** Takes receipts restored from the payee, verified first, so owned items are not bought again. */
  restore(receipts: readonly Receipt[]): void {
    for (const receipt of receipts) verifyReceipt(this.#p.domain, receipt, this.#p.receiptSigner);
    for (const receipt of receipts) this.#receipts.set(receipt.key, receipt);
  }

  async #send(voucher: Voucher, item: string, purchaseId: string): Promise<CounterSale> {
    const attempts = (this.#p.retries ?? 3) + 1;
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      try {
        return await this.#p.counter.purchase({ voucher, config: this.#p.config, item, purchaseId });
      } catch (error) {
        if (typeof (error as { code?: unknown }).code === "string") throw error;
        last = error;
      }
    }
    throw last;
  }
}
