import { ChannelStatus, type Hex } from "../channel.ts";
import { InvalidArgumentError } from "../errors.ts";
import { parseHexInto, toHex } from "../crypto/encoding.ts";
import { keccak256 } from "../crypto/keccak.ts";

/** The contract's `ChannelStatus` (a uint8) as the SDK's enum; an unknown value is a contract mismatch. */
export function toChannelStatus(value: number | bigint): ChannelStatus {
  const status = Number(value);
  if (status < ChannelStatus.None || status > ChannelStatus.Finished) {
    throw new InvalidArgumentError(`unknown channel status ${status}: is this a PaymentChannels contract?`, { status });
  }
  return status as ChannelStatus;
}

/** Splits a 65-byte `r|s|v` signature for functions that take `v, r, s` (EIP-2612 `permit`). */
export function splitSignature(signature: Hex): { v: number; r: Hex; s: Hex } {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) throw new InvalidArgumentError("expected a 65-byte signature", { signature });
  const r = `0x${signature.slice(2, 66)}` as Hex;
  const s = `0x${signature.slice(66, 130)}` as Hex;
  let v = parseInt(signature.slice(130, 132), 16);
  if (v < 27) v += 27; // some signers return the recovery id (0/1) instead of 27/28
  return { v, r, s };
}

/** keccak-256 of runtime code as `eth_getCode` returns it (`0x` hex); undefined for an account without code. */
export function codeHashOf(code: string | undefined): Hex | undefined {
  if (code === undefined || code === "0x" || code.length % 2 !== 0) return undefined;
  const bytes = new Uint8Array((code.length - 2) / 2);
  if (!parseHexInto(code, bytes, 0, bytes.length, false)) return undefined;
  return toHex(keccak256(bytes));
}
