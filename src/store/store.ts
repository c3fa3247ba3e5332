import type { ChannelConfig, Hex } from "../channel.ts";

/** A voucher as a store keeps it: the best signed cumulative amount of one channel. */
export interface StoredVoucher {
  channelId: Hex;
  amount: bigint;
  /** 65-byte signature, 0x-prefixed hex. */
  signature: Hex;
}

/** What {@link PayeeStore.saveVoucherIfHigher} did. */
export interface SaveVoucherResult {
  /** True when this voucher is now the channel's best one and is durable. */
  stored: boolean;
  /** The best amount stored before this call (0n when none). */
  previousAmount: bigint;
}

/** What the payer keeps about one of its channels. */
export interface PayerChannelRecord {
  channelId: Hex;
  chainId: bigint;
  contract: Hex;
  config: ChannelConfig;
  /** Private key of the session key that signs vouchers, when the SDK generated one. */
  sessionKey?: Hex;
  /** Cumulative amount signed so far; only ever increases. */
  signedAmount: bigint;
  /** The signature of `signedAmount`, when one was signed. */
  signature?: Hex;
}

/**
 * The payee's durable state. Every write is durable before its promise resolves. Implementations:
 * `store/memory.ts` (tests), `store/sqlite.ts` (default); a PostgreSQL store implements the same.
 */
export interface PayeeStore {
  /**
   * Atomically stores `voucher` if its amount is above the channel's best stored amount.
   * Concurrent calls for one channel end with the maximum stored; none is lost.
   */
  saveVoucherIfHigher(voucher: StoredVoucher): Promise<SaveVoucherResult>;
  /** The best stored voucher of a channel. */
  bestVoucher(channelId: Hex): Promise<StoredVoucher | undefined>;
  /** Every channel's best voucher. */
  bestVouchers(): Promise<StoredVoucher[]>;
  /** Remembers a channel's config (needed to claim or close). Idempotent. */
  saveChannel(config: ChannelConfig): Promise<void>;
  /** A remembered channel config by id. */
  channel(channelId: Hex): Promise<ChannelConfig | undefined>;
  /** Small durable key/value facts, such as the last block a watcher processed. */
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  close(): Promise<void>;
}

/** The payer's durable state. */
export interface PayerStore {
  saveChannel(record: PayerChannelRecord): Promise<void>;
  channel(channelId: Hex): Promise<PayerChannelRecord | undefined>;
  channels(): Promise<PayerChannelRecord[]>;
  /**
   * Durably raises the channel's signed amount to `amount` with its `signature`. Rejects (with a
   * `NotIncreasingError`) when `amount` is not above the stored one, so a restart never signs a
   * cumulative amount twice for different totals.
   */
  recordSigned(channelId: Hex, amount: bigint, signature: Hex): Promise<void>;
  close(): Promise<void>;
}
