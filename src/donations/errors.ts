// Donation failures: each a TrickleError with a stable `code`, thrown before anything is signed, stored or sent.
import { TrickleError } from "../errors.ts";

/** A split list the contract would refuse: empty, too long, lengths that differ, a zero total weight. */
export class SplitListInvalidError extends TrickleError {
  readonly code = "SPLIT_LIST_INVALID";
}

/** A tip above one of the donor's caps (per creator, per day, in total) or above the budget's deposit. */
export class DonationCapExceededError extends TrickleError {
  readonly code = "DONATION_CAP_EXCEEDED";
}

/** A tip amount that is not a positive integer, or a creator that is not an address. */
export class TipInvalidError extends TrickleError {
  readonly code = "TIP_INVALID";
}

/** A tally not signed by the budget's signer, or for another budget. */
export class TallySignatureError extends TrickleError {
  readonly code = "TALLY_BAD_SIGNATURE";
}

/** A tally that does not extend the last one accepted from that budget: the donor forked its tally. */
export class TallyForkError extends TrickleError {
  readonly code = "TALLY_FORK";
}

/** A tally whose total is above the budget's on-chain deposit, or a budget that is not open. */
export class TallyUnfundedError extends TrickleError {
  readonly code = "TALLY_UNFUNDED";
}

/** Accepting the tip would leave more unsettled from one budget than the creator allows. */
export class UnsettledLimitError extends TrickleError {
  readonly code = "UNSETTLED_LIMIT";
}

/** A receipt not signed by the creator the tip went to, or for another tip. */
export class ReceiptInvalidError extends TrickleError {
  readonly code = "RECEIPT_INVALID";
}
