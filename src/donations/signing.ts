// EIP-712 signing and recovery for tallies and receipts on the SDK's secp256k1 backend (native libsecp256k1
// where it loads, noble elsewhere): a tip costs one signature and two recoveries, which viem's pure-JS path
// made the slowest step of a tip.
import { getAddress, hashTypedData, hexToBytes, keccak256, toHex } from "viem";
import type { Address, Hex } from "../channel.ts";
import { defaultSecp256k1Backend } from "../crypto/secp256k1.ts";

/** Typed data as viem's `hashTypedData` takes it. */
export type TypedData = Parameters<typeof hashTypedData>[0];

/** Signs typed data: `localSigner(key)`, a viem local account, or anything with these two members. */
export interface TallySigner {
  readonly address: Address;
  signTypedData(typedData: TypedData): Promise<Hex>;
}

const HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/** A signer over a raw private key, on the fastest secp256k1 backend available. */
export function localSigner(privateKey: Hex): TallySigner {
  const key = hexToBytes(privateKey);
  const publicKey = defaultSecp256k1Backend.publicKey(key);
  return {
    address: addressOf(publicKey),
    async signTypedData(typedData) {
      const { signature, recovery } = defaultSecp256k1Backend.sign(hexToBytes(hashTypedData(typedData)), key);
      return `${toHex(signature)}${recovery === 0 ? "1b" : "1c"}` as Hex;
    },
  };
}

/**
 * The address that signed `typedData`, or undefined for a signature the contracts would refuse: not 65 bytes,
 * `v` not 27 or 28, a high `s` (OpenZeppelin's ECDSA rules), or no key recovering.
 */
export function recoverTypedDataSigner(typedData: TypedData, signature: Hex): Address | undefined {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) return undefined;
  const bytes = hexToBytes(signature);
  const v = bytes[64]!;
  if (v !== 27 && v !== 28) return undefined;
  if (BigInt(toHex(bytes.subarray(32, 64))) > HALF_ORDER) return undefined;
  const publicKey = defaultSecp256k1Backend.recover(hexToBytes(hashTypedData(typedData)), bytes.subarray(0, 64), v === 27 ? 0 : 1);
  return publicKey === undefined ? undefined : addressOf(publicKey);
}

function addressOf(publicKey: Uint8Array): Address {
  return getAddress(`0x${keccak256(publicKey.subarray(1)).slice(-40)}`) as Address;
}
