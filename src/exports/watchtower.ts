// `trickle/watchtower`: the payee's watchtower and the fee-bumping sender it closes with (viem).
export { Watchtower, watch } from "../watchtower.ts";
export type { TickReport, WatchOptions, WatchTarget, WatchtowerAction, WatchtowerAlert, WatchtowerAlertCode, WatchtowerRetryOptions } from "../watchtower.ts";
export { feeBumpingSender } from "../chain/fee-bumping.ts";
export type { FeeBumpingSenderParameters, SendAttempt, SendTransaction, TransactionRequest } from "../chain/fee-bumping.ts";
