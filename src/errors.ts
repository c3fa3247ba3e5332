/**
 * Every failure the SDK reports is a {@link TrickleError} with a stable `code`; match on the code,
 * not on the message. `details` carries the facts that caused it.
 */
export abstract class TrickleError extends Error {
  abstract readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.details = details;
  }
}

/** The voucher is not well-formed: bad hex, wrong lengths, amount not a uint256, `v` not 27/28, high `s`. */
export class MalformedVoucherError extends TrickleError {
  readonly code = "MALFORMED";
}

/** The signature is well-formed but not the channel signer's for this voucher. */
export class BadSignatureError extends TrickleError {
  readonly code = "BAD_SIGNATURE";
}

/** No channel with this id exists on-chain (or the payee was never told its config). */
export class UnknownChannelError extends TrickleError {
  readonly code = "UNKNOWN_CHANNEL";
}

/** The channel is finished (closed or withdrawn). */
export class ChannelNotOpenError extends TrickleError {
  readonly code = "CHANNEL_NOT_OPEN";
}

/** The channel's payee is someone else. */
export class WrongPayeeError extends TrickleError {
  readonly code = "WRONG_PAYEE";
}

/** The voucher is for another chain id or another `PaymentChannels` contract. */
export class WrongChainError extends TrickleError {
  readonly code = "WRONG_CHAIN";
}

/** The voucher's amount is not above the best one already accepted. */
export class NotIncreasingError extends TrickleError {
  readonly code = "NOT_INCREASING";
}

/** The voucher's amount is above the channel's deposit. */
export class ExceedsDepositError extends TrickleError {
  readonly code = "EXCEEDS_DEPOSIT";
}

/** The payer asked to close the channel: no voucher is accepted any more. */
export class ChannelClosingError extends TrickleError {
  readonly code = "CHANNEL_CLOSING";
}

/** The channel's `closeDelay` is shorter than the payee's policy. */
export class CloseDelayTooShortError extends TrickleError {
  readonly code = "CLOSE_DELAY_TOO_SHORT";
}

/** The channel's token is not one the payee accepts. */
export class WrongTokenError extends TrickleError {
  readonly code = "WRONG_TOKEN";
}

/** A payer would go above its deposit or its budget. */
export class InsufficientFundsError extends TrickleError {
  readonly code = "INSUFFICIENT_FUNDS";
}

/** A value given to the SDK is out of range or of the wrong type. */
export class InvalidArgumentError extends TrickleError {
  readonly code = "INVALID_ARGUMENT";
}

/** The store failed or holds data that contradicts the request. */
export class StoreError extends TrickleError {
  readonly code = "STORE";
}

/** The contract reverted; `details.error` is the decoded custom error's name (e.g. `ChannelNotOpen`), `details.args` its arguments. */
export class ContractRevertError extends TrickleError {
  readonly code = "CONTRACT_REVERT";
}

/** A transaction was not mined in time, even after fee bumps; `details.hashes` lists every version sent. */
export class TransactionNotConfirmedError extends TrickleError {
  readonly code = "TX_NOT_CONFIRMED";
}

/** A transaction was mined but reverted. */
export class TransactionRevertedError extends TrickleError {
  readonly code = "TX_REVERTED";
}

/** There is no `PaymentChannels` contract at the address on this network. */
export class ContractNotFoundError extends TrickleError {
  readonly code = "NO_CONTRACT";
}

/** Only the channel's payer can do this (request a close, withdraw, sign vouchers). */
export class NotPayerError extends TrickleError {
  readonly code = "NOT_PAYER";
}

/** `withdraw` before the payer asked to close. */
export class CloseNotRequestedError extends TrickleError {
  readonly code = "CLOSE_NOT_REQUESTED";
}

/** `withdraw` before the close delay has passed; `details.closesAt` says when it can. */
export class CloseDelayNotElapsedError extends TrickleError {
  readonly code = "CLOSE_DELAY_NOT_ELAPSED";
}

/** The close deadline has passed: the payee can no longer claim or close, only the payer can withdraw. */
export class CloseDeadlinePassedError extends TrickleError {
  readonly code = "CLOSE_DEADLINE_PASSED";
}

/** A key the operation needs is not configured (keystore or configuration variable). */
export class MissingKeyError extends TrickleError {
  readonly code = "MISSING_KEY";
}

/** A paid HTTP request carried a voucher that raises the cumulative amount by less than the route's price. */
export class InsufficientPaymentError extends TrickleError {
  readonly code = "INSUFFICIENT_PAYMENT";
}

/** A 402 asked for more per request than the paying fetch's `maxPrice`. Nothing was signed or sent. */
export class PriceTooHighError extends TrickleError {
  readonly code = "PRICE_TOO_HIGH";
}

/** Paying this request would take the origin above its `originBudget`. Nothing was signed or sent. */
export class OriginBudgetExceededError extends TrickleError {
  readonly code = "ORIGIN_BUDGET_EXCEEDED";
}

/** The 402 names a payee outside the paying fetch's `payees` list. Nothing was signed or sent. */
export class PayeeNotAllowedError extends TrickleError {
  readonly code = "PAYEE_NOT_ALLOWED";
}

/** The request's origin is outside the paying fetch's `origins` list. Nothing was signed or sent. */
export class OriginNotAllowedError extends TrickleError {
  readonly code = "ORIGIN_NOT_ALLOWED";
}

/** The payee asks for a `closeDelay` above the paying fetch's `maxCloseDelay`. Nothing was opened. */
export class CloseDelayTooLongError extends TrickleError {
  readonly code = "CLOSE_DELAY_TOO_LONG";
}

/** The payee asks for a deposit above the paying fetch's `maxDeposit`. Nothing was opened. */
export class DepositTooHighError extends TrickleError {
  readonly code = "DEPOSIT_TOO_HIGH";
}

/** The origin took `maxUnservedPayments` paid requests in a row without serving one: the fetch pays it no more. */
export class PayeeNotServingError extends TrickleError {
  readonly code = "PAYEE_NOT_SERVING";
}

/** A payee data directory holds no store and was not told to create one (`--create`). */
export class StoreNotFoundError extends TrickleError {
  readonly code = "STORE_NOT_FOUND";
}

/**
 * The payee's view of the chain is older than its policy can vouch for (event pulls keep failing): no
 * voucher is accepted until a pull succeeds, since one accepted now might no longer be claimable.
 */
export class StaleChainStateError extends TrickleError {
  readonly code = "STALE_CHAIN_STATE";
}

/** A store file or database cannot be migrated to this version's schema as things stand (see the message). */
export class StoreMigrationError extends TrickleError {
  readonly code = "STORE_MIGRATION";
}
