// Log queries in windows of at most `maxBlockRange` blocks: public RPC providers refuse `eth_getLogs`
// over wide ranges (often above 1,000 to 10,000 blocks), and a query from block 0 to `latest` fails on
// all of them.
import { InvalidArgumentError } from "../errors.ts";

/** Blocks per `eth_getLogs` call when the adapter is not told otherwise: accepted by common public providers. */
export const DEFAULT_MAX_BLOCK_RANGE = 1_000n;

export function checkMaxBlockRange(maxBlockRange: bigint | undefined): bigint {
  const range = maxBlockRange ?? DEFAULT_MAX_BLOCK_RANGE;
  if (typeof range !== "bigint" || range < 1n) throw new InvalidArgumentError("maxBlockRange must be a positive bigint", { maxBlockRange });
  return range;
}

/** `[from, to]` cut into consecutive windows of at most `size` blocks, oldest first. */
export function* windowsForward(from: bigint, to: bigint, size: bigint): Generator<[bigint, bigint]> {
  for (let start = from; start <= to; start += size) yield [start, start + size - 1n < to ? start + size - 1n : to];
}

/** `[from, to]` cut into windows of at most `size` blocks, newest first. */
export function* windowsBackward(from: bigint, to: bigint, size: bigint): Generator<[bigint, bigint]> {
  for (let end = to; end >= from; end -= size) yield [end - size + 1n > from ? end - size + 1n : from, end];
}
