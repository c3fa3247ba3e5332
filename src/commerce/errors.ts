// Errors of `trickle/commerce`, each with a stable `code` (see src/errors.ts for the SDK's others).
import { TrickleError } from "../errors.ts";

/** A receipt is malformed, or its signature is not the payee's. */
export class BadReceiptError extends TrickleError {
  readonly code = "BAD_RECEIPT";
}

/** No catalog item or plan has this id. */
export class UnknownItemError extends TrickleError {
  readonly code = "UNKNOWN_ITEM";
}

/** The purchase id was already used by this payer for another item or price. */
export class PurchaseIdReusedError extends TrickleError {
  readonly code = "PURCHASE_ID_REUSED";
}

/** The payer is not entitled to the tier it asked for at this time. */
export class NotEntitledError extends TrickleError {
  readonly code = "NOT_ENTITLED";
}

/**
 * Why a subscription renewal cannot happen. `reason` is machine-readable:
 * `DEPOSIT_EXHAUSTED`, `CHANNEL_CLOSING`, `CHANNEL_NOT_OPEN`, `LIMIT_REACHED`, `PLAN_NOT_ALLOWED`,
 * `PLAN_CHANGED`, `EXPIRED_LIMIT`, `CANCELLED`, `NOT_DUE`, `PERIOD_MISMATCH`.
 */
export class RenewalRefusedError extends TrickleError {
  readonly code = "RENEWAL_REFUSED";
  readonly reason: RenewalBlock;

  constructor(reason: RenewalBlock, message: string, details: Record<string, unknown> = {}) {
    super(message, { ...details, reason });
    this.reason = reason;
  }
}

export type RenewalBlock =
  | "DEPOSIT_EXHAUSTED"
  | "CHANNEL_CLOSING"
  | "CHANNEL_NOT_OPEN"
  | "LIMIT_REACHED"
  | "PLAN_NOT_ALLOWED"
  | "PLAN_CHANGED"
  | "EXPIRED_LIMIT"
  | "CANCELLED"
  | "NOT_DUE"
  | "PERIOD_MISMATCH";
