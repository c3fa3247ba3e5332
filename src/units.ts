import { ETH, type Address } from "./channel.ts";
import { TrickleError } from "./errors.ts";

/**
 * Human amounts ("0.001 USDC") and token base units (1000n for a 6-decimal token), both ways, exactly.
 * Everything is bigint arithmetic on the decimal digits: no float ever touches an amount, so "0.1 ETH" is
 * 100000000000000000n and not a neighbour of it.
 */

/** What a price needs to know about a token: how it is written and how many decimals its base unit has. */
export interface Token {
  /** The ticker people write after an amount, e.g. "USDC". No whitespace. */
  readonly symbol: string;
  /** Digits after the decimal point in one whole token (ERC-20 `decimals()`), 0 to 77. */
  readonly decimals: number;
  /** The ERC-20 contract, or {@link ETH} (the zero address) for ether. */
  readonly address: Address;
}

/** Ether: 18 decimals, the zero token address of ETH channels. */
export const ETH_TOKEN: Token = Object.freeze({ symbol: "ETH", decimals: 18, address: ETH });

/** The text is not an amount: not digits with an optional fraction, a negative, or above 2^256 - 1 units. */
export class AmountMalformedError extends TrickleError {
  readonly code = "AMOUNT_MALFORMED";
}

/** The amount has more fraction digits than the token has decimals ("0.0000001 USDC"); it is never rounded. */
export class AmountTooPreciseError extends TrickleError {
  readonly code = "AMOUNT_TOO_PRECISE";
}

/** The amount names a token symbol that is not among the tokens given (or none was named and several fit). */
export class UnknownTokenError extends TrickleError {
  readonly code = "UNKNOWN_TOKEN";
}

/** A token description is invalid (decimals out of range, empty symbol, address not 20 bytes). */
export class InvalidTokenError extends TrickleError {
  readonly code = "INVALID_TOKEN";
}

/** A price as a caller writes it: base units, or a human amount such as "4.99 USDC". */
export type Amount = bigint | string;

const MAX_UINT256 = (1n << 256n) - 1n;
// 78 digits hold any uint256; the cap keeps a hostile string from costing more than a few microseconds.
const MAX_TEXT_LENGTH = 200;
const NUMBER = /^(\d+)(?:\.(\d+))?$/;
const SYMBOL = /^[^\s\d.][^\s]{0,31}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** Checks a token description and returns it frozen; throws {@link InvalidTokenError}. */
export function defineToken(token: Token): Token {
  if (!Number.isInteger(token.decimals) || token.decimals < 0 || token.decimals > 77) {
    throw new InvalidTokenError(`token decimals must be an integer from 0 to 77, got ${String(token.decimals)}`, { token });
  }
  if (typeof token.symbol !== "string" || !SYMBOL.test(token.symbol)) {
    throw new InvalidTokenError(`token symbol must be 1 to 32 characters without whitespace, not starting with a digit or a dot`, { token });
  }
  if (typeof token.address !== "string" || !ADDRESS.test(token.address)) {
    throw new InvalidTokenError("token address must be 0x and 40 hex digits", { token });
  }
  return Object.freeze({ symbol: token.symbol, decimals: token.decimals, address: token.address });
}

/**
 * Base units of a decimal string with no symbol: `parseUnits("0.001", 6)` is 1000n. Throws
 * {@link AmountMalformedError} or {@link AmountTooPreciseError}; never rounds.
 */
export function parseUnits(text: string, decimals: number): bigint {
  if (typeof text !== "string" || text.length > MAX_TEXT_LENGTH) {
    throw new AmountMalformedError("an amount must be a string of at most 200 characters", { text });
  }
  const match = NUMBER.exec(text);
  if (match === null) {
    throw new AmountMalformedError(`"${text}" is not an amount: digits, optionally a dot and more digits`, { text });
  }
  const whole = match[1]!;
  const fraction = (match[2] ?? "").replace(/0+$/, "");
  if (fraction.length > decimals) {
    throw new AmountTooPreciseError(`"${text}" has ${fraction.length} decimals; the token has ${decimals}`, { text, decimals });
  }
  const units = BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
  if (units > MAX_UINT256) {
    throw new AmountMalformedError(`"${text}" is above 2^256 - 1 base units`, { text, decimals });
  }
  return units;
}

/** Options of {@link formatUnits} and {@link formatAmount}. */
export interface FormatOptions {
  /** Pads the fraction with zeros to at least this many digits ("4.90"); never cuts digits. Default 0. */
  readonly minFractionDigits?: number;
}

/** The shortest exact decimal of `units` base units: `formatUnits(1000n, 6)` is "0.001". */
export function formatUnits(units: bigint, decimals: number, options: FormatOptions = {}): string {
  if (typeof units !== "bigint" || units < 0n) {
    throw new AmountMalformedError("an amount in base units must be a non-negative bigint", { units });
  }
  const scale = 10n ** BigInt(decimals);
  const whole = units / scale;
  let fraction = decimals === 0 ? "" : (units % scale).toString().padStart(decimals, "0").replace(/0+$/, "");
  const min = Math.min(options.minFractionDigits ?? 0, decimals);
  if (fraction.length < min) fraction = fraction.padEnd(min, "0");
  return fraction === "" ? whole.toString() : `${whole}.${fraction}`;
}

/** `formatAmount(1000n, USDC)` is "0.001 USDC". */
export function formatAmount(units: bigint, token: Token, options: FormatOptions = {}): string {
  return `${formatUnits(units, token.decimals, options)} ${token.symbol}`;
}

/** A human amount read back: its base units and the token it named (or the only token it could mean). */
export interface ParsedAmount {
  readonly units: bigint;
  readonly token: Token;
}

/**
 * Reads "0.001 USDC" against the tokens given. A bare number ("0.001") is accepted only when exactly
 * one token is given. Symbols match exactly, then case-insensitively if that is unambiguous.
 */
export function parseAmount(text: string, tokens: Token | readonly Token[]): ParsedAmount {
  const list = Array.isArray(tokens) ? (tokens as readonly Token[]) : [tokens as Token];
  if (typeof text !== "string" || text.length > MAX_TEXT_LENGTH) {
    throw new AmountMalformedError("an amount must be a string of at most 200 characters", { text });
  }
  const parts = text.trim().split(/\s+/);
  if (parts.length > 2 || parts[0] === "") {
    throw new AmountMalformedError(`"${text}" is not an amount: a number, then optionally one token symbol`, { text });
  }
  const token = parts.length === 2 ? tokenBySymbol(parts[1]!, list) : onlyToken(text, list);
  return { units: parseUnits(parts[0]!, token.decimals), token };
}

/**
 * The base units of a price written either way: a bigint is taken as base units of `token`, a string is
 * parsed with {@link parseAmount} and must name `token` (or no token at all).
 */
export function toUnits(amount: Amount, token: Token): bigint {
  if (typeof amount === "bigint") {
    if (amount < 0n || amount > MAX_UINT256) throw new AmountMalformedError("an amount must be from 0 to 2^256 - 1 base units", { amount });
    return amount;
  }
  return parseAmount(amount, token).units;
}

/** The token whose symbol is `symbol` among `tokens`; throws {@link UnknownTokenError}. */
export function tokenBySymbol(symbol: string, tokens: readonly Token[]): Token {
  const exact = tokens.filter((t) => t.symbol === symbol);
  if (exact.length === 1) return exact[0]!;
  const folded = tokens.filter((t) => t.symbol.toLowerCase() === symbol.toLowerCase());
  if (exact.length === 0 && folded.length === 1) return folded[0]!;
  throw new UnknownTokenError(
    exact.length + folded.length === 0 ? `no token "${symbol}" among ${tokens.map((t) => t.symbol).join(", ") || "none"}` : `"${symbol}" names several tokens`,
    { symbol, known: tokens.map((t) => t.symbol) },
  );
}

/** The token whose contract is `address` among `tokens` (case-insensitive hex); throws {@link UnknownTokenError}. */
export function tokenByAddress(address: Address, tokens: readonly Token[]): Token {
  const found = tokens.find((t) => t.address.toLowerCase() === address.toLowerCase());
  if (found === undefined) throw new UnknownTokenError(`no token at ${address}`, { address, known: tokens.map((t) => t.symbol) });
  return found;
}

function onlyToken(text: string, tokens: readonly Token[]): Token {
  if (tokens.length !== 1) {
    throw new UnknownTokenError(`"${text}" names no token and ${tokens.length} are possible`, { text, known: tokens.map((t) => t.symbol) });
  }
  return tokens[0]!;
}
