/**
 * Hex and base64 codecs for the voucher hot path. They return `undefined` on any bad character
 * instead of throwing, so the caller chooses the typed error. They run in browsers; where the runtime
 * has a `Buffer` (Node), the padded base64 of the HTTP headers uses its native codec, with the same results.
 */

/** Node's Buffer, reached without an import so browser bundles see no Node-only dependency. */
const NativeBuffer = (globalThis as { Buffer?: typeof import("node:buffer").Buffer }).Buffer;

/** Nibble value of each ASCII code, -1 when not a hex digit; `LOWER` accepts only lowercase digits. */
const NIBBLE_ANY_CASE = new Int8Array(128).fill(-1);
const NIBBLE_LOWER = new Int8Array(128).fill(-1);
for (let value = 0; value < 16; value++) {
  const lower = value.toString(16);
  NIBBLE_ANY_CASE[lower.charCodeAt(0)] = value;
  NIBBLE_ANY_CASE[lower.toUpperCase().charCodeAt(0)] = value;
  NIBBLE_LOWER[lower.charCodeAt(0)] = value;
}

const HEX_OF_BYTE: string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/**
 * Parses `0x` + exactly `2 * byteLength` hex digits into `out` at `offset`. Returns false (and leaves `out`
 * partly written) on a wrong length, a missing prefix or a bad digit. `lowercaseOnly` refuses `A-F`, so that
 * one value has one spelling (stores key channels by the id string).
 */
export function parseHexInto(
  hex: unknown,
  out: Uint8Array,
  offset: number,
  byteLength: number,
  lowercaseOnly: boolean,
): boolean {
  if (typeof hex !== "string" || hex.length !== 2 + 2 * byteLength) return false;
  if (hex.charCodeAt(0) !== 0x30 || hex.charCodeAt(1) !== 0x78) return false; // "0x"
  const table = lowercaseOnly ? NIBBLE_LOWER : NIBBLE_ANY_CASE;
  for (let i = 0; i < byteLength; i++) {
    const high = hex.charCodeAt(2 + 2 * i);
    const low = hex.charCodeAt(3 + 2 * i);
    // Codes >= 128 index past the table and read `undefined`, which the `>= 0` tests refuse.
    const value = (table[high] << 4) | table[low];
    if (!(table[high] >= 0 && table[low] >= 0)) return false;
    out[offset + i] = value;
  }
  return true;
}

/** Whether `value` is `0x` and exactly `2 * byteLength` hex digits (either case). */
export function isHex(value: unknown, byteLength: number): value is `0x${string}` {
  if (typeof value !== "string" || value.length !== 2 + 2 * byteLength) return false;
  if (value.charCodeAt(0) !== 0x30 || value.charCodeAt(1) !== 0x78) return false;
  for (let i = 2; i < value.length; i++) {
    // Codes >= 128 index past the table and read `undefined`, which `>= 0` refuses.
    if (!(NIBBLE_ANY_CASE[value.charCodeAt(i)] >= 0)) return false;
  }
  return true;
}

/** Lowercase `0x` hex of `bytes[start, end)`. */
export function toHex(bytes: Uint8Array, start = 0, end = bytes.length): `0x${string}` {
  let hex = "0x";
  for (let i = start; i < end; i++) hex += HEX_OF_BYTE[bytes[i]];
  return hex as `0x${string}`;
}

const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const SEXTET = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) SEXTET[BASE64URL_ALPHABET.charCodeAt(i)] = i;

/**
 * Unpadded base64url of `bytes`, whose length must be a multiple of 3: then every 4 characters carry exactly
 * 3 bytes, no padding bits exist, and each byte string has exactly one encoding (the decoder can be strict).
 */
export function toBase64UrlTriplets(bytes: Uint8Array): string {
  if (bytes.length % 3 !== 0) throw new RangeError(`length ${bytes.length} is not a multiple of 3`);
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const triplet = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out +=
      BASE64URL_ALPHABET[triplet >>> 18] +
      BASE64URL_ALPHABET[(triplet >>> 12) & 63] +
      BASE64URL_ALPHABET[(triplet >>> 6) & 63] +
      BASE64URL_ALPHABET[triplet & 63];
  }
  return out;
}

/** Inverse of {@link toBase64UrlTriplets} for exactly `byteLength` bytes; `undefined` on anything else. */
export function fromBase64UrlTriplets(text: unknown, byteLength: number): Uint8Array | undefined {
  if (byteLength % 3 !== 0) throw new RangeError(`length ${byteLength} is not a multiple of 3`);
  if (typeof text !== "string" || text.length !== (byteLength / 3) * 4) return undefined;
  const out = new Uint8Array(byteLength);
  for (let i = 0, j = 0; i < text.length; i += 4, j += 3) {
    const a = SEXTET[text.charCodeAt(i)];
    const b = SEXTET[text.charCodeAt(i + 1)];
    const c = SEXTET[text.charCodeAt(i + 2)];
    const d = SEXTET[text.charCodeAt(i + 3)];
    // Codes >= 128 read `undefined` past the table: `>= 0` is false for them too.
    if (!(a >= 0 && b >= 0 && c >= 0 && d >= 0)) return undefined;
    const triplet = (a << 18) | (b << 12) | (c << 6) | d;
    out[j] = triplet >>> 16;
    out[j + 1] = (triplet >>> 8) & 0xff;
    out[j + 2] = triplet & 0xff;
  }
  return out;
}

const BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64_SEXTET = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) BASE64_SEXTET[BASE64_ALPHABET.charCodeAt(i)] = i;

/** Padded standard base64 (RFC 4648 section 4) of any bytes: the HTTP headers' encoding. */
export function toBase64(bytes: Uint8Array): string {
  if (NativeBuffer !== undefined) return NativeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("base64");
  let out = "";
  const whole = bytes.length - (bytes.length % 3);
  for (let i = 0; i < whole; i += 3) {
    const triplet = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out +=
      BASE64_ALPHABET[triplet >>> 18] +
      BASE64_ALPHABET[(triplet >>> 12) & 63] +
      BASE64_ALPHABET[(triplet >>> 6) & 63] +
      BASE64_ALPHABET[triplet & 63];
  }
  const rest = bytes.length - whole;
  if (rest === 1) {
    const value = bytes[whole] << 16;
    out += BASE64_ALPHABET[value >>> 18] + BASE64_ALPHABET[(value >>> 12) & 63] + "==";
  } else if (rest === 2) {
    const value = (bytes[whole] << 16) | (bytes[whole + 1] << 8);
    out += BASE64_ALPHABET[value >>> 18] + BASE64_ALPHABET[(value >>> 12) & 63] + BASE64_ALPHABET[(value >>> 6) & 63] + "=";
  }
  return out;
}

/**
 * Strict inverse of {@link toBase64}: `undefined` unless `text` is exactly what `toBase64` writes for some
 * bytes (padded to a multiple of 4, no stray characters, zero padding bits), so one payload has one spelling.
 */
export function fromBase64(text: unknown): Uint8Array | undefined {
  if (typeof text !== "string" || text.length % 4 !== 0) return undefined;
  if (NativeBuffer !== undefined) {
    // Node's decoder skips characters outside the alphabet and ignores stray bits: the text is the
    // one spelling of its bytes exactly when encoding them gives it back.
    const bytes = NativeBuffer.from(text, "base64");
    return bytes.toString("base64") === text ? new Uint8Array(bytes) : undefined;
  }
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let j = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    const a = BASE64_SEXTET[text.charCodeAt(i)];
    const b = BASE64_SEXTET[text.charCodeAt(i + 1)];
    // Padding may only stand in the last group's final one or two places.
    const c = last && padding === 2 ? 0 : BASE64_SEXTET[text.charCodeAt(i + 2)];
    const d = last && padding >= 1 ? 0 : BASE64_SEXTET[text.charCodeAt(i + 3)];
    if (!(a >= 0 && b >= 0 && c >= 0 && d >= 0)) return undefined;
    const triplet = (a << 18) | (b << 12) | (c << 6) | d;
    if (last && padding === 2) {
      if ((triplet & 0xffff) !== 0) return undefined; // stray bits under the padding
      out[j] = triplet >>> 16;
    } else if (last && padding === 1) {
      if ((triplet & 0xff) !== 0) return undefined;
      out[j] = triplet >>> 16;
      out[j + 1] = (triplet >>> 8) & 0xff;
    } else {
      out[j] = triplet >>> 16;
      out[j + 1] = (triplet >>> 8) & 0xff;
      out[j + 2] = triplet & 0xff;
    }
    j += 3;
  }
  return out;
}
