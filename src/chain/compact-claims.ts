import { channelId, type Address, type ChannelConfig, type Hex } from "../channel.ts";
import { recoverVoucherSigner, type VoucherDomain } from "../voucher.ts";

/** A voucher to claim: its channel's config, the cumulative amount and the signer's signature. */
export interface ClaimEntry {
  config: ChannelConfig;
  amount: bigint;
  signature: Hex;
}

/**
 * One entry of the contract's `claimMany(token, claims)`: the channel config without its payee (the sender)
 * and token (the batch's), which the contract puts back to rebuild the channel id.
 */
export interface OnChainClaim {
  payer: Address;
  signer: Address;
  closeDelay: bigint;
  salt: Hex;
  amount: bigint;
  signature: Hex;
}

/** One entry of `claimManyCompact(token, claims)`: an {@link OnChainClaim} with its signature in the 64-byte EIP-2098 form. */
export interface CompactClaimEntry {
  payer: Address;
  signer: Address;
  closeDelay: bigint;
  salt: Hex;
  amount: bigint;
  r: Hex;
  vs: Hex;
}

/** The `claimMany` entry of a claim. */
export function toOnChainClaim({ config, amount, signature }: ClaimEntry): OnChainClaim {
  return { payer: config.payer, signer: config.signer, closeDelay: config.closeDelay, salt: config.salt, amount, signature };
}

/**
 * The batch in the cheaper `claimManyCompact` form when every signature is a 65-byte ECDSA signature that
 * recovers, here, to its config's signer (what that entry point checks); `undefined` when any entry needs
 * `claimMany` (an ERC-1271 signer, or a signature this check refuses), so the contract decides as before.
 */
export function toCompactClaims(domain: VoucherDomain, claims: readonly ClaimEntry[]): CompactClaimEntry[] | undefined {
  const compact: CompactClaimEntry[] = [];
  for (const { config, amount, signature } of claims) {
    try {
      const recovered = recoverVoucherSigner(domain, { channelId: channelId(config), amount, signature });
      if (recovered.toLowerCase() !== config.signer.toLowerCase()) return undefined;
    } catch {
      return undefined;
    }
    const r = `0x${signature.slice(2, 66)}` as Hex;
    const v = parseInt(signature.slice(130, 132), 16);
    // `s` is in the lower half of the curve order (recoverVoucherSigner refuses the others): its top bit is free.
    const s = BigInt(`0x${signature.slice(66, 130)}`);
    const vs = `0x${((BigInt(v - 27) << 255n) | s).toString(16).padStart(64, "0")}` as Hex;
    compact.push({ payer: config.payer, signer: config.signer, closeDelay: config.closeDelay, salt: config.salt, amount, r, vs });
  }
  return compact;
}
