// The payer's side of the commerce HTTP API: a `Counter` over `fetch`, for Subscriber and Buyer. A refusal
// comes back as a typed error with the server's code; a lost answer (network error, 5xx) as a plain Error,
// which Subscriber and Buyer retry with the same voucher. Browser-safe.
import { TrickleError } from "../errors.ts";
import type { Counter, CounterSale } from "./counter.ts";
import { RenewalRefusedError, type RenewalBlock } from "./errors.ts";
import type { PeriodQuote } from "./plans.ts";
import { purchaseToJson, quoteFromJson, renewToJson, saleFromJson } from "./wire.ts";

/** A refusal the commerce API answered with; `code` is the server's stable code (UNKNOWN_ITEM, INSUFFICIENT_PAYMENT, ...). */
export class CommerceRefusedError extends TrickleError {
  readonly code: string;
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(message, details);
    this.code = code;
  }
}

export interface HttpCounterOptions {
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
}

/** A counter that talks to `commerceApi` mounted at `baseUrl` (e.g. "https://shop.example/commerce"). */
export function httpCounter(baseUrl: string, options: HttpCounterOptions = {}): Counter {
  const doFetch = options.fetch ?? fetch;
  const base = baseUrl.replace(/\/+$/, "");
  async function post(path: string, body: unknown): Promise<unknown> {
    const response = await doFetch(`${base}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const answer = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    if (response.ok && answer !== undefined) return answer;
    if (response.status >= 500 || answer === undefined || typeof answer.error !== "string") throw new Error(`commerce API answered ${response.status}`);
    const message = typeof answer.message === "string" ? answer.message : answer.error;
    if (answer.error === "RENEWAL_REFUSED" && typeof answer.reason === "string") throw new RenewalRefusedError(answer.reason as RenewalBlock, message);
    throw new CommerceRefusedError(answer.error, message);
  }
  return {
    async purchase(request): Promise<CounterSale> {
      return saleFromJson(await post("/purchase", purchaseToJson(request)));
    },
    async quote(request): Promise<PeriodQuote> {
      return quoteFromJson(await post("/quote", request));
    },
    async renew(request): Promise<CounterSale> {
      return saleFromJson(await post("/renew", renewToJson(request)));
    },
  };
}
