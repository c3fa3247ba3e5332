/**
 * Relayed settlement: what a payee signs so that anyone (a relayer) can claim, close or partially refund one of
 * its channels for it, and the payee needs no gas. The relayer takes `fee` out of the payee's payout, never
 * more than the payee signed, as a credit in the contract it withdraws in bulk (`ChainWriter.withdrawCredit`);
 * `PaymentChannels` checks the signature (ECDSA, or ERC-1271 for a contract payee,
 * which is how a payee names another key), the deadline, and that the settlement still applies:
 * - `RelayedClaim(channelId, amount, fee, deadline)`: the claimed amount only rises, so it works once;
 * - `RelayedClose(channelId, amount, fee, deadline)`: a close finishes the channel;
 * - `RelayedRefund(channelId, refunded, deadline)`: `refunded` is the channel's cumulative refund, so it works
 *   once and never after a later refund.
 * The domain is the voucher's (`Trickle`, version 1, chain id, contract), so a signature is good on one
 * contract of one chain, and the type names the entry point.
 */
import { channelId, type ChannelConfig, type Hex } from "./channel.ts";
import { InvalidArgumentError } from "./errors.ts";
import { eip712Domain, MAX_UINT256, type VoucherDomain } from "./voucher.ts";
import type { TypedData } from "./gasless.ts";

export const RELAYED_CLAIM_TYPES = {
  RelayedClaim: [
    { name: "channelId", type: "bytes32" },
    { name: "amount", type: "uint256" },
    { name: "fee", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

export const RELAYED_CLOSE_TYPES = {
  RelayedClose: [
    { name: "channelId", type: "bytes32" },
    { name: "amount", type: "uint256" },
    { name: "fee", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

export const RELAYED_REFUND_TYPES = {
  RelayedRefund: [
    { name: "channelId", type: "bytes32" },
    { name: "refunded", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

export interface RelayedSettlementParameters {
  domain: VoucherDomain;
  channelId: Hex;
  /** The voucher's cumulative amount (claim) or the final amount (close). */
  amount: bigint;
  /** The most the relayer takes out of the payee's payout. */
  fee: bigint;
  /** The last timestamp at which the signature is valid. */
  deadline: bigint;
}

export type RelayedSettlementMessage = { channelId: Hex; amount: bigint; fee: bigint; deadline: bigint };

export interface RelayedRefundParameters {
  domain: VoucherDomain;
  channelId: Hex;
  /** The channel's cumulative refunded amount after this refund (`PaymentChannels.refunded` plus the refund). */
  refunded: bigint;
  deadline: bigint;
}

export type RelayedRefundMessage = { channelId: Hex; refunded: bigint; deadline: bigint };

/** A claim or close the payee signed, ready for any relayer to submit (`ChainWriter.claimRelayed` / `closeRelayed`). */
export interface RelayedSettlementRequest {
  kind: "claim" | "close";
  config: ChannelConfig;
  /** The voucher's cumulative amount (claim) or the final amount (close). */
  amount: bigint;
  /** The channel signer's voucher signature (`0x` for a close at the claimed amount). */
  signature: Hex;
  fee: bigint;
  deadline: bigint;
  payeeSignature: Hex;
}

/** Signs EIP-712 typed data as the payee: a `ChainWriter` of the payee's account, or any wallet wrapper. */
export interface TypedDataSigner {
  signTypedData(typed: TypedData<Record<string, unknown>>): Promise<Hex>;
}

/**
 * Builds the signed request of a relayed claim or close: the payee's signature over the settlement, with the
 * voucher that it settles. Anyone can submit it; the relayer takes at most `fee` out of the payee's payout.
 */
export async function signRelayedSettlement(
  payee: TypedDataSigner,
  parameters: Omit<RelayedSettlementRequest, "payeeSignature"> & { domain: VoucherDomain },
): Promise<RelayedSettlementRequest> {
  const { kind, config, amount, signature, fee, deadline, domain } = parameters;
  const settlement = { domain, channelId: channelId(config), amount, fee, deadline };
  const typed = kind === "claim" ? relayedClaimTypedData(settlement) : relayedCloseTypedData(settlement);
  return { kind, config, amount, signature, fee, deadline, payeeSignature: await payee.signTypedData(typed) };
}

function checkUint(value: bigint, what: string): void {
  if (value < 0n || value > MAX_UINT256) throw new InvalidArgumentError(`${what} must be a uint256`, { [what]: value });
}

function checkSettlement(parameters: RelayedSettlementParameters): RelayedSettlementMessage {
  const { channelId, amount, fee, deadline } = parameters;
  if (!/^0x[0-9a-fA-F]{64}$/.test(channelId)) throw new InvalidArgumentError("channelId must be 32 bytes of hex", { channelId });
  checkUint(amount, "amount");
  checkUint(fee, "fee");
  checkUint(deadline, "deadline");
  return { channelId, amount, fee, deadline };
}

/** What the payee signs for `claimRelayed`. */
export function relayedClaimTypedData(parameters: RelayedSettlementParameters): TypedData<RelayedSettlementMessage> {
  return {
    domain: eip712Domain(parameters.domain),
    types: RELAYED_CLAIM_TYPES,
    primaryType: "RelayedClaim",
    message: checkSettlement(parameters),
  };
}

/** What the payee signs for `closeRelayed`. */
export function relayedCloseTypedData(parameters: RelayedSettlementParameters): TypedData<RelayedSettlementMessage> {
  return {
    domain: eip712Domain(parameters.domain),
    types: RELAYED_CLOSE_TYPES,
    primaryType: "RelayedClose",
    message: checkSettlement(parameters),
  };
}

/** What the payee signs for `refundRelayed`. */
export function relayedRefundTypedData(parameters: RelayedRefundParameters): TypedData<RelayedRefundMessage> {
  const { channelId, refunded, deadline } = parameters;
  if (!/^0x[0-9a-fA-F]{64}$/.test(channelId)) throw new InvalidArgumentError("channelId must be 32 bytes of hex", { channelId });
  checkUint(refunded, "refunded");
  checkUint(deadline, "deadline");
  return {
    domain: eip712Domain(parameters.domain),
    types: RELAYED_REFUND_TYPES,
    primaryType: "RelayedRefund",
    message: { channelId, refunded, deadline },
  };
}
