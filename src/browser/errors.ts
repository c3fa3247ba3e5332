// Failures of a browser wallet, each with a stable `code` (see src/errors.ts for the SDK's others).
import { TrickleError } from "../errors.ts";

/** No EIP-1193 wallet is injected in the page (`window.ethereum` is missing). */
export class NoWalletError extends TrickleError {
  readonly code = "NO_WALLET";
}

/** The user rejected the wallet's prompt (EIP-1193 error 4001). Nothing was sent. */
export class WalletRejectedError extends TrickleError {
  readonly code = "WALLET_REJECTED";
}

/**
 * The wallet is on another chain and did not switch (it refused `wallet_switchEthereumChain` or does not
 * know the chain); `details.chainId` is the wallet's, `details.expected` the one the page needs.
 */
export class WalletWrongChainError extends TrickleError {
  readonly code = "WALLET_WRONG_CHAIN";
}

/** The account holds too little to pay a deposit and its gas; `details.balance` and `details.needed` say how much. */
export class WalletInsufficientBalanceError extends TrickleError {
  readonly code = "WALLET_INSUFFICIENT_BALANCE";
}
