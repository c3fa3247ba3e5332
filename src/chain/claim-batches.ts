// How claims become `claimMany` transactions. The contract takes one token per batch and the sender as the
// payee of every entry, so claims are grouped by token and cut at MAX_CLAIM_BATCH; each group is one call,
// in the compact form when every signer is an EOA.
import { MAX_CLAIM_BATCH, type Address, type ChannelConfig } from "../channel.ts";
import { InvalidArgumentError } from "../errors.ts";
import type { VoucherDomain } from "../voucher.ts";
import { toCompactClaims, toOnChainClaim, type ClaimEntry, type CompactClaimEntry, type OnChainClaim } from "./compact-claims.ts";

/** The contract call that settles one batch: the function and its `(token, claims)` arguments. */
export type ClaimManyCall =
  | { functionName: "claimManyCompact"; args: readonly [token: Address, claims: CompactClaimEntry[]] }
  | { functionName: "claimMany"; args: readonly [token: Address, claims: OnChainClaim[]] };

/**
 * Splits claims into batches the contract takes: one token each, at most `maxBatch` (MAX_CLAIM_BATCH) claims.
 * Batches come in the order their tokens first appear; claims keep their order within a token, so rising
 * vouchers of one channel stay in order.
 */
export function claimBatches<T extends { config: ChannelConfig }>(claims: readonly T[], maxBatch: number = MAX_CLAIM_BATCH): T[][] {
  if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > MAX_CLAIM_BATCH) {
    throw new InvalidArgumentError(`a claim batch holds 1 to ${MAX_CLAIM_BATCH} claims`, { maxBatch });
  }
  const byToken = new Map<string, T[]>();
  for (const claim of claims) {
    const token = claim.config.token.toLowerCase();
    const group = byToken.get(token);
    if (group === undefined) byToken.set(token, [claim]);
    else group.push(claim);
  }
  const batches: T[][] = [];
  for (const group of byToken.values()) {
    for (let i = 0; i < group.length; i += maxBatch) batches.push(group.slice(i, i + maxBatch));
  }
  return batches;
}

/**
 * The call that claims one batch from `payee`: `claimManyCompact` when every signature is an EOA's 65-byte
 * signature of its config's signer (about 850 gas less per claim), `claimMany` otherwise (ERC-1271 signers).
 * Refuses, before anything is sent, a batch the contract would refuse for its shape: empty, above
 * MAX_CLAIM_BATCH, in more than one token, or with a channel whose payee is not `payee`.
 */
export function claimManyCall(domain: VoucherDomain, payee: Address, claims: readonly ClaimEntry[]): ClaimManyCall {
  if (claims.length === 0 || claims.length > MAX_CLAIM_BATCH) {
    throw new InvalidArgumentError(`claimMany takes 1 to ${MAX_CLAIM_BATCH} claims (claimBatches splits more)`, { count: claims.length });
  }
  const token = claims[0].config.token;
  for (const { config } of claims) {
    if (config.token.toLowerCase() !== token.toLowerCase()) {
      throw new InvalidArgumentError("a claimMany batch is in one token: group the claims with claimBatches", { token, other: config.token });
    }
    if (config.payee.toLowerCase() !== payee.toLowerCase()) {
      throw new InvalidArgumentError(`only the payee can claim: the channel's payee is ${config.payee}, not the sender ${payee}`, {
        payee: config.payee,
        sender: payee,
      });
    }
  }
  const compact = toCompactClaims(domain, claims);
  if (compact !== undefined) return { functionName: "claimManyCompact", args: [token, compact] };
  return { functionName: "claimMany", args: [token, claims.map(toOnChainClaim)] };
}
