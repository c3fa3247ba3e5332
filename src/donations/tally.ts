// Tip-jar tallies: a budget's growing list of creators and cumulative amounts, its hash and its EIP-712 form,
// exactly as contracts/donations/TipJar.sol checks them.
import { encodeAbiParameters, hashTypedData, keccak256 } from "viem";
import type { Address, Hex } from "../channel.ts";
import { recoverTypedDataSigner } from "./signing.ts";

/** The immutable parameters of a budget; their hash is the budget id (`TipJar.budgetId`). */
export interface BudgetConfig {
  donor: Address;
  /** ERC-20 token, or the zero address for ETH. */
  token: Address;
  /** Key that signs tallies. */
  signer: Address;
  /** Seconds creators have to settle after the donor asks to close. */
  closeDelay: bigint;
  salt: Hex;
}

/** Every creator a budget tipped, in the order first tipped, with the cumulative amount each got. */
export interface Tally {
  creators: Address[];
  amounts: bigint[];
}

/** A tally with the budget signer's signature over its total and hash. */
export interface SignedTally {
  budgetId: Hex;
  tally: Tally;
  total: bigint;
  signature: Hex;
}

/** Where the TipJar lives: its EIP-712 domain. */
export interface TipJarDomain {
  chainId: bigint;
  verifyingContract: Address;
}

export const EMPTY_TALLY: Tally = Object.freeze({ creators: [], amounts: [] }) as Tally;
const ZERO_HASH: Hex = `0x${"00".repeat(32)}`;

export const TALLY_TYPES = {
  Tally: [
    { name: "budgetId", type: "bytes32" },
    { name: "total", type: "uint256" },
    { name: "tallyHash", type: "bytes32" },
  ],
} as const;

/** `keccak256(abi.encode(config))`. */
export function budgetId(config: BudgetConfig): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "address" }, { type: "address" }, { type: "address" }, { type: "uint64" }, { type: "bytes32" }],
      [config.donor, config.token, config.signer, config.closeDelay, config.salt],
    ),
  );
}

/** `keccak256(abi.encode(creators, amounts))`; zero for the empty tally, as the contract stores it. */
export function tallyHash(tally: Tally): Hex {
  if (tally.creators.length === 0 && tally.amounts.length === 0) return ZERO_HASH;
  return keccak256(
    encodeAbiParameters([{ type: "address[]" }, { type: "uint256[]" }], [tally.creators, tally.amounts]),
  );
}

export function tallyTotal(tally: Tally): bigint {
  return tally.amounts.reduce((sum, amount) => sum + amount, 0n);
}

/** The creator's cumulative amount in `tally`, zero when it is not in it. */
export function amountOf(tally: Tally, creator: Address): bigint {
  const index = indexOf(tally, creator);
  return index < 0 ? 0n : tally.amounts[index]!;
}

function indexOf(tally: Tally, creator: Address): number {
  const wanted = creator.toLowerCase();
  return tally.creators.findIndex((entry) => entry.toLowerCase() === wanted);
}

/** A new tally with `amount` more for `creator`, appended when it is new: it always extends `tally`. */
export function addTip(tally: Tally, creator: Address, amount: bigint): Tally {
  const creators = [...tally.creators];
  const amounts = [...tally.amounts];
  const index = indexOf(tally, creator);
  if (index < 0) {
    creators.push(creator);
    amounts.push(amount);
  } else {
    amounts[index] = amounts[index]! + amount;
  }
  return { creators, amounts };
}

/**
 * True when `next` extends `previous` as `TipJar.settle` requires: at least as many creators, the same ones
 * first in the same order, none with a smaller amount.
 */
export function extendsTally(previous: Tally, next: Tally): boolean {
  if (next.creators.length !== next.amounts.length || next.creators.length < previous.creators.length) return false;
  return previous.creators.every(
    (creator, i) => creator.toLowerCase() === next.creators[i]!.toLowerCase() && next.amounts[i]! >= previous.amounts[i]!,
  );
}

/** The EIP-712 typed data a budget signer signs for `tally`. */
export function tallyTypedData(domain: TipJarDomain, id: Hex, tally: Tally) {
  return {
    domain: { name: "Trickle TipJar", version: "1", chainId: domain.chainId, verifyingContract: domain.verifyingContract },
    types: TALLY_TYPES,
    primaryType: "Tally" as const,
    message: { budgetId: id, total: tallyTotal(tally), tallyHash: tallyHash(tally) },
  };
}

/** The digest `TipJar.tallyDigest` returns for this tally. */
export function tallyDigest(domain: TipJarDomain, id: Hex, tally: Tally): Hex {
  return hashTypedData(tallyTypedData(domain, id, tally));
}

/** Who signed a tally (an EOA signer; an ERC-1271 signer is checked by the contract only), or undefined. */
export function recoverTallySigner(domain: TipJarDomain, signed: SignedTally): Address | undefined {
  return recoverTypedDataSigner(tallyTypedData(domain, signed.budgetId, signed.tally), signed.signature);
}
