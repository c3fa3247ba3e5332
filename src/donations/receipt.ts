// Tip receipts: what the creator signs for every tip it accepted, so the donor can prove each gift.
import type { Address, Hex } from "../channel.ts";
import { recoverTypedDataSigner } from "./signing.ts";
import type { TipJarDomain } from "./tally.ts";

/** One accepted tip, signed by the creator that received it. */
export interface TipReceipt {
  budgetId: Hex;
  donor: Address;
  creator: Address;
  /** This tip. */
  amount: bigint;
  /** Everything this budget gave this creator, this tip included. */
  cumulative: bigint;
  /** Unix seconds at which the creator accepted the tip. */
  time: bigint;
  /** The creator's EIP-712 signature of the fields above. */
  signature: Hex;
}

export const RECEIPT_TYPES = {
  TipReceipt: [
    { name: "budgetId", type: "bytes32" },
    { name: "donor", type: "address" },
    { name: "creator", type: "address" },
    { name: "amount", type: "uint256" },
    { name: "cumulative", type: "uint256" },
    { name: "time", type: "uint64" },
  ],
} as const;

export function receiptTypedData(domain: TipJarDomain, receipt: Omit<TipReceipt, "signature">) {
  return {
    domain: { name: "Trickle TipJar", version: "1", chainId: domain.chainId, verifyingContract: domain.verifyingContract },
    types: RECEIPT_TYPES,
    primaryType: "TipReceipt" as const,
    message: {
      budgetId: receipt.budgetId,
      donor: receipt.donor,
      creator: receipt.creator,
      amount: receipt.amount,
      cumulative: receipt.cumulative,
      time: receipt.time,
    },
  };
}

/** Who signed a receipt, or undefined for a signature no contract would accept. */
export function recoverReceiptSigner(domain: TipJarDomain, receipt: TipReceipt): Address | undefined {
  return recoverTypedDataSigner(receiptTypedData(domain, receipt), receipt.signature);
}
