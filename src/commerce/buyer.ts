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
  readonly #pending = new Map<string, Voucher>();
  #credit = 0n;
  spent = 0n;

  constructor(params: BuyerParameters) {
    this.#p = params;
  }

  /** Buys `item` at `price` (the catalog's, as the app shows it) under `purchaseId`; returns the verified receipt. */
  async buy(item: string, price: bigint, purchaseId: string): Promise<Receipt> {
    if (typeof price !== "bigint" || price < 0n || price > this.#p.maxPrice) {
      throw new InvalidArgumentError(`price must be a bigint from 0 to the buyer's maxPrice ${this.#p.maxPrice}`, { price });
    }
    let voucher = this.#pending.get(purchaseId);
    if (voucher === undefined) {
      const increment = price > this.#credit ? price - this.#credit : 1n;
      voucher = await this.#p.payer.pay(this.#p.channelId, increment);
      this.#pending.set(purchaseId, voucher);
      this.spent += increment;
    }
    const sale = await this.#send(voucher, item, purchaseId);
    verifyReceipt(this.#p.domain, sale.receipt, this.#p.receiptSigner);
    if (sale.receipt.item !== item || sale.receipt.price > price) {
      throw new BadReceiptError("the receipt is for another item or a higher price", { item, price, receipt: sale.receipt.key });
    }
    this.#pending.delete(purchaseId);
    this.#credit = sale.credit;
    return sale.receipt;
  }

  /** The credit the payee last reported for this channel. */
  get credit(): bigint {
    return this.#credit;
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
