// Split channels: the salt that commits a channel to its recipient list, and the shares SplitPayee pays.
import { encodeAbiParameters, keccak256 } from "viem";
import type { Address, ChannelConfig, Hex } from "../channel.ts";
import { SplitListInvalidError } from "./errors.ts";

/** The longest list `SplitPayee` takes (`MAX_RECIPIENTS`). */
export const MAX_SPLIT_RECIPIENTS = 1_000;
const MAX_WEIGHT = (1n << 96n) - 1n;

/** A weighted recipient list. The first recipient takes the rounding remainder of every claim. */
export interface SplitList {
  recipients: Address[];
  weights: bigint[];
  /** Lets one donor open several channels to the same list. */
  nonce: Hex;
}

/** Throws {@link SplitListInvalidError} for any list `SplitPayee` would refuse at claim time. */
export function assertSplitList(list: SplitList): void {
  const count = list.recipients.length;
  const facts = { recipients: count, weights: list.weights.length };
  if (count === 0 || count > MAX_SPLIT_RECIPIENTS || list.weights.length !== count) {
    throw new SplitListInvalidError(`a split list needs 1 to ${MAX_SPLIT_RECIPIENTS} recipients, one weight each`, facts);
  }
  let total = 0n;
  for (const weight of list.weights) {
    if (weight < 0n || weight > MAX_WEIGHT) throw new SplitListInvalidError("a weight must fit 96 bits", { ...facts, weight });
    total += weight;
  }
  if (total === 0n) throw new SplitListInvalidError("the weights sum to zero", facts);
  for (const recipient of list.recipients) {
    if (!/^0x[0-9a-fA-F]{40}$/.test(recipient)) throw new SplitListInvalidError("not an address", { ...facts, recipient });
  }
}

/** `keccak256(abi.encode(recipients, weights, nonce))`, as `SplitPayee.splitSalt` computes it. */
export function splitSalt(list: SplitList): Hex {
  assertSplitList(list);
  return keccak256(
    encodeAbiParameters([{ type: "address[]" }, { type: "uint96[]" }, { type: "bytes32" }], [
      list.recipients,
      list.weights,
      list.nonce,
    ]),
  );
}

/** The config of a split channel: the payee is `SplitPayee`, the salt commits to `list`. */
export function splitChannelConfig(
  params: Omit<ChannelConfig, "payee" | "salt"> & { splitPayee: Address; list: SplitList },
): ChannelConfig {
  const { splitPayee, list, ...rest } = params;
  return { ...rest, payee: splitPayee, salt: splitSalt(list) };
}

/**
 * What each recipient gets when `arrived` comes in, exactly as `SplitPayee` pays it: recipient `i > 0` gets
 * `floor(arrived * w[i] / W)`, recipient 0 the rest, so the shares always sum to `arrived`.
 */
export function splitShares(list: SplitList, arrived: bigint): bigint[] {
  assertSplitList(list);
  const total = list.weights.reduce((sum, weight) => sum + weight, 0n);
  const shares = list.weights.map((weight) => (arrived * weight) / total);
  shares[0] = arrived - shares.slice(1).reduce((sum, share) => sum + share, 0n);
  return shares;
}
