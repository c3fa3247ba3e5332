/**
 * Vouchers: the EIP-712 message `Voucher(bytes32 channelId,uint256 amount)` under the domain
 * `{name: "Trickle", version: "1", chainId, verifyingContract}`, its digest, signing, verification and
 * wire encoding.
 *
 * What is accepted equals what `PaymentChannels` accepts from an ECDSA signer (OpenZeppelin's
 * `ECDSA.tryRecoverCalldata`, then `recovered == signer`), no more:
 * - the signature is exactly 65 bytes `r | s | v`, with `v` 27 or 28 (no ERC-2098 64-byte form, no `v` 0/1);
 * - `r` is in [1, n-1] and `s` in [1, n/2] (high `s` is the malleable twin and is refused);
 * - `amount` is a uint256: a `bigint` in [0, 2^256 - 1] (the payee further bounds it by the deposit);
 * - the key recovered with that exact `v` has the signer's address.
 * Hex is lowercase, `0x`-prefixed and of exact length: one voucher has one spelling, so a store keyed by the
 * channel id string cannot be fooled by `0xAB..` vs `0xab..`. ERC-1271 (contract) signers are not checked
 * here: the payee asks the chain for them.
 *
 * The hot path avoids ethers' and viem's generic typed-data code: the domain separator is computed once per
 * (chainId, contract), the type hash once, the two 136-byte-block hashes use an unrolled Keccak, and the curve
 * work goes to libsecp256k1 (falling back to `@noble/curves` where the native binding cannot load).
 */
import type { Address, Hex } from "./channel.ts";
import { BadSignatureError, InvalidArgumentError, MalformedVoucherError } from "./errors.ts";
import { fromBase64UrlTriplets, parseHexInto, toBase64UrlTriplets, toHex } from "./crypto/encoding.ts";
import { keccak256 } from "./crypto/keccak.ts";
import { defaultSecp256k1Backend } from "./crypto/secp256k1.ts";
import type { RecoverableSignature, Secp256k1Backend } from "./crypto/secp256k1.ts";

// ------------------------------------------------------------------------------------------------ types

/** Where a voucher is valid: one chain, one `PaymentChannels` contract. */
export interface VoucherDomain {
  chainId: bigint;
  verifyingContract: Address;
}

/** A signed promise of a cumulative `amount` on a channel. `signature`: 65 bytes `r | s | v`, `v` 27 or 28. */
export interface Voucher {
  channelId: Hex;
  amount: bigint;
  signature: Hex;
}

/** The EIP-712 types, in the shape ethers' `signTypedData` and viem's `types` take. */
export const VOUCHER_TYPES: {
  Voucher: [{ name: "channelId"; type: "bytes32" }, { name: "amount"; type: "uint256" }];
} = {
  Voucher: [
    { name: "channelId", type: "bytes32" },
    { name: "amount", type: "uint256" },
  ],
};
Object.freeze(VOUCHER_TYPES.Voucher[0]);
Object.freeze(VOUCHER_TYPES.Voucher[1]);
Object.freeze(VOUCHER_TYPES.Voucher);
Object.freeze(VOUCHER_TYPES);

/** The encoded EIP-712 type, as hashed into `PaymentChannels.VOUCHER_TYPEHASH`. */
export const VOUCHER_TYPE = "Voucher(bytes32 channelId,uint256 amount)";

export const MAX_UINT256 = (1n << 256n) - 1n;

/** The full EIP-712 domain of `PaymentChannels` on a chain, for ethers and viem. */
export function eip712Domain(domain: VoucherDomain): {
  name: "Trickle";
  version: "1";
  chainId: bigint;
  verifyingContract: Address;
} {
  return { name: "Trickle", version: "1", chainId: domain.chainId, verifyingContract: domain.verifyingContract };
}

// ------------------------------------------------------------------------------------------------ constants

const utf8 = new TextEncoder();

const VOUCHER_TYPEHASH = keccak256(utf8.encode(VOUCHER_TYPE));
const DOMAIN_TYPEHASH = keccak256(
  utf8.encode("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
);
const NAME_HASH = keccak256(utf8.encode("Trickle"));
const VERSION_HASH = keccak256(utf8.encode("1"));

/** The order of secp256k1, and the highest `s` OpenZeppelin's ECDSA accepts (n / 2, rounded down). */
const CURVE_ORDER = uint256Bytes(0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n);
const HALF_CURVE_ORDER = uint256Bytes(0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n);

/** `encodeVoucher` bytes: channelId (32) | amount (32, big-endian) | signature (65). */
const WIRE_BYTES = 32 + 32 + 65;
/** Length of an encoded voucher: 129 bytes are 43 base64 groups of 4 characters, no padding. */
export const VOUCHER_WIRE_LENGTH = (WIRE_BYTES / 3) * 4;

// ------------------------------------------------------------------------------------------------ scratch
// The hot path writes into these shared buffers instead of allocating: every function below runs to completion
// synchronously, so no two calls can interleave.

/** `abi.encode(VOUCHER_TYPEHASH, channelId, amount)`: the struct hash's preimage. */
const structBlock = new Uint8Array(96);
structBlock.set(VOUCHER_TYPEHASH, 0);
const structView = new DataView(structBlock.buffer);
/** `0x1901 | domainSeparator | structHash`: the digest's preimage. */
const digestBlock = new Uint8Array(66);
digestBlock[0] = 0x19;
digestBlock[1] = 0x01;
/** The signature being checked; `rs` is its first 64 bytes. */
const signatureBytes = new Uint8Array(65);
const rs = signatureBytes.subarray(0, 64);
const addressBytes = new Uint8Array(20);
const privateKeyBytes = new Uint8Array(32);

function uint256Bytes(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  const view = new DataView(out.buffer);
  for (let word = 3; word >= 0; word--) {
    view.setBigUint64(word * 8, BigInt.asUintN(64, value));
    value >>= 64n;
  }
  return out;
}

/** Sign of `bytes[offset, offset + 32) - reference` as big-endian integers. */
function compareWord(bytes: Uint8Array, offset: number, reference: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const difference = bytes[offset + i] - reference[i];
    if (difference !== 0) return difference;
  }
  return 0;
}

function isZeroWord(bytes: Uint8Array, offset: number): boolean {
  for (let i = 0; i < 32; i++) if (bytes[offset + i] !== 0) return false;
  return true;
}

function isUint256(value: unknown): value is bigint {
  return typeof value === "bigint" && value >= 0n && value <= MAX_UINT256;
}

// ------------------------------------------------------------------------------------------------ digest

const MAX_CACHED_DOMAINS = 256;
const domainSeparators = new Map<string, Uint8Array>();

/** The domain separator, computed once per (chainId, contract). Throws InvalidArgumentError on a bad domain. */
function separatorOf(domain: VoucherDomain): Uint8Array {
  if (!isUint256(domain?.chainId)) {
    throw new InvalidArgumentError("domain chainId must be a uint256 bigint", { chainId: domain?.chainId });
  }
  const contract: unknown = domain.verifyingContract;
  const key = typeof contract === "string" ? `${domain.chainId}:${contract.toLowerCase()}` : "";
  const cached = domainSeparators.get(key);
  if (cached !== undefined) return cached;
  const preimage = new Uint8Array(160);
  preimage.set(DOMAIN_TYPEHASH, 0);
  preimage.set(NAME_HASH, 32);
  preimage.set(VERSION_HASH, 64);
  preimage.set(uint256Bytes(domain.chainId), 96);
  if (!parseHexInto(contract, preimage, 140, 20, false)) {
    throw new InvalidArgumentError("domain verifyingContract must be a 20-byte hex address", {
      verifyingContract: contract,
    });
  }
  const separator = keccak256(preimage);
  if (domainSeparators.size >= MAX_CACHED_DOMAINS) domainSeparators.clear();
  domainSeparators.set(key, separator);
  return separator;
}

/** `_domainSeparatorV4()` of `PaymentChannels` deployed at `domain.verifyingContract` on `domain.chainId`. */
export function domainSeparator(domain: VoucherDomain): Hex {
  return toHex(separatorOf(domain));
}

function writeAmount(amount: bigint): void {
  if (amount <= 0xffffffffffffffffn) {
    // Every realistic amount fits 64 bits: one write instead of four bigint shifts.
    structView.setBigUint64(64, 0n);
    structView.setBigUint64(72, 0n);
    structView.setBigUint64(80, 0n);
    structView.setBigUint64(88, amount);
    return;
  }
  let rest = amount;
  for (let word = 3; word >= 0; word--) {
    structView.setBigUint64(64 + word * 8, BigInt.asUintN(64, rest));
    rest >>= 64n;
  }
}

/** The digest of the channel id and amount already in `structBlock`. */
function digestOfLoaded(separator: Uint8Array): Uint8Array {
  digestBlock.set(separator, 2);
  digestBlock.set(keccak256(structBlock), 34);
  return keccak256(digestBlock);
}

/** Loads a caller's channel id and amount (any hex case) into `structBlock`, or throws InvalidArgumentError. */
function loadArguments(channelId: Hex, amount: bigint): void {
  if (!parseHexInto(channelId, structBlock, 32, 32, false)) {
    throw new InvalidArgumentError("channelId must be 32 bytes of 0x-prefixed hex", { channelId });
  }
  if (!isUint256(amount)) throw new InvalidArgumentError("amount must be a uint256 bigint", { amount });
  writeAmount(amount);
}

/** The EIP-712 digest of a voucher: equals `PaymentChannels.voucherDigest(channelId, amount)` on that domain. */
export function voucherDigest(domain: VoucherDomain, channelId: Hex, amount: bigint): Hex {
  const separator = separatorOf(domain);
  loadArguments(channelId, amount);
  return toHex(digestOfLoaded(separator));
}

// ------------------------------------------------------------------------------------------------ shape

function malformed(field: string, reason: string, value: unknown): MalformedVoucherError {
  return new MalformedVoucherError(`voucher ${field}: ${reason}`, { field, reason, value });
}

/**
 * Checks every rule of the module comment except the signer, and leaves the voucher in the scratch buffers
 * (`structBlock` channel id and amount, `signatureBytes`). Throws MalformedVoucherError.
 */
function loadVoucher(voucher: unknown): void {
  if (typeof voucher !== "object" || voucher === null) throw malformed("voucher", "not an object", voucher);
  const { channelId, amount, signature } = voucher as Record<string, unknown>;
  if (!parseHexInto(channelId, structBlock, 32, 32, true)) {
    throw malformed("channelId", "not 32 bytes of lowercase 0x-prefixed hex", channelId);
  }
  if (typeof amount !== "bigint") throw malformed("amount", "not a bigint", amount);
  if (amount < 0n) throw malformed("amount", "negative", amount);
  if (amount > MAX_UINT256) throw malformed("amount", "above 2^256 - 1", amount);
  writeAmount(amount);
  if (!parseHexInto(signature, signatureBytes, 0, 65, true)) {
    throw malformed("signature", "not 65 bytes of lowercase 0x-prefixed hex", signature);
  }
  const v = signatureBytes[64];
  if (v !== 27 && v !== 28) throw malformed("signature", `v is ${v}, not 27 or 28`, signature);
  if (isZeroWord(signatureBytes, 0) || compareWord(signatureBytes, 0, CURVE_ORDER) >= 0) {
    throw malformed("signature", "r is not in [1, n-1]", signature);
  }
  if (isZeroWord(signatureBytes, 32)) throw malformed("signature", "s is zero", signature);
  if (compareWord(signatureBytes, 32, HALF_CURVE_ORDER) > 0) {
    throw malformed("signature", "s is above n/2 (high-s, malleable)", signature);
  }
}

/** Asserts that `voucher` is well-formed (see the module comment). Throws MalformedVoucherError. */
export function assertVoucherShape(voucher: unknown): asserts voucher is Voucher {
  loadVoucher(voucher);
}

/** The uncompressed public key of the loaded voucher's signature over `separator`, or BadSignatureError. */
function recoverLoaded(backend: Secp256k1Backend, separator: Uint8Array, channelId: unknown): Uint8Array {
  const digest = digestOfLoaded(separator);
  const publicKey = backend.recover(digest, rs, signatureBytes[64] === 27 ? 0 : 1);
  if (publicKey === undefined) {
    throw new BadSignatureError("no public key recovers from this voucher signature", { channelId });
  }
  return publicKey;
}

/** Writes the address of an uncompressed public key into `addressBytes`. */
function loadAddressOf(publicKey: Uint8Array): void {
  addressBytes.set(keccak256(publicKey.subarray(1)).subarray(12));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** EIP-55 mixed-case checksum of the address in `addressBytes`. */
function checksumLoadedAddress(): Address {
  const lower = toHex(addressBytes).slice(2);
  const hash = keccak256(utf8.encode(lower));
  let out = "0x";
  for (let i = 0; i < 40; i++) {
    const nibble = (hash[i >> 1] >> (i % 2 === 0 ? 4 : 0)) & 0xf;
    out += nibble >= 8 ? lower[i].toUpperCase() : lower[i];
  }
  return out as Address;
}

// ------------------------------------------------------------------------------------------------ sign

/** {@link signVoucher} with a chosen secp256k1 backend (tests and benchmarks compare them). */
export function signVoucherWith(
  backend: Secp256k1Backend,
  domain: VoucherDomain,
  channelId: Hex,
  amount: bigint,
  privateKey: Hex,
): Voucher {
  const separator = separatorOf(domain);
  loadArguments(channelId, amount);
  if (!parseHexInto(privateKey, privateKeyBytes, 0, 32, false)) {
    throw new InvalidArgumentError("privateKey must be 32 bytes of 0x-prefixed hex", {});
  }
  const digest = digestOfLoaded(separator);
  let signed: RecoverableSignature;
  try {
    signed = backend.sign(digest, privateKeyBytes);
  } catch (cause) {
    throw new InvalidArgumentError("privateKey is not a secp256k1 private key (zero or >= n)", {}, { cause });
  } finally {
    privateKeyBytes.fill(0);
  }
  return {
    channelId: channelId.toLowerCase() as Hex,
    amount,
    signature: `${toHex(signed.signature)}${signed.recovery === 0 ? "1b" : "1c"}`,
  };
}

/**
 * Signs the voucher for a cumulative `amount` on `channelId`: low-s, `v` 27 or 28, deterministic (RFC 6979),
 * byte-identical to ethers' and viem's `signTypedData` for the same key and message.
 */
export function signVoucher(domain: VoucherDomain, channelId: Hex, amount: bigint, privateKey: Hex): Voucher {
  return signVoucherWith(defaultSecp256k1Backend, domain, channelId, amount, privateKey);
}

// ------------------------------------------------------------------------------------------------ verify

/** {@link recoverVoucherSigner} with a chosen secp256k1 backend. */
export function recoverVoucherSignerWith(backend: Secp256k1Backend, domain: VoucherDomain, voucher: Voucher): Address {
  const separator = separatorOf(domain);
  loadVoucher(voucher);
  loadAddressOf(recoverLoaded(backend, separator, voucher.channelId));
  return checksumLoadedAddress();
}

/**
 * The checksummed address whose key signed `voucher` on `domain`. Throws MalformedVoucherError when the voucher
 * breaks a rule, BadSignatureError when no key recovers (where `ecrecover` returns the zero address).
 */
export function recoverVoucherSigner(domain: VoucherDomain, voucher: Voucher): Address {
  return recoverVoucherSignerWith(defaultSecp256k1Backend, domain, voucher);
}

export interface VoucherVerifierOptions {
  /** The secp256k1 implementation; default: native when it loads, else noble. */
  backend?: Secp256k1Backend;
  /** How many signers' public keys to remember (oldest forgotten first); default 100,000 (about 10 MB). */
  maxCachedSigners?: number;
}

/**
 * Verifies vouchers for one (chainId, contract), remembering each signer's public key.
 *
 * Why it recovers every time instead of calling `ecdsaVerify` against the remembered key: `ecdsaVerify` checks
 * only that the x of `(e/s)G + (r/s)Q` is `r`, so it ignores `v`. The contract recovers with the given `v`;
 * flipping `v` (27 <-> 28) on a valid signature yields another key and address, and the contract refuses it,
 * while `ecdsaVerify` would still accept it. So the cached key cannot stand in for recovery. What it does
 * replace is hashing the recovered key to an address: when the recovered key equals the signer's remembered
 * key, the address is equal too; when it differs, the address is computed and compared, so the verdict is
 * exactly `recovered address == signer` in every case.
 */
export class VoucherVerifier {
  readonly domain: VoucherDomain;
  readonly #separator: Uint8Array;
  readonly #backend: Secp256k1Backend;
  readonly #maxCachedSigners: number;
  /** Signer address string, as passed in, to its uncompressed public key. */
  readonly #publicKeys = new Map<string, Uint8Array>();

  constructor(domain: VoucherDomain, options: VoucherVerifierOptions = {}) {
    this.#separator = separatorOf(domain);
    this.domain = Object.freeze({ chainId: domain.chainId, verifyingContract: domain.verifyingContract });
    this.#backend = options.backend ?? defaultSecp256k1Backend;
    this.#maxCachedSigners = options.maxCachedSigners ?? 100_000;
  }

  /** The secp256k1 implementation in use. */
  get backend(): "native" | "noble" {
    return this.#backend.name;
  }

  /**
   * Returns when `signer` signed `voucher` on this domain. Throws MalformedVoucherError (shape, length, high s,
   * `v`, amount range), BadSignatureError (well-formed, not `signer`'s), InvalidArgumentError (bad `signer`).
   */
  verify(voucher: Voucher, signer: Address): void {
    loadVoucher(voucher);
    const publicKey = recoverLoaded(this.#backend, this.#separator, voucher.channelId);
    const known = this.#publicKeys.get(signer);
    if (known !== undefined && sameBytes(known, publicKey)) return;
    const recoveredAddress = addressBytes;
    loadAddressOf(publicKey);
    const expected = new Uint8Array(20);
    if (!parseHexInto(signer, expected, 0, 20, false)) {
      throw new InvalidArgumentError("signer must be a 20-byte hex address", { signer });
    }
    if (!sameBytes(recoveredAddress, expected)) {
      throw new BadSignatureError("voucher is not signed by the channel's signer", {
        channelId: voucher.channelId,
        signer,
        recovered: checksumLoadedAddress(),
      });
    }
    if (this.#publicKeys.size >= this.#maxCachedSigners) {
      this.#publicKeys.delete(this.#publicKeys.keys().next().value as string);
    }
    this.#publicKeys.set(signer, publicKey.slice());
  }
}

const MAX_SHARED_VERIFIERS = 64;
const sharedVerifiers = new Map<string, VoucherVerifier>();

/**
 * One-call form of {@link VoucherVerifier.verify}, with one shared verifier (and key cache) per domain.
 * Throws MalformedVoucherError, BadSignatureError or InvalidArgumentError.
 */
export function verifyVoucher(domain: VoucherDomain, voucher: Voucher, signer: Address): void {
  separatorOf(domain); // validates the domain before it is used as a cache key
  const key = `${domain.chainId}:${domain.verifyingContract.toLowerCase()}`;
  let verifier = sharedVerifiers.get(key);
  if (verifier === undefined) {
    verifier = new VoucherVerifier(domain);
    if (sharedVerifiers.size >= MAX_SHARED_VERIFIERS) sharedVerifiers.clear();
    sharedVerifiers.set(key, verifier);
  }
  verifier.verify(voucher, signer);
}

// ------------------------------------------------------------------------------------------------ wire

/**
 * The compact wire form of a voucher (an HTTP header value, a message field): unpadded base64url of
 * `channelId (32 bytes) | amount (32 bytes, big-endian uint256) | signature (65 bytes r | s | v)`, always
 * exactly {@link VOUCHER_WIRE_LENGTH} (172) characters. 129 is a multiple of 3, so the encoding has no padding
 * and no spare bits: every voucher has exactly one wire string. Throws MalformedVoucherError when the voucher
 * breaks a rule (a voucher that could never be accepted is not worth sending).
 */
export function encodeVoucher(voucher: Voucher): string {
  loadVoucher(voucher);
  const bytes = new Uint8Array(WIRE_BYTES);
  bytes.set(structBlock.subarray(32, 96), 0);
  bytes.set(signatureBytes, 64);
  return toBase64UrlTriplets(bytes);
}

/**
 * Parses {@link encodeVoucher}'s format. Throws MalformedVoucherError on anything else: another length, a
 * character outside base64url (padding, `+`, `/`, whitespace), or a voucher that breaks a rule.
 */
export function decodeVoucher(wire: string): Voucher {
  const bytes = fromBase64UrlTriplets(wire, WIRE_BYTES);
  if (bytes === undefined) {
    throw malformed("wire", `not ${VOUCHER_WIRE_LENGTH} characters of unpadded base64url`, wire);
  }
  let amount = 0n;
  const view = new DataView(bytes.buffer);
  for (let word = 0; word < 4; word++) amount = (amount << 64n) | view.getBigUint64(32 + word * 8);
  const voucher: Voucher = { channelId: toHex(bytes, 0, 32), amount, signature: toHex(bytes, 64, WIRE_BYTES) };
  loadVoucher(voucher);
  return voucher;
}

/** Which secp256k1 implementation the SDK loaded: `native` (libsecp256k1) or `noble` (pure JavaScript). */
export const voucherCryptoBackend: "native" | "noble" = defaultSecp256k1Backend.name;
