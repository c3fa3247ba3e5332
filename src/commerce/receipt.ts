/**
 * Receipts: what the payee signs for every purchase and every subscription period, so that a payer can
 * prove what it paid for and the payee what it sold, offline, with the payee's address alone.
 *
 * EIP-712 struct `Receipt` under its own domain `{name: "Trickle Receipt", version: "1", chainId,
 * verifyingContract}` (the `PaymentChannels` deployment the payment went through). A receipt signature can
 * never pass for a voucher or the other way round: the domain names differ, so the digests differ.
 * Hashing and signing use the SDK's Keccak and secp256k1 backend (no ethers, no Node built-ins).
 */
import type { Address, Hex } from "../channel.ts";
import { InvalidArgumentError } from "../errors.ts";
import { parseHexInto, toHex } from "../crypto/encoding.ts";
import { keccak256 } from "../crypto/keccak.ts";
import { defaultSecp256k1Backend } from "../crypto/secp256k1.ts";
import type { VoucherDomain } from "../voucher.ts";
import { BadReceiptError } from "./errors.ts";

/** What a receipt is for: an in-app purchase, or one subscription period. */
export type ReceiptKind = "purchase" | "period";

/** The signed facts of one sale. Times are unix seconds; a purchase has `validFrom = validUntil = 0`. */
export interface ReceiptFields {
  kind: ReceiptKind;
  /** The purchase id the app chose, or the period key (`period:<plan>:<sequence>`). Unique per payer. */
  key: string;
  /** Catalog item id, or plan id. */
  item: string;
  /** The channel's payer (not its session key): whom the receipt is for. */
  payer: Address;
  channelId: Hex;
  token: Address;
  /** What the sale cost, in token base units. */
  price: bigint;
  /** The channel's cumulative voucher amount that paid for it. */
  cumulativeAmount: bigint;
  validFrom: bigint;
  validUntil: bigint;
  issuedAt: bigint;
}

/** A receipt: its fields and the payee's 65-byte signature `r | s | v`. */
export interface Receipt extends ReceiptFields {
  signature: Hex;
}

export const RECEIPT_TYPE =
  "Receipt(string kind,string key,string item,address payer,bytes32 channelId,address token,uint256 price,uint256 cumulativeAmount,uint64 validFrom,uint64 validUntil,uint64 issuedAt)";

/** The EIP-712 types, in the shape viem's and ethers' typed-data functions take. */
export const RECEIPT_TYPES = {
  Receipt: [
    { name: "kind", type: "string" },
    { name: "key", type: "string" },
    { name: "item", type: "string" },
    { name: "payer", type: "address" },
    { name: "channelId", type: "bytes32" },
    { name: "token", type: "address" },
    { name: "price", type: "uint256" },
    { name: "cumulativeAmount", type: "uint256" },
    { name: "validFrom", type: "uint64" },
    { name: "validUntil", type: "uint64" },
    { name: "issuedAt", type: "uint64" },
  ],
} as const;

/** The full EIP-712 domain of receipts on a deployment, for viem and ethers. */
export function receiptDomain(domain: VoucherDomain): { name: "Trickle Receipt"; version: "1"; chainId: bigint; verifyingContract: Address } {
  return { name: "Trickle Receipt", version: "1", chainId: domain.chainId, verifyingContract: domain.verifyingContract };
}

const utf8 = new TextEncoder();
const RECEIPT_TYPEHASH = keccak256(utf8.encode(RECEIPT_TYPE));
const DOMAIN_TYPEHASH = keccak256(utf8.encode("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"));
const UINT64_LIMIT = 1n << 64n;
const UINT256_LIMIT = 1n << 256n;
// Bounds a hostile receipt's hashing cost; ids and item names are short in practice.
const MAX_TEXT = 256;

function word(out: Uint8Array, index: number, value: bigint): void {
  for (let i = 31; i >= 0; i--) {
    out[index * 32 + i] = Number(value & 0xffn);
    value >>= 8n;
  }
}

function bad(field: string, reason: string, value: unknown): BadReceiptError {
  return new BadReceiptError(`receipt ${field}: ${reason}`, { field, reason, value });
}

function putHex(out: Uint8Array, index: number, value: unknown, bytes: number, field: string): void {
  if (!parseHexInto(value, out, index * 32 + 32 - bytes, bytes, false)) throw bad(field, `not ${bytes} bytes of 0x-prefixed hex`, value);
}

function putUint(out: Uint8Array, index: number, value: unknown, limit: bigint, field: string): void {
  if (typeof value !== "bigint" || value < 0n || value >= limit) throw bad(field, `not a bigint in [0, ${limit})`, value);
  word(out, index, value);
}

function putText(out: Uint8Array, index: number, value: unknown, field: string): void {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_TEXT) throw bad(field, `not a string of 1 to ${MAX_TEXT} characters`, value);
  out.set(keccak256(utf8.encode(value)), index * 32);
}

/** `hashStruct(receipt)`; throws {@link BadReceiptError} on a field of the wrong shape. */
function structHash(fields: ReceiptFields): Uint8Array {
  const block = new Uint8Array(32 * 12);
  block.set(RECEIPT_TYPEHASH, 0);
  if (fields.kind !== "purchase" && fields.kind !== "period") throw bad("kind", "not purchase or period", fields.kind);
  putText(block, 1, fields.kind, "kind");
  putText(block, 2, fields.key, "key");
  putText(block, 3, fields.item, "item");
  putHex(block, 4, fields.payer, 20, "payer");
  putHex(block, 5, fields.channelId, 32, "channelId");
  putHex(block, 6, fields.token, 20, "token");
  putUint(block, 7, fields.price, UINT256_LIMIT, "price");
  putUint(block, 8, fields.cumulativeAmount, UINT256_LIMIT, "cumulativeAmount");
  putUint(block, 9, fields.validFrom, UINT64_LIMIT, "validFrom");
  putUint(block, 10, fields.validUntil, UINT64_LIMIT, "validUntil");
  putUint(block, 11, fields.issuedAt, UINT64_LIMIT, "issuedAt");
  return keccak256(block);
}

const separators = new Map<string, Uint8Array>();

function separatorOf(domain: VoucherDomain): Uint8Array {
  const key = `${domain.chainId}:${String(domain.verifyingContract).toLowerCase()}`;
  let separator = separators.get(key);
  if (separator === undefined) {
    const block = new Uint8Array(32 * 5);
    block.set(DOMAIN_TYPEHASH, 0);
    block.set(keccak256(utf8.encode("Trickle Receipt")), 32);
    block.set(keccak256(utf8.encode("1")), 64);
    if (typeof domain.chainId !== "bigint" || domain.chainId < 0n || domain.chainId >= UINT256_LIMIT) {
      throw new InvalidArgumentError("chainId must be a uint256 bigint", { chainId: domain.chainId });
    }
    word(block, 3, domain.chainId);
    if (!parseHexInto(domain.verifyingContract, block, 4 * 32 + 12, 20, false)) {
      throw new InvalidArgumentError("verifyingContract must be an address", { verifyingContract: domain.verifyingContract });
    }
    separator = keccak256(block);
    if (separators.size > 64) separators.clear();
    separators.set(key, separator);
  }
  return separator;
}

function digestBytes(domain: VoucherDomain, fields: ReceiptFields): Uint8Array {
  const block = new Uint8Array(66);
  block[0] = 0x19;
  block[1] = 0x01;
  block.set(separatorOf(domain), 2);
  block.set(structHash(fields), 34);
  return keccak256(block);
}

/** The EIP-712 digest of a receipt (equal to viem's `hashTypedData` over {@link RECEIPT_TYPES}). */
export function receiptDigest(domain: VoucherDomain, fields: ReceiptFields): Hex {
  return toHex(digestBytes(domain, fields));
}

/** The receipt's fields alone, copied (what gets hashed; anything else on the object is ignored). */
export function receiptFields(receipt: ReceiptFields): ReceiptFields {
  const { kind, key, item, payer, channelId, token, price, cumulativeAmount, validFrom, validUntil, issuedAt } = receipt;
  return { kind, key, item, payer, channelId, token, price, cumulativeAmount, validFrom, validUntil, issuedAt };
}

/** Signs a receipt with the payee's key (deterministic, low `s`, `v` 27 or 28). */
export function signReceipt(domain: VoucherDomain, fields: ReceiptFields, privateKey: Hex): Receipt {
  const digest = digestBytes(domain, fields);
  const key = new Uint8Array(32);
  if (!parseHexInto(privateKey, key, 0, 32, false)) throw new InvalidArgumentError("privateKey must be 32 bytes of 0x-prefixed hex");
  try {
    const signed = defaultSecp256k1Backend.sign(digest, key);
    return { ...receiptFields(fields), signature: `${toHex(signed.signature)}${signed.recovery === 0 ? "1b" : "1c"}` };
  } catch (cause) {
    throw new InvalidArgumentError("privateKey is not a secp256k1 private key", {}, { cause });
  } finally {
    key.fill(0);
  }
}

/** The lower-case address whose key signed `receipt`; throws {@link BadReceiptError}. */
export function recoverReceiptSigner(domain: VoucherDomain, receipt: Receipt): Address {
  const digest = digestBytes(domain, receipt);
  const signature = new Uint8Array(65);
  if (!parseHexInto(receipt.signature, signature, 0, 65, false)) throw bad("signature", "not 65 bytes of 0x-prefixed hex", receipt.signature);
  const v = signature[64];
  if (v !== 27 && v !== 28) throw bad("signature", "v is not 27 or 28", receipt.signature);
  // High-s twins are refused, so one receipt has one signature (stores and exports can compare them).
  const s = BigInt(toHex(signature, 32, 64));
  if (s === 0n || s > 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n) throw bad("signature", "s is zero or high", receipt.signature);
  const publicKey = defaultSecp256k1Backend.recover(digest, signature.subarray(0, 64), v === 27 ? 0 : 1);
  if (publicKey === undefined) throw bad("signature", "no key recovers", receipt.signature);
  return toHex(keccak256(publicKey.subarray(1)).subarray(12)) as Address;
}

/**
 * Checks that `payee` signed `receipt` on `domain`: what an app runs offline. Throws {@link BadReceiptError}
 * when the receipt is malformed or signed by anyone else.
 */
export function verifyReceipt(domain: VoucherDomain, receipt: Receipt, payee: Address): void {
  const signer = recoverReceiptSigner(domain, receipt);
  if (typeof payee !== "string" || signer !== payee.toLowerCase()) throw new BadReceiptError("the receipt is not signed by this payee", { signer, payee });
}

/** JSON-safe form of a receipt (amounts and times as decimal strings). */
export type ReceiptJson = { [K in keyof Receipt]: Receipt[K] extends bigint ? string : Receipt[K] };

export function receiptToJson(receipt: Receipt): ReceiptJson {
  return {
    ...receipt,
    price: receipt.price.toString(),
    cumulativeAmount: receipt.cumulativeAmount.toString(),
    validFrom: receipt.validFrom.toString(),
    validUntil: receipt.validUntil.toString(),
    issuedAt: receipt.issuedAt.toString(),
  };
}

/** Inverse of {@link receiptToJson}; throws {@link BadReceiptError} on anything that is not one. */
export function receiptFromJson(json: unknown): Receipt {
  if (typeof json !== "object" || json === null) throw bad("receipt", "not an object", json);
  const o = json as Record<string, unknown>;
  const int = (field: string) => {
    const value = o[field];
    if (typeof value !== "string" || !/^\d{1,78}$/.test(value)) throw bad(field, "not a decimal string", value);
    return BigInt(value);
  };
  const receipt: Receipt = {
    kind: o.kind as ReceiptKind,
    key: o.key as string,
    item: o.item as string,
    payer: o.payer as Address,
    channelId: o.channelId as Hex,
    token: o.token as Address,
    price: int("price"),
    cumulativeAmount: int("cumulativeAmount"),
    validFrom: int("validFrom"),
    validUntil: int("validUntil"),
    issuedAt: int("issuedAt"),
    signature: o.signature as Hex,
  };
  structHash(receipt); // shape check of every field
  return receipt;
}
