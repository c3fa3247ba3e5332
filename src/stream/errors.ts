// Failures of metered streams, each with a stable `code` (see src/errors.ts for the SDK's others).
import { TrickleError } from "../errors.ts";

/** The stream's server refused a payment; `details.error` is its refusal code (e.g. `NOT_INCREASING`). */
export class StreamPaymentRefusedError extends TrickleError {
  readonly code = "STREAM_PAYMENT_REFUSED";
}

/** The stream's server answered something the protocol does not allow (no terms, no session, a bad unit id). */
export class StreamProtocolError extends TrickleError {
  readonly code = "STREAM_PROTOCOL";
}
