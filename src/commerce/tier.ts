// The framework-neutral check behind every tier gate (node:http, Express, Hono): the request's period
// receipt is verified offline first (a forged one costs no store read), then the store decides whether
// its payer is entitled to the tier now.
import type { Address } from "../channel.ts";
import { NotEntitledError } from "./errors.ts";
import { verifyReceipt } from "./receipt.ts";
import type { Entitlement, Seller } from "./seller.ts";
import { decodeReceiptHeader } from "./wire.ts";

/** Request header carrying a period receipt, for routes gated by tier. */
export const RECEIPT_HEADER = "TRICKLE-RECEIPT";

/** The payer's entitlement when `headerValue` (the TRICKLE-RECEIPT header) shows it may use `tier` now; throws otherwise. */
export async function checkTier(seller: Seller, tier: string, headerValue: string | undefined): Promise<Entitlement & { payer: Address }> {
  if (headerValue === undefined) throw new NotEntitledError(`this route needs tier ${tier}: send a period receipt in ${RECEIPT_HEADER}`, { tier });
  const receipt = decodeReceiptHeader(headerValue);
  verifyReceipt(seller.domain, receipt, seller.receiptSigner);
  return { ...(await seller.requireTier(receipt.payer, tier)), payer: receipt.payer };
}
