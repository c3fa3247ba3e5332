import { keccak_256 } from "@noble/hashes/sha3.js";
import { toHex } from "./crypto/encoding.ts";

/** A 0x-prefixed hex string. */
export type Hex = `0x${string}`;
/** A 0x-prefixed, 20-byte address. */
export type Address = `0x${string}`;

/** The token address of ETH channels. */
export const ETH: Address = "0x0000000000000000000000000000000000000000";

/** The immutable parameters of a channel; their hash is the channel id (see `PaymentChannels.channelId`). */
export interface ChannelConfig {
  payer: Address;
  payee: Address;
  /** ERC-20 token, or {@link ETH}. */
  token: Address;
  /** Key that signs vouchers: the payer, a session key, or an ERC-1271 wallet. */
  signer: Address;
  /** Seconds the payee has to claim after the payer asks to close. */
  closeDelay: bigint;
  /** 32 bytes that make the id unique when the other fields repeat. */
  salt: Hex;
}

/**
 * Mirrors `IPaymentChannels.ChannelStatus`. A const object rather than a TS `enum`, so that plain Node
 * (type stripping, which refuses enums) can load the SDK; `ChannelStatus.Open` reads the same either way.
 */
export const ChannelStatus = {
  None: 0,
  Open: 1,
  Closing: 2,
  Finished: 3,
} as const;
export type ChannelStatus = (typeof ChannelStatus)[keyof typeof ChannelStatus];

/** The mutable on-chain state of a channel, as `PaymentChannels.channels(id)` returns it. */
export interface ChannelState {
  deposit: bigint;
  claimed: bigint;
  /** While closing: the first second at which the payer can withdraw; zero otherwise. */
  closesAt: bigint;
  status: ChannelStatus;
}

/** The on-chain limits of `PaymentChannels`, mirrored so the SDK refuses what the contract would. */
export const MAX_DEPOSIT = (1n << 104n) - 1n;
export const MAX_CLOSE_DELAY = 365n * 24n * 3600n;
export const MAX_CLAIM_BATCH = 256;

const WORD = 32;

function writeWord(out: Uint8Array, index: number, hex: string, byteLength: number): void {
  const clean = hex.startsWith("0x") ? hex.slice(2) : hex;
  if (clean.length !== byteLength * 2 || !/^[0-9a-fA-F]*$/.test(clean)) {
    throw new TypeError(`expected ${byteLength} bytes of hex, got ${hex}`);
  }
  const start = index * WORD + (WORD - byteLength);
  for (let i = 0; i < byteLength; i++) {
    out[start + i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  }
}

function writeUint(out: Uint8Array, index: number, value: bigint): void {
  let rest = value;
  for (let i = WORD - 1; i >= 0; i--) {
    out[index * WORD + i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
}

export function bytesToHex(bytes: Uint8Array): Hex {
  return toHex(bytes);
}

/** `abi.encode(config)`: six 32-byte words. */
export function encodeChannelConfig(config: ChannelConfig): Uint8Array {
  const out = new Uint8Array(6 * WORD);
  writeWord(out, 0, config.payer, 20);
  writeWord(out, 1, config.payee, 20);
  writeWord(out, 2, config.token, 20);
  writeWord(out, 3, config.signer, 20);
  if (config.closeDelay < 0n || config.closeDelay >= 1n << 64n) {
    throw new RangeError(`closeDelay out of uint64 range: ${config.closeDelay}`);
  }
  writeUint(out, 4, config.closeDelay);
  writeWord(out, 5, config.salt, 32);
  return out;
}

/** The channel id: `keccak256(abi.encode(config))`, the same bytes as `PaymentChannels.channelId(config)`. */
export function channelId(config: ChannelConfig): Hex {
  return bytesToHex(keccak_256(encodeChannelConfig(config)));
}
