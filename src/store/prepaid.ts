// Prepaid credit without a bearer credential: a hash chain of one-time tokens (as in PayWord). With a
// voucher that pays ahead for k requests, the payer picks a random seed t_k and publishes the anchor
// t_0 = keccak256^k(t_k), where t_{i-1} = keccak256(t_i). Every request the voucher pays for carries the
// next token t_i (i = 1, 2, ...). The payee binds the anchor to the voucher when the voucher first
// reaches it and then takes each token once: checking one costs a keccak256 or a few, where checking a
// voucher costs a secp256k1 recovery. A token the payee took is spent, and the next one cannot be
// derived from it, so a copy of the voucher and of every token taken so far buys nothing more.
import type { Hex } from "../channel.ts";
import { keccak256 } from "../crypto/keccak.ts";
import { isHex, parseHexInto, toHex } from "../crypto/encoding.ts";

/** What one request presents with a prepaid voucher: the chain's anchor and its token number `index`. */
export interface PrepaidToken {
  /** t_0, bound to the voucher by its first presentation. 32 bytes, lower-case hex. */
  anchor: Hex;
  /** i >= 1: the token's place in the chain. */
  index: number;
  /** t_i, with keccak256^i(t_i) = anchor. 32 bytes, lower-case hex. */
  token: Hex;
}

/** The state of a channel's token chain, kept in its charge ledger next to the credit it counts. */
export interface PrepaidChain {
  anchor: Hex;
  /** The highest token index taken so far (0 before the first: the anchor itself). */
  top: number;
  /** The token at `top`. */
  topToken: Hex;
  /** The indices taken, all within `PREPAID_TOKEN_WINDOW` below `top` (top included when above 0). */
  used: number[];
}

/** The largest token index: the chain of a voucher for the most requests one voucher may prepay. */
export const MAX_PREPAID_TOKENS = 10_000;

/**
 * How far a token may be from the highest one taken, ahead or behind: concurrent requests of one channel
 * reach the payee out of order. A token further behind is refused, one further ahead too (checking it
 * costs one hash a step). Bounds the ledger's index list and the hashes of one check.
 */
export const PREPAID_TOKEN_WINDOW = 64;

const word = new Uint8Array(32);

/** keccak256 applied `times` times to a 32-byte hex value. */
function hashTimes(value: Hex, times: number): Hex {
  if (!parseHexInto(value, word, 0, 32, false)) throw new TypeError("not a 32-byte hex value");
  let bytes: Uint8Array = word;
  for (let i = 0; i < times; i++) bytes = keccak256(bytes);
  return toHex(bytes);
}

/** Whether `value` is a token shape: an index in [1, MAX_PREPAID_TOKENS] and two lower-case 32-byte hex words. */
export function isPrepaidToken(value: unknown): value is PrepaidToken {
  if (value === null || typeof value !== "object") return false;
  const { anchor, index, token } = value as Record<string, unknown>;
  return (
    typeof index === "number" &&
    Number.isSafeInteger(index) &&
    index >= 1 &&
    index <= MAX_PREPAID_TOKENS &&
    isLowerWord(anchor) &&
    isLowerWord(token)
  );
}

function isLowerWord(value: unknown): value is Hex {
  return isHex(value, 32) && value === value.toLowerCase();
}

/** A fresh chain bound to `anchor`: nothing taken yet. */
export function startChain(anchor: Hex): PrepaidChain {
  return { anchor, top: 0, topToken: anchor, used: [] };
}

/**
 * Takes `presented` from `chain`: the chain after it, or undefined when the token is not the next of the
 * chain's unspent ones within the window (another anchor, a forged or spent token, or too far away).
 */
export function takeToken(chain: PrepaidChain, presented: PrepaidToken): PrepaidChain | undefined {
  const { index, token } = presented;
  if (presented.anchor !== chain.anchor || index === chain.top || chain.used.includes(index)) return undefined;
  if (index > chain.top) {
    if (index - chain.top > PREPAID_TOKEN_WINDOW || hashTimes(token, index - chain.top) !== chain.topToken) return undefined;
    return { anchor: chain.anchor, top: index, topToken: token, used: [...chain.used, index].filter((i) => i > index - PREPAID_TOKEN_WINDOW) };
  }
  if (chain.top - index >= PREPAID_TOKEN_WINDOW || hashTimes(chain.topToken, chain.top - index) !== token) return undefined;
  return { ...chain, used: [...chain.used, index] };
}

/** The tokens of a new chain of `count` tokens from `seed` (32 bytes): `tokens[i - 1]` is t_i, `anchor` t_0. */
export function prepaidChain(seed: Uint8Array, count: number): { anchor: Hex; tokens: Hex[] } {
  if (seed.length !== 32) throw new TypeError("the seed is 32 bytes");
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_PREPAID_TOKENS) throw new TypeError(`count is 1 to ${MAX_PREPAID_TOKENS}`);
  const tokens: Hex[] = new Array(count);
  let bytes = seed;
  tokens[count - 1] = toHex(bytes);
  for (let i = count - 1; i >= 1; i--) {
    bytes = keccak256(bytes);
    tokens[i - 1] = toHex(bytes);
  }
  return { anchor: toHex(keccak256(bytes)), tokens };
}

/** The chain as one text column: `anchor:top:topToken:used,...`, or "" for none. */
export function encodeChain(chain: PrepaidChain | undefined): string {
  return chain === undefined ? "" : `${chain.anchor}:${chain.top}:${chain.topToken}:${chain.used.join(",")}`;
}

const CHAIN = /^(0x[0-9a-f]{64}):(0|[1-9][0-9]{0,4}):(0x[0-9a-f]{64}):((?:[1-9][0-9]{0,4})(?:,[1-9][0-9]{0,4})*)?$/;

/** Reads {@link encodeChain}'s text back; throws on anything it did not write. */
export function decodeChain(text: string): PrepaidChain | undefined {
  if (text === "") return undefined;
  const match = CHAIN.exec(text);
  if (match === null) throw new TypeError("not a prepaid token chain");
  const used = match[4];
  return { anchor: match[1] as Hex, top: Number(match[2]), topToken: match[3] as Hex, used: used === undefined ? [] : used.split(",").map(Number) };
}

/** `{ prepaid }` for a stored chain column, `{}` for an empty one: spread into a ledger read from a row. */
export function optionalChain(text: string): { prepaid?: PrepaidChain } {
  const chain = decodeChain(text);
  return chain === undefined ? {} : { prepaid: chain };
}
