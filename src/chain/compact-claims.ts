import { channelId, type ChannelConfig, type Hex } from "../channel.ts";
import { recoverVoucherSigner, type VoucherDomain } from "../voucher.ts";

/** One entry of `claimMany`. */
export interface ClaimEntry {
  config: ChannelConfig;
  amount: bigint;
  signature: Hex;
}

/** One entry of `claimManyCompact`: the signature in its 64-byte EIP-2098 form. */
export interface CompactClaimEntry {
  config: ChannelConfig;
  amount: bigint;
  r: Hex;
  vs: Hex;
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
    compact.push({ config, amount, r, vs });
  }
  return compact;
}
