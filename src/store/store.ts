import type { Address, ChannelConfig, Hex } from "../channel.ts";
import type { PrepaidChain, PrepaidToken } from "./prepaid.ts";

/**
 * Where a channel lives: its chain and its `PaymentChannels` contract. A channel id hashes only the
 * config, and the contract has the same address on every chain, so one id can name a channel on two
 * chains: every record a store keeps is keyed by (chainId, contract, channelId).
 */
export interface Deployment {
  chainId: bigint;
  /** Stores return it lower-cased. */
  contract: Address;
}

/**
 * A store backend holding the records of any number of deployments (one SQLite file, one PostgreSQL
 * database). The Payer, the Payee and the watchtower work on one deployment's view of it, from
 * {@link StoreBackend.forDeployment}; records of two deployments never meet.
 */
export interface StoreBackend {
  /** The records of one deployment. Views are cheap; closing a view closes the whole store. */
  forDeployment(deployment: Deployment): PayeeStore & PayerStore;
  /** Waits for pending writes, then releases the store (every view of it). */
  close(): Promise<void>;
}

/** A voucher as a store keeps it: the best signed cumulative amount of one channel. */
export interface StoredVoucher {
  /** 32 bytes, 0x-prefixed hex; stores return it lower-cased. */
  channelId: Hex;
  /** Cumulative amount, a uint256. */
  amount: bigint;
  /** 65-byte signature, 0x-prefixed hex; stores return it lower-cased. */
  signature: Hex;
}

/**
 * What {@link PayeeStore.saveVoucherIfHigher} did. Concurrent saves behave as if they ran one after
 * the other: per channel and per commit, the highest voucher (the first to arrive among equal ones)
 * runs first and every other one runs after it. So:
 * - `stored: true`: this voucher is now the channel's best and is durable; `previousAmount` is the
 *   best before it, so `amount - previousAmount` is what this voucher added. Summed over every
 *   `stored: true` result of a channel, the increments equal its best amount: nothing is counted twice.
 * - `stored: false`: nothing was written for this voucher; `previousAmount` is the best amount that
 *   beat it, always `>= amount` (possibly a voucher of the same commit).
 */
export interface SaveVoucherResult {
  stored: boolean;
  /** The channel's best amount this voucher was compared with (0n when none). */
  previousAmount: bigint;
}

/**
 * What {@link PayeeStore.chargeVoucher} did with one paid request. The store keeps, per channel, a
 * ledger of what it served: `served` (the sum of the prices charged), and the voucher amounts that
 * already bought a request (each buys at most one). A request is charged when the best voucher,
 * counting this one, covers `served + price`:
 * - `charged: true`: the request is paid; `served` includes its price. `stored` says whether this
 *   voucher became the channel's best (it did when it was above it); `best` is the best amount after.
 * - `charged: false`: nothing was written, whatever the voucher. `refusal` is `NOT_INCREASING` for a
 *   voucher at or below the best that cannot buy a request (already used, or no credit left), and
 *   `INSUFFICIENT_PAYMENT` for a voucher above the best that does not cover the request.
 * With {@link ChargeOptions.prepaid}, a voucher equal to the best buys a request whenever
 * `served + price` is within the best and the request's token is the next of the chain bound to that
 * voucher (charged with `stored: false`); a used, forged or foreign token is `NOT_INCREASING`.
 */
export type ChargeResult =
  | { charged: true; stored: boolean; best: bigint; served: bigint }
  | { charged: false; refusal: "NOT_INCREASING" | "INSUFFICIENT_PAYMENT"; best: bigint; served: bigint };

/** How {@link PayeeStore.chargeVoucher} may charge. */
export interface ChargeOptions {
  /**
   * Prepaid credit (src/store/prepaid.ts): a voucher that pays ahead for several requests, presented
   * with each of them, each time with the next one-time token of the hash chain whose anchor the
   * voucher's first presentation bound. The channel's best voucher, presented again with an unspent
   * token, pays for a request from the credit it left (best - served), as long as that covers the
   * price. Absent: every amount buys at most one request.
   */
  prepaid?: PrepaidToken;
}

/**
 * What a channel's charged requests have consumed. `served` is the sum of the prices charged (plus
 * the best amount the channel had when first charged); every amount at or below `floor`, and every
 * amount in `used`, already bought its request.
 */
export interface ChannelLedger {
  served: bigint;
  floor: bigint;
  /** Used amounts above `floor`, at most `USED_AMOUNTS_KEPT` (64; the lowest folds into `floor` beyond that). */
  used: bigint[];
  /** The token chain bound to the best voucher, while it has prepaid credit left. */
  prepaid?: PrepaidChain;
}

/** A channel whose best voucher is above what was claimed on-chain, as far as the store knows. */
export interface UnclaimedVoucher extends StoredVoucher {
  /** What the payee last recorded as claimed on-chain (0n when nothing was). */
  claimed: bigint;
}

/** What the payer keeps about one of its channels. */
export interface PayerChannelRecord {
  /** Must equal `channelId(config)`. */
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
 * The payee's durable state for one deployment. Every write is durable before its promise resolves.
 * Implementations: `store/memory.ts` (tests), `store/sqlite.ts` (default), `store/postgres.ts` (several
 * payee processes sharing one database). Invalid input rejects with `InvalidArgumentError` and writes nothing.
 */
export interface PayeeStore {
  /** The deployment whose records this view reads and writes. */
  readonly deployment: Deployment;
  /**
   * Atomically stores `voucher` if its amount is above the channel's best stored amount.
   * Concurrent calls for one channel end with the maximum stored; none is lost; see
   * {@link SaveVoucherResult} for what each call reports.
   */
  saveVoucherIfHigher(voucher: StoredVoucher): Promise<SaveVoucherResult>;
  /**
   * Atomically charges one request of `price` (> 0) against the channel's vouchers: stores `voucher`
   * if it is above the best and records the request as served, in one transaction, or refuses and
   * writes nothing (see {@link ChargeResult}). Charges of one commit apply in arrival order, before
   * the plain saves of that commit; processes sharing one store share one ledger, so together they
   * serve exactly what was paid. A channel charged for the first time starts with everything up to
   * its best stored amount served: vouchers saved without a charge buy no request.
   * The caller has checked the voucher's signature and the channel (the Payee does).
   */
  chargeVoucher(voucher: StoredVoucher, price: bigint, options?: ChargeOptions): Promise<ChargeResult>;
  /** A channel's charge ledger; undefined before its first charge. */
  chargeLedger(channelId: Hex): Promise<ChannelLedger | undefined>;
  /** The best stored voucher of a channel. */
  bestVoucher(channelId: Hex): Promise<StoredVoucher | undefined>;
  /** Every channel's best voucher, by channel id. Grows with every channel ever paid: prefer {@link unclaimedVouchers}. */
  bestVouchers(): Promise<StoredVoucher[]>;
  /**
   * The channels whose best voucher is above the recorded claimed amount and that are not recorded as
   * finished, by channel id: the bounded set that claim batching and the watchtower work from.
   */
  unclaimedVouchers(): Promise<UnclaimedVoucher[]>;
  /**
   * Records what the chain says was claimed on a channel (only ever raised), and whether the channel is
   * finished (closed or withdrawn; never undone). A channel with nothing above it leaves
   * {@link unclaimedVouchers}. Recording for a channel with no stored voucher is allowed and kept.
   */
  recordClaimed(channelId: Hex, claimed: bigint, finished?: boolean): Promise<void>;
  /** Remembers a channel's config (needed to claim or close). Idempotent. */
  saveChannel(config: ChannelConfig): Promise<void>;
  /** A remembered channel config by id. */
  channel(channelId: Hex): Promise<ChannelConfig | undefined>;
  /** Small durable key/value facts, such as the last block a watcher processed. */
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  /** Waits for pending writes, then releases the store. */
  close(): Promise<void>;
}

/**
 * The payer's durable state. Its method names carry `payer` so that one store object can serve
 * both roles (a process that pays and is paid) without the payee's `channel()` clashing.
 */
export interface PayerStore {
  /** The deployment whose records this view reads and writes. */
  readonly deployment: Deployment;
  /**
   * Remembers a channel. Idempotent; saving a record again never lowers its `signedAmount` and
   * rejects with `StoreError` when it contradicts the stored one (session key); a record of another
   * deployment than the view's is refused with `InvalidArgumentError`.
   */
  savePayerChannel(record: PayerChannelRecord): Promise<void>;
  payerChannel(channelId: Hex): Promise<PayerChannelRecord | undefined>;
  payerChannels(): Promise<PayerChannelRecord[]>;
  /**
   * Durably raises the channel's signed amount to `amount` with its `signature`. Rejects (with a
   * `NotIncreasingError`) when `amount` is not above the stored one, so a restart never signs a
   * cumulative amount twice for different totals; with `UnknownChannelError` when the channel was
   * never saved. Concurrent calls apply in call order.
   */
  recordSigned(channelId: Hex, amount: bigint, signature: Hex): Promise<void>;
  close(): Promise<void>;
}
