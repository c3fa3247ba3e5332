// The three HTTP payment headers, as in x402 v2: each carries base64(JSON). Decoding is strict
// (exact keys, canonical base64, bounded size, decimal-string amounts) because every byte of these
// headers comes from whoever is on the other side of the socket.
import { MAX_CLOSE_DELAY } from "../channel.ts";
import type { Address, ChannelConfig, Hex } from "../channel.ts";
import { fromBase64, isHex, toBase64 } from "../crypto/encoding.ts";
import { MalformedVoucherError } from "../errors.ts";
import { MAX_PREPAID_TOKENS, type PrepaidToken } from "../store/prepaid.ts";

/** Server → client, with status 402: what to pay, and why the last payment was refused. */
export const PAYMENT_REQUIRED_HEADER = "PAYMENT-REQUIRED";
/** Client → server: the voucher that pays for this request. */
export const PAYMENT_SIGNATURE_HEADER = "PAYMENT-SIGNATURE";
/** Server → client, on a paid response: what was charged. */
export const PAYMENT_RESPONSE_HEADER = "PAYMENT-RESPONSE";

/**
 * Client → server, beside a prepaid voucher (a payee whose 402 says `prepaid`): the one-time token of
 * this request, `anchor:index:token` (src/store/prepaid.ts). The voucher header stays the same bytes for
 * every request the voucher pays for; this one changes with each.
 */
export const PAYMENT_PREPAID_HEADER = "PAYMENT-PREPAID";

/** The payment scheme of Trickle channels in the headers. */
export const TRICKLE_SCHEME = "trickle-channel";

/** Bytes a payment header may take; a first payment with its config is about 900. */
export const MAX_PAYMENT_HEADER_BYTES = 4096;

const UINT256_MAX = (1n << 256n) - 1n;

/** Why a payment was refused: the stable codes of src/errors.ts, plus INSUFFICIENT_PAYMENT. */
export type PaymentErrorCode =
  | "MALFORMED"
  | "BAD_SIGNATURE"
  | "UNKNOWN_CHANNEL"
  | "CHANNEL_NOT_OPEN"
  | "WRONG_PAYEE"
  | "WRONG_CHAIN"
  | "NOT_INCREASING"
  | "EXCEEDS_DEPOSIT"
  | "CHANNEL_CLOSING"
  | "CLOSE_DELAY_TOO_SHORT"
  | "WRONG_TOKEN"
  | "INSUFFICIENT_PAYMENT"
  | "UNAVAILABLE";

const PAYMENT_ERROR_CODES: ReadonlySet<string> = new Set<PaymentErrorCode>([
  "MALFORMED",
  "BAD_SIGNATURE",
  "UNKNOWN_CHANNEL",
  "CHANNEL_NOT_OPEN",
  "WRONG_PAYEE",
  "WRONG_CHAIN",
  "NOT_INCREASING",
  "EXCEEDS_DEPOSIT",
  "CHANNEL_CLOSING",
  "CLOSE_DELAY_TOO_SHORT",
  "WRONG_TOKEN",
  "INSUFFICIENT_PAYMENT",
  "UNAVAILABLE",
]);

export function isPaymentErrorCode(code: string): code is PaymentErrorCode {
  return PAYMENT_ERROR_CODES.has(code);
}

/** The body of `PAYMENT-REQUIRED`. */
export interface PaymentRequirements {
  scheme: typeof TRICKLE_SCHEME;
  chainId: bigint;
  /** The `PaymentChannels` contract. */
  contract: Address;
  payee: Address;
  /** ERC-20 token, or ETH (the zero address). */
  token: Address;
  /** What this request costs: the voucher must raise the cumulative amount by at least this. */
  price: bigint;
  /** The smallest deposit of a channel this payee accepts. */
  minDeposit: bigint;
  /** The shortest `closeDelay` (seconds) this payee accepts. */
  minCloseDelay: bigint;
  /**
   * Every token this request may be paid in, each with its own price and deposit, as x402's `accepts`
   * list. Present only when the payee prices several tokens; its first entry is the top-level
   * `token` / `price` / `minDeposit`, so a client that reads only those still pays correctly.
   */
  accepts?: PaymentOffer[];
  /**
   * Present (and `true`) when the payee takes prepaid credit: a channel's best voucher, sent again, pays
   * for another request while the credit it left covers the price (docs/http.md, "Prepaid credit").
   */
  prepaid?: true;
  /** Set when a payment was present and refused. */
  error?: PaymentErrorCode;
  /** The refused payment's channel, when known. */
  channelId?: Hex;
  /** The best cumulative amount the payee holds for that channel (lets a payer resynchronise). */
  cumulative?: bigint;
}

/** One token a request may be paid in, and what it costs in that token's base units. */
export interface PaymentOffer {
  token: Address;
  price: bigint;
  minDeposit: bigint;
}

/** Most entries of `accepts` a decoder takes. */
export const MAX_PAYMENT_OFFERS = 16;

/** The body of `PAYMENT-SIGNATURE`. */
export interface PaymentPayload {
  scheme: typeof TRICKLE_SCHEME;
  chainId: bigint;
  contract: Address;
  channelId: Hex;
  /** Cumulative amount of the voucher. */
  amount: bigint;
  /** 65 bytes r|s|v. */
  signature: Hex;
  /** The channel's config, sent with the first payment so the payee need not search logs. */
  config?: ChannelConfig;
}

/** The body of `PAYMENT-RESPONSE`. */
export interface PaymentReceipt {
  channelId: Hex;
  /** What this request raised the cumulative amount by. */
  charged: bigint;
  /** The channel's cumulative amount after this request. */
  cumulative: bigint;
  /** The deposit minus the cumulative amount. */
  depositRemaining: bigint;
}

// ---------------------------------------------------------------- encoding

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function toJson(value: unknown): Json {
  if (typeof value === "bigint") return value.toString(10);
  if (Array.isArray(value)) return value.map(toJson);
  if (value !== null && typeof value === "object") {
    const out: { [key: string]: Json } = {};
    for (const [key, inner] of Object.entries(value)) {
      if (inner !== undefined) out[key] = toJson(inner);
    }
    return out;
  }
  return value as Json;
}

const utf8Encoder = new TextEncoder();

function encode(value: object): string {
  return toBase64(utf8Encoder.encode(JSON.stringify(toJson(value))));
}

export function encodePaymentRequired(requirements: PaymentRequirements): string {
  return encode(requirements);
}

export function encodePaymentPayload(payload: PaymentPayload): string {
  return encode(payload);
}

/** The receipt of every paid request: its JSON written directly (the same bytes as `encode`), one field after the other. */
export function encodePaymentReceipt(receipt: PaymentReceipt): string {
  const { channelId, charged, cumulative, depositRemaining } = receipt;
  const json = `{"channelId":${JSON.stringify(channelId)},"charged":"${charged}","cumulative":"${cumulative}","depositRemaining":"${depositRemaining}"}`;
  return toBase64(utf8Encoder.encode(json));
}

// ---------------------------------------------------------------- strict decoding

const DECIMAL = /^(0|[1-9][0-9]{0,77})$/;
const ADDRESS_BYTES = 20;
const WORD_BYTES = 32;
const SIGNATURE_BYTES = 65;
const utf8 = new TextDecoder("utf-8", { fatal: true });

function malformed(header: string, reason: string): MalformedVoucherError {
  return new MalformedVoucherError(`${header} header is malformed: ${reason}`, { header, reason });
}

function decodeObject(header: string, value: string, maxBytes: number): Record<string, unknown> {
  if (value.length > maxBytes) throw malformed(header, `longer than ${maxBytes} bytes`);
  // Strict: non-canonical base64 (stray bits in the padding) would let two strings mean one payload.
  const bytes = value.length === 0 ? undefined : fromBase64(value);
  if (bytes === undefined) throw malformed(header, "not canonical base64");
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(bytes));
  } catch {
    throw malformed(header, "not UTF-8 JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw malformed(header, "not an object");
  return parsed as Record<string, unknown>;
}

function checkKeys(header: string, object: Record<string, unknown>, required: string[], optional: string[]): void {
  for (const key of required) {
    if (!(key in object)) throw malformed(header, `missing ${key}`);
  }
  for (const key of Object.keys(object)) {
    if (!required.includes(key) && !optional.includes(key)) throw malformed(header, `unknown field ${key}`);
  }
}

function uint(header: string, object: Record<string, unknown>, key: string, max = UINT256_MAX): bigint {
  const value = object[key];
  if (typeof value !== "string" || !DECIMAL.test(value)) throw malformed(header, `${key} is not a decimal string`);
  const parsed = BigInt(value);
  if (parsed > max) throw malformed(header, `${key} is out of range`);
  return parsed;
}

/** A `0x` hex field of exactly `byteLength` bytes. */
function matching(header: string, object: Record<string, unknown>, key: string, byteLength: number): `0x${string}` {
  const value = object[key];
  if (!isHex(value, byteLength)) throw malformed(header, `${key} is not well-formed`);
  return value;
}

function decodeConfig(header: string, value: unknown): ChannelConfig {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw malformed(header, "config is not an object");
  const config = value as Record<string, unknown>;
  checkKeys(header, config, ["payer", "payee", "token", "signer", "closeDelay", "salt"], []);
  return {
    payer: matching(header, config, "payer", ADDRESS_BYTES),
    payee: matching(header, config, "payee", ADDRESS_BYTES),
    token: matching(header, config, "token", ADDRESS_BYTES),
    signer: matching(header, config, "signer", ADDRESS_BYTES),
    closeDelay: uint(header, config, "closeDelay", MAX_CLOSE_DELAY),
    salt: matching(header, config, "salt", WORD_BYTES),
  };
}

function scheme(header: string, object: Record<string, unknown>): typeof TRICKLE_SCHEME {
  if (object.scheme !== TRICKLE_SCHEME) throw malformed(header, `scheme is not ${TRICKLE_SCHEME}`);
  return TRICKLE_SCHEME;
}

export function encodePrepaidToken(token: PrepaidToken): string {
  return `${token.anchor}:${token.index}:${token.token}`;
}

const PREPAID_TOKEN = /^(0x[0-9a-f]{64}):([1-9][0-9]{0,4}):(0x[0-9a-f]{64})$/;

/** Decodes `PAYMENT-PREPAID`; throws {@link MalformedVoucherError} on anything off (lower-case hex only). */
export function decodePrepaidToken(value: string): PrepaidToken {
  const match = PREPAID_TOKEN.exec(value);
  const index = match === null ? 0 : Number(match[2]);
  if (match === null || index > MAX_PREPAID_TOKENS) {
    throw malformed(PAYMENT_PREPAID_HEADER, `not anchor:index:token (lower-case 32-byte hex words, an index from 1 to ${MAX_PREPAID_TOKENS})`);
  }
  return { anchor: match[1] as Hex, index, token: match[3] as Hex };
}

/** Decodes `PAYMENT-SIGNATURE`; throws {@link MalformedVoucherError} on anything off. */
export function decodePaymentPayload(value: string, maxBytes = MAX_PAYMENT_HEADER_BYTES): PaymentPayload {
  const header = PAYMENT_SIGNATURE_HEADER;
  const object = decodeObject(header, value, maxBytes);
  checkKeys(header, object, ["scheme", "chainId", "contract", "channelId", "amount", "signature"], ["config"]);
  const payload: PaymentPayload = {
    scheme: scheme(header, object),
    chainId: uint(header, object, "chainId"),
    contract: matching(header, object, "contract", ADDRESS_BYTES),
    channelId: matching(header, object, "channelId", WORD_BYTES),
    amount: uint(header, object, "amount"),
    signature: matching(header, object, "signature", SIGNATURE_BYTES),
  };
  if (object.config !== undefined) payload.config = decodeConfig(header, object.config);
  return payload;
}

/** Decodes `PAYMENT-REQUIRED`; throws {@link MalformedVoucherError} on anything off. */
export function decodePaymentRequired(value: string, maxBytes = MAX_PAYMENT_HEADER_BYTES): PaymentRequirements {
  const header = PAYMENT_REQUIRED_HEADER;
  const object = decodeObject(header, value, maxBytes);
  checkKeys(
    header,
    object,
    ["scheme", "chainId", "contract", "payee", "token", "price", "minDeposit", "minCloseDelay"],
    ["accepts", "prepaid", "error", "channelId", "cumulative"],
  );
  const requirements: PaymentRequirements = {
    scheme: scheme(header, object),
    chainId: uint(header, object, "chainId"),
    contract: matching(header, object, "contract", ADDRESS_BYTES),
    payee: matching(header, object, "payee", ADDRESS_BYTES),
    token: matching(header, object, "token", ADDRESS_BYTES),
    price: uint(header, object, "price"),
    minDeposit: uint(header, object, "minDeposit"),
    minCloseDelay: uint(header, object, "minCloseDelay", MAX_CLOSE_DELAY),
  };
  if (object.accepts !== undefined) requirements.accepts = decodeOffers(header, object.accepts, requirements);
  if (object.prepaid !== undefined) {
    if (object.prepaid !== true) throw malformed(header, "prepaid is not true");
    requirements.prepaid = true;
  }
  if (object.error !== undefined) {
    if (typeof object.error !== "string" || !isPaymentErrorCode(object.error)) throw malformed(header, "unknown error code");
    requirements.error = object.error;
  }
  if (object.channelId !== undefined) requirements.channelId = matching(header, object, "channelId", WORD_BYTES);
  if (object.cumulative !== undefined) requirements.cumulative = uint(header, object, "cumulative");
  return requirements;
}

function decodeOffers(header: string, value: unknown, top: PaymentRequirements): PaymentOffer[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_PAYMENT_OFFERS) {
    throw malformed(header, `accepts is not a list of 1 to ${MAX_PAYMENT_OFFERS} offers`);
  }
  const offers = value.map((entry: unknown) => {
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) throw malformed(header, "an offer is not an object");
    const offer = entry as Record<string, unknown>;
    checkKeys(header, offer, ["token", "price", "minDeposit"], []);
    return { token: matching(header, offer, "token", ADDRESS_BYTES), price: uint(header, offer, "price"), minDeposit: uint(header, offer, "minDeposit") };
  });
  if (new Set(offers.map((o) => o.token.toLowerCase())).size !== offers.length) throw malformed(header, "accepts names a token twice");
  const first = offers[0]!;
  if (first.token.toLowerCase() !== top.token.toLowerCase() || first.price !== top.price || first.minDeposit !== top.minDeposit) {
    throw malformed(header, "the first offer of accepts is not the top-level token, price and minDeposit");
  }
  return offers;
}

/** Decodes `PAYMENT-RESPONSE`; throws {@link MalformedVoucherError} on anything off. */
export function decodePaymentReceipt(value: string, maxBytes = MAX_PAYMENT_HEADER_BYTES): PaymentReceipt {
  const header = PAYMENT_RESPONSE_HEADER;
  const object = decodeObject(header, value, maxBytes);
  checkKeys(header, object, ["channelId", "charged", "cumulative", "depositRemaining"], []);
  return {
    channelId: matching(header, object, "channelId", WORD_BYTES),
    charged: uint(header, object, "charged"),
    cumulative: uint(header, object, "cumulative"),
    depositRemaining: uint(header, object, "depositRemaining"),
  };
}
