// The payee as the payer's side sees it: something that quotes and sells. A `Seller` in the same process
// is one; `httpCounter` (http.ts) is one over HTTP. Payer-side code depends on this and nothing payee-side.
import type { Address, ChannelConfig, Hex } from "../channel.ts";
import type { Voucher } from "../voucher.ts";
import type { PeriodQuote } from "./plans.ts";
import type { Receipt } from "./receipt.ts";

export interface CounterSale {
  receipt: Receipt;
  replayed: boolean;
  credit: bigint;
}

export interface Counter {
  purchase(request: { voucher: Voucher; config?: ChannelConfig; item: string; purchaseId: string }): Promise<CounterSale>;
  quote(request: { payer: Address; plan: string }): Promise<PeriodQuote>;
  renew(request: { voucher: Voucher; config?: ChannelConfig; plan: string; sequence: number }): Promise<CounterSale>;
}

/** What payer-side commerce needs from a `Payer`: sign the next voucher, and say how much was signed. */
export interface VoucherSource {
  pay(channelId: Hex, increment: bigint): Promise<Voucher>;
  channel(channelId: Hex): Promise<{ signedAmount: bigint } | undefined>;
}
