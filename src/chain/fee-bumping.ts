// Sends a transaction and keeps it moving: when it is not mined within a timeout, the same nonce is
// sent again with higher fees (a replacement), until one of the versions is mined or the attempts run
// out. The watchtower uses it for closes, whose deadline does not wait for a fee spike to pass.
import { BaseError, type Account, type Chain, type PublicClient, type Transport, type WalletClient } from "viem";
import type { Address, Hex } from "../channel.ts";
import { TransactionNotConfirmedError, TransactionRevertedError } from "../errors.ts";
import type { TxResult } from "./adapter.ts";

/** A call to send: the target, its calldata, and the ETH it carries. */
export interface TransactionRequest {
  to: Address;
  data: Hex;
  value?: bigint;
}

/** Sends one transaction and resolves once it is mined with success; rejects with a `TrickleError` otherwise. */
export type SendTransaction = (request: TransactionRequest) => Promise<TxResult>;

/** One version of the transaction put on the wire. */
export interface SendAttempt {
  attempt: number;
  hash: Hex;
  nonce: number;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export interface FeeBumpingSenderParameters {
  publicClient: PublicClient;
  /** Must carry its account (a local account, or a JSON-RPC account the node can sign for). */
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  /** How long one version may stay unmined before it is replaced. Default 60 s. */
  confirmTimeoutMs?: number;
  /** Versions sent at most, the first included. Default 5. */
  maxAttempts?: number;
  /** Fee raise per replacement, in percent; nodes refuse a replacement below +10%. Default 25. */
  bumpPercent?: bigint;
  /** How often receipts are polled. Default 1 s. */
  pollIntervalMs?: number;
  /** Called for every version sent, e.g. to log the hashes. */
  onAttempt?: (attempt: SendAttempt) => void;
}

const MIN_BUMP_PERCENT = 10n;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function raise(value: bigint, percent: bigint): bigint {
  // Rounds up, and by at least one wei, so a replacement is always strictly above what it replaces.
  const raised = (value * (100n + percent) + 99n) / 100n;
  return raised > value ? raised : value + 1n;
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/** True when a node refused a send because that nonce is already used or its replacement is too cheap. */
function isNonceConflict(error: unknown): boolean {
  const text = error instanceof BaseError ? `${error.details} ${error.shortMessage}` : String(error);
  return /nonce too low|nonce has already been used|replacement transaction underpriced|already known|known transaction/i.test(text);
}

/**
 * A {@link SendTransaction} that replaces an unmined transaction with a higher fee. It sends one
 * transaction at a time per account: calls are queued, so two calls never race for a nonce.
 * The fees of a version are the higher of the previous version's plus `bumpPercent` and the node's
 * current estimate, so a spike in the base fee is caught up with at the next replacement.
 */
export function feeBumpingSender(params: FeeBumpingSenderParameters): SendTransaction {
  const { publicClient, walletClient } = params;
  const confirmTimeoutMs = params.confirmTimeoutMs ?? 60_000;
  const maxAttempts = params.maxAttempts ?? 5;
  const bumpPercent = params.bumpPercent ?? 25n;
  const pollIntervalMs = params.pollIntervalMs ?? 1_000;
  if (bumpPercent < MIN_BUMP_PERCENT) throw new RangeError(`bumpPercent must be at least ${MIN_BUMP_PERCENT}`);
  if (maxAttempts < 1) throw new RangeError("maxAttempts must be at least 1");
  const account = walletClient.account;
  // Fees last used per nonce: a later call that reuses a nonce still pending starts above them.
  const lastFees = new Map<number, { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }>();
  let queue: Promise<unknown> = Promise.resolve();

  async function minedReceipt(hashes: Hex[]) {
    for (const hash of hashes) {
      const receipt = await publicClient.getTransactionReceipt({ hash }).catch(() => undefined);
      if (receipt !== undefined) return receipt;
    }
    return undefined;
  }

  async function sendOnce(request: TransactionRequest): Promise<TxResult> {
    const nonce = await publicClient.getTransactionCount({ address: account.address, blockTag: "latest" });
    const gas = await publicClient.estimateGas({ account, to: request.to, data: request.data, value: request.value });
    // Headroom: the estimate is for the current state, and a close may run after a claim changed it.
    const gasLimit = (gas * 13n) / 10n;
    const hashes: Hex[] = [];
    let fees = lastFees.get(nonce);
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const market = await publicClient.estimateFeesPerGas();
      fees =
        fees === undefined
          ? { maxFeePerGas: market.maxFeePerGas, maxPriorityFeePerGas: market.maxPriorityFeePerGas }
          : {
              maxFeePerGas: max(raise(fees.maxFeePerGas, bumpPercent), market.maxFeePerGas),
              maxPriorityFeePerGas: max(raise(fees.maxPriorityFeePerGas, bumpPercent), market.maxPriorityFeePerGas),
            };
      if (fees.maxPriorityFeePerGas > fees.maxFeePerGas) fees.maxFeePerGas = fees.maxPriorityFeePerGas;
      lastFees.set(nonce, fees);
      try {
        const hash = await walletClient.sendTransaction({
          account,
          chain: walletClient.chain ?? null,
          to: request.to,
          data: request.data,
          value: request.value ?? 0n,
          gas: gasLimit,
          nonce,
          maxFeePerGas: fees.maxFeePerGas,
          maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
        });
        hashes.push(hash);
        params.onAttempt?.({ attempt, hash, nonce, ...fees });
      } catch (error) {
        // The nonce was taken meanwhile, most likely by an earlier version being mined: look for it below.
        if (!isNonceConflict(error)) throw error;
      }
      const deadline = Date.now() + confirmTimeoutMs;
      for (;;) {
        const receipt = await minedReceipt(hashes);
        if (receipt !== undefined) {
          lastFees.delete(nonce);
          const result: TxResult = { hash: receipt.transactionHash, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber };
          if (receipt.status !== "success") {
            throw new TransactionRevertedError(`transaction ${receipt.transactionHash} reverted`, { ...result, to: request.to });
          }
          return result;
        }
        const used = await publicClient.getTransactionCount({ address: account.address, blockTag: "latest" });
        if (used > nonce) {
          // The nonce went to a transaction that is not one of ours (sent by another process with this key),
          // or to one of ours whose receipt lags behind the nonce: give it one more poll, then report.
          await sleep(pollIntervalMs);
          const late = await minedReceipt(hashes);
          if (late !== undefined) continue;
          lastFees.delete(nonce);
          throw new TransactionNotConfirmedError(`nonce ${nonce} of ${account.address} was used by another transaction`, {
            nonce,
            hashes,
          });
        }
        if (Date.now() >= deadline) break;
        await sleep(pollIntervalMs);
      }
    }
    throw new TransactionNotConfirmedError(
      `transaction to ${request.to} not mined after ${maxAttempts} attempts (last maxFeePerGas ${fees?.maxFeePerGas} wei)`,
      { nonce, hashes, maxFeePerGas: fees?.maxFeePerGas },
    );
  }

  return (request) => {
    const result = queue.then(() => sendOnce(request));
    queue = result.catch(() => undefined);
    return result;
  };
}
