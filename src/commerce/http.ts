/**
 * Commerce over `node:http`: a JSON API for sales (purchase, quote, renew, restore), a route gate by
 * subscription tier, and a per-request purchase gate. Each translates HTTP to a Seller call and back and
 * keeps nothing: the Seller's store is the one ledger.
 *
 * Failed handlers: a request sold through {@link withPurchase} whose handler throws before answering is
 * not charged: its charge is voided and the price credited to the channel (the next voucher on it can be
 * smaller by that much), and the answer (500, `HANDLER_FAILED`) says the credit. A retry of a sale an
 * earlier request made (`sale.replayed`) keeps its charge if its handler throws: the earlier one ran.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { Address } from "../channel.ts";
import { TrickleError } from "../errors.ts";
import { refusalOf } from "./refusal.ts";
import type { Entitlement, Sale, Seller } from "./seller.ts";
import { purchaseFromJson, quoteFromJsonRequest, quoteToJson, renewFromJson, saleToJson, voucherFromJson, encodeReceiptHeader } from "./wire.ts";
import { receiptToJson } from "./receipt.ts";

import { checkTier, RECEIPT_HEADER } from "./tier.ts";

export { RECEIPT_HEADER };
/** Request header carrying a purchase (base64url JSON of the purchase body), for {@link withPurchase}. */
export const PURCHASE_HEADER = "TRICKLE-PURCHASE";

const MAX_BODY = 16 * 1024;


function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { ...headers, "Content-Type": "application/json", "Content-Length": String(new TextEncoder().encode(text).length) });
  response.end(text);
}

/** Answers a failure: a Trickle refusal with its code (402 for payment problems), anything else 500. */
function sendError(response: ServerResponse, error: unknown, onError: (error: unknown) => void): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const refusal = refusalOf(error);
  if (refusal !== undefined) return send(response, refusal.status, refusal.body);
  onError(error);
  send(response, 500, { error: "INTERNAL", message: "the server failed" });
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Uint8Array).length;
    if (size > MAX_BODY) throw new RangeError("body too large");
    chunks.push(chunk as Uint8Array);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.length;
  }
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? undefined : value;
}

export interface CommerceHttpOptions {
  /** Where the API is mounted; default "/commerce". */
  basePath?: string;
  /** Failures of the server itself (store, chain), answered with 500. */
  onError?: (error: unknown) => void;
}

/**
 * The JSON API `httpCounter` talks to: `POST {base}/purchase`, `/quote`, `/renew`, `/restore`. Requests to
 * other paths go to `next` (404 when none).
 */
export function commerceApi(seller: Seller, options: CommerceHttpOptions = {}, next?: RequestListener): RequestListener {
  const base = (options.basePath ?? "/commerce").replace(/\/+$/, "");
  const onError = options.onError ?? console.error;
  return (request, response) => {
    const path = (request.url ?? "/").split("?")[0]!;
    if (request.method !== "POST" || !path.startsWith(`${base}/`)) {
      if (next !== undefined) return next(request, response);
      return send(response, 404, { error: "NOT_FOUND", message: "no such route" });
    }
    const action = path.slice(base.length + 1);
    readJson(request)
      .then(async (body) => {
        switch (action) {
          case "purchase":
            return send(response, 200, saleToJson(await seller.purchase(purchaseFromJson(body))));
          case "quote":
            return send(response, 200, quoteToJson(await seller.quote(quoteFromJsonRequest(body))));
          case "renew":
            return send(response, 200, saleToJson(await seller.renew(renewFromJson(body))));
          case "restore": {
            const receipts = await seller.restoreWithVoucher(voucherFromJson((body as { voucher?: unknown } | undefined)?.voucher));
            return send(response, 200, { receipts: receipts.map(receiptToJson) });
          }
          default:
            return send(response, 404, { error: "NOT_FOUND", message: "no such route" });
        }
      })
      .catch((error: unknown) => sendError(response, error instanceof RangeError ? new MalformedRequestError(error.message) : error, onError));
  };
}

/** A request the API cannot read (too large, not JSON, a missing header): the client's fault, not the server's. */
class MalformedRequestError extends TrickleError {
  readonly code = "MALFORMED";
}

/** A handler behind {@link withTier}: runs only for a payer entitled to the tier now. */
export type TierHandler = (request: IncomingMessage, response: ServerResponse, entitlement: Entitlement & { payer: Address }) => void | Promise<void>;

/**
 * Gates a route by tier. The request carries one of the payer's period receipts in `TRICKLE-RECEIPT`; it
 * is verified offline first (a forged one costs no store read), then the store answers whether the payer
 * is entitled to `tier` now. A receipt identifies its payer like a session cookie: keep it private.
 */
export function withTier(seller: Seller, tier: string, handler: TierHandler, options: Pick<CommerceHttpOptions, "onError"> = {}): RequestListener {
  const onError = options.onError ?? console.error;
  return (request, response) => {
    (async () => {
      const entitlement = await checkTier(seller, tier, header(request, RECEIPT_HEADER));
      await handler(request, response, entitlement);
    })().catch((error: unknown) => sendError(response, error, onError));
  };
}

/** A handler behind {@link withPurchase}: `sale.replayed` is true for a retry of a sale already made (deliver it again). */
export type PurchaseHandler = (request: IncomingMessage, response: ServerResponse, sale: Sale) => void | Promise<void>;

/**
 * Sells one catalog item per request: the request carries the purchase (voucher, item, purchase id) in
 * `TRICKLE-PURCHASE`; the handler runs once it is sold, with the receipt in the `TRICKLE-RECEIPT` response
 * header. A handler that throws before answering voids the charge (see the module comment).
 */
export function withPurchase(seller: Seller, handler: PurchaseHandler, options: Pick<CommerceHttpOptions, "onError"> = {}): RequestListener {
  const onError = options.onError ?? console.error;
  return (request, response) => {
    (async () => {
      const value = header(request, PURCHASE_HEADER);
      if (value === undefined || value.length > 8192 || !/^[A-Za-z0-9_-]+$/.test(value)) {
        throw new MalformedRequestError(`this route is sold per request: send the purchase in ${PURCHASE_HEADER}`);
      }
      let body: unknown;
      try {
        body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(atob(value.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0))));
      } catch {
        throw new MalformedRequestError(`${PURCHASE_HEADER} is not base64url JSON`);
      }
      const sale = await seller.purchase(purchaseFromJson(body));
      response.setHeader(RECEIPT_HEADER, encodeReceiptHeader(sale.receipt));
      try {
        await handler(request, response, sale);
      } catch (error) {
        // A replayed sale was made by an earlier request whose handler did not throw (it was voided
        // otherwise): its charge stands, and this failure is answered without voiding it.
        if (response.headersSent || sale.replayed) throw error;
        const credit = await seller.refund(sale.receipt.payer, sale.receipt.key);
        onError(error);
        response.removeHeader(RECEIPT_HEADER);
        send(response, 500, { error: "HANDLER_FAILED", message: "the request failed and was not charged", credit: (credit ?? 0n).toString() });
      }
    })().catch((error: unknown) => sendError(response, error, onError));
  };
}

/** Encodes a purchase for the {@link PURCHASE_HEADER} request header. */
export { encodePurchaseHeader } from "./purchase-header.ts";
export { checkTier } from "./tier.ts";
export { tierMiddleware as expressTierMiddleware } from "./express.ts";
export { tierMiddleware as honoTierMiddleware } from "./hono.ts";
export type { TierVariables } from "./hono.ts";
