// Signature surgery for the voucher tests: the malleable twin, other `v` values, chosen r or s.
type Hex = `0x${string}`;

/** The order of secp256k1. */
export const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

const word = (value: bigint) => value.toString(16).padStart(64, "0");

/** `r | s | v` with `v` replaced by `v` (one byte). */
export function withV(signature: Hex, v: number): Hex {
  return `${signature.slice(0, 130)}${v.toString(16).padStart(2, "0")}` as Hex;
}

/** The same `r` and `s` with the other recovery parity: recovers another key. */
export function flipV(signature: Hex): Hex {
  return withV(signature, signature.endsWith("1b") ? 28 : 27);
}

/** `(r, n - s, v flipped)`: a valid ECDSA signature of the same key and message, which the contract refuses. */
export function highSTwin(signature: Hex): Hex {
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  return flipV(`0x${signature.slice(2, 66)}${word(CURVE_ORDER - s)}${signature.slice(130)}` as Hex);
}

/** The signature with `r` or `s` replaced by a 32-byte value. */
export function replaceSignatureWord(signature: Hex, which: "r" | "s", value: bigint): Hex {
  return which === "r"
    ? (`0x${word(value)}${signature.slice(66)}` as Hex)
    : (`${signature.slice(0, 66)}${word(value)}${signature.slice(130)}` as Hex);
}

/** ERC-2098 compact form (64 bytes, the parity in the top bit of s): valid elsewhere, refused by PaymentChannels. */
export function compactErc2098(signature: Hex): Hex {
  const s = BigInt(`0x${signature.slice(66, 130)}`) | (signature.endsWith("1c") ? 1n << 255n : 0n);
  return `0x${signature.slice(2, 66)}${word(s)}` as Hex;
}
