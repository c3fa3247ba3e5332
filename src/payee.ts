// The paid side of a channel: checks each voucher against the channel's on-chain state and the payee's
// policy, stores the best one durably, and claims or closes with it.
//
// Cost model. `accept` makes no chain call for a channel it already knows: the channel's config and
// state are read once and then kept current by the contract's events, pulled by `sync()` at most once per
// `syncIntervalMs` (all accepts during a pull share it). Ids that turned out unknown are remembered (a
// bounded LRU with a TTL), concurrent lookups of one id share a single call, and lookups of new ids are
// rate-limited (a token bucket), so a flood of bad vouchers costs a bounded number of chain calls whatever
// the ids it carries. Only an ERC-1271 (contract) signer costs a call per voucher, after every cheaper check.
//
// WRONG_CHAIN. A voucher's signature binds the chain id and the contract (the EIP-712 domain), so a
// voucher signed for another deployment fails as BAD_SIGNATURE. A voucher that says which deployment it is
// for (`chainId` / `contract`, as the HTTP payment payload carries them) and names another one is refused
// as WRONG_CHAIN before any other work.
import { channelId as computeChannelId, ChannelStatus, MAX_CLAIM_BATCH, type Address, type ChannelConfig, type ChannelState, type Hex } from "./channel.ts";
import { isChainWriter, type ChainReader, type ChainWriter, type ChannelEvent, type TxResult } from "./chain/adapter.ts";
import { claimBatches } from "./chain/claim-batches.ts";
import {
  BadSignatureError,
  ChannelClosingError,
  ChannelNotOpenError,
  ExceedsDepositError,
  InsufficientPaymentError,
  InvalidArgumentError,
  MalformedVoucherError,
  NotIncreasingError,
  UnknownChannelError,
  WrongChainError,
  StaleChainStateError,
} from "./errors.ts";
import { AcceptancePolicy, type PayeePolicy } from "./policy.ts";
import type { ChargeOptions, PayeeStore, StoredVoucher } from "./store/store.ts";
import type { PrepaidToken } from "./store/prepaid.ts";
import { viewFor, type StoreOrView } from "./store/deployment.ts";
import { isHex } from "./crypto/encoding.ts";
import { VoucherVerifier, voucherDigest, type Voucher, type VoucherDomain } from "./voucher.ts";

export type { PayeePolicy } from "./policy.ts";

/** How much chain traffic the payee allows itself. The defaults suit a public endpoint. */
export interface PayeeLimits {
  /** Least time between two event pulls triggered by `accept`, ms. Default 1000. */
  syncIntervalMs?: number;
  /** Most blocks per `events` call (RPC providers cap log ranges). Default 5000. */
  maxBlockRange?: bigint;
  /** Lookups of channels not yet known, per second, sustained. Default 50. */
  lookupsPerSecond?: number;
  /** Lookups allowed in a burst. Default 200. */
  lookupBurst?: number;
  /** How long an id found unknown is answered from memory, ms. Default 10000. */
  unknownTtlMs?: number;
  /** Most channels (known and unknown) kept in memory. Default 100000. */
  cacheSize?: number;
}

export interface PayeeParameters {
  chain: ChainReader | ChainWriter;
  /** A store backend (the Payee takes the view of its chain's deployment), or that deployment's view. */
  store: StoreOrView<PayeeStore>;
  /** The address channels must name as payee (the account that claims). */
  payee: Address;
  policy?: PayeePolicy;
  limits?: PayeeLimits;
}

/** What `accept` returns once the voucher is durable. */
export interface AcceptReceipt {
  channelId: Hex;
  /** The voucher's cumulative amount, now the channel's best. */
  amount: bigint;
  /** What this voucher added to the best amount stored before it. */
  increment: bigint;
}

/** What `charge` returns once the request is durably paid. */
export interface ChargeReceipt {
  channelId: Hex;
  /** The price charged for this request. */
  charged: bigint;
  /** The channel's best amount after this charge (what the payee can claim). */
  cumulative: bigint;
  /** Whether this voucher became the channel's best (false when an earlier, higher one paid for it). */
  stored: boolean;
  /** The channel's deposit as the payee knows it. */
  deposit: bigint;
}

/** Least time between two event pulls caused by vouchers above one channel's cached deposit, ms. */
const DEPOSIT_REFRESH_MS = 1000;

/** A voucher that may say which deployment it was signed for (the HTTP payload carries both). */
export type AddressedVoucher = Voucher & { chainId?: bigint; contract?: Address };

export const DEFAULT_MIN_CLOSE_DELAY = 3600n;

const UINT256_LIMIT = 1n << 256n;

interface KnownChannel {
  config: ChannelConfig;
  state: ChannelState;
  /** Best amount stored (or claimed): nothing at or below it can be accepted. */
  best: bigint;
  /** Resolved once the config is in the store (needed to claim after a restart). */
  saved?: Promise<void>;
  /** Whether the signer has code (ERC-1271), looked up on the first signature that is not its ECDSA one. */
  signerHasCode?: Promise<boolean>;
  /** The keccak-256 of the contract signer's code, looked up once when the policy accepts some. */
  signerCodeHash?: Promise<Hex | undefined>;
  /** When a voucher above the cached deposit last made `charge` pull events (ms). */
  depositRefreshedAt?: number;
  /**
   * The last voucher of this channel whose ECDSA signature this process checked, byte for byte. That
   * check is a pure function of the voucher, the domain and the signer (fixed by the config the id
   * hashes), so the same bytes need no second recovery: a prepaid voucher presented k times is recovered
   * once. A contract (ERC-1271) signer's answer can change, so it is never remembered.
   */
  verified?: { amount: bigint; signature: Hex };
}

/** A small LRU map; entries may expire. */
class BoundedCache<V> {
  readonly #entries = new Map<string, { value: V; expires: number }>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get(key: string, now: number): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.expires <= now) return undefined;
    this.#entries.set(key, entry); // most recently used last
    return entry.value;
  }

  set(key: string, value: V, expires = Number.POSITIVE_INFINITY): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expires });
    if (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}

const STATUS_ORDER = [ChannelStatus.None, ChannelStatus.Open, ChannelStatus.Closing, ChannelStatus.Finished];

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function lower(value: string): string {
  return value.toLowerCase();
}

export class Payee {
  readonly #chain: ChainReader | ChainWriter;
  readonly #storeGiven: StoreOrView<PayeeStore>;
  /** What this payee accepts; the HTTP gate reads it too, so both answer a voucher alike. */
  readonly policy: AcceptancePolicy;
  readonly #syncIntervalMs: number;
  readonly #maxBlockRange: bigint;
  readonly #lookupsPerSecond: number;
  readonly #lookupBurst: number;
  readonly #unknownTtlMs: number;

  readonly #known: BoundedCache<KnownChannel>;
  readonly #unknown: BoundedCache<true>;
  readonly #lookups = new Map<string, Promise<KnownChannel>>();
  #lookupTokens: number;
  #lookupRefilledAt = Date.now();

  #domain: Promise<{ domain: VoucherDomain; verifier: VoucherVerifier; store: PayeeStore }> | undefined;
  /** Last block whose events are applied; set just before the first channel read. */
  #syncedBlock: bigint | undefined;
  #syncStart: Promise<void> | undefined;
  #syncing: Promise<void> | undefined;
  #lastSyncAt = 0;
  /** When the view of the chain was last known current (the head read of the last successful pull). */
  #freshAt = 0;

  constructor(params: PayeeParameters) {
    if (typeof params.payee !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(params.payee)) {
      throw new InvalidArgumentError("payee must be an address", { payee: params.payee });
    }
    this.#chain = params.chain;
    this.#storeGiven = params.store;
    const limits = params.limits ?? {};
    this.#syncIntervalMs = limits.syncIntervalMs ?? 1000;
    this.policy = new AcceptancePolicy(params.payee, { minCloseDelay: DEFAULT_MIN_CLOSE_DELAY, ...params.policy }, this.#syncIntervalMs);
    this.#maxBlockRange = limits.maxBlockRange ?? 5000n;
    this.#lookupsPerSecond = limits.lookupsPerSecond ?? 50;
    this.#lookupBurst = limits.lookupBurst ?? 200;
    this.#unknownTtlMs = limits.unknownTtlMs ?? 10_000;
    this.#lookupTokens = this.#lookupBurst;
    const cacheSize = limits.cacheSize ?? 100_000;
    this.#known = new BoundedCache(cacheSize);
    this.#unknown = new BoundedCache(cacheSize);
  }

  /**
   * Checks a voucher and stores it if it raises the channel's best amount. Durable before it returns.
   * `config` is optional: when the channel is unknown, it is read once from the ChannelOpened log.
   */
  async accept(voucher: AddressedVoucher, config?: ChannelConfig): Promise<AcceptReceipt> {
    const { candidate, channel, domain, verifier, store } = await this.#prepare(voucher, config);
    const state = channel.state;
    if (candidate.amount > state.deposit) {
      throw new ExceedsDepositError(`the channel holds ${state.deposit}`, { channelId: candidate.channelId, amount: candidate.amount, deposit: state.deposit });
    }
    await this.#checkSignature(channel, candidate, domain, verifier);
    const id = candidate.channelId;
    if (candidate.amount <= channel.best) {
      throw new NotIncreasingError(`the payee already holds ${channel.best} for this channel`, { channelId: id, amount: candidate.amount, best: channel.best });
    }

    await this.#saveConfig(channel, store);
    const result = await store.saveVoucherIfHigher(candidate);
    channel.best = max(channel.best, result.stored ? candidate.amount : result.previousAmount);
    if (!result.stored) {
      throw new NotIncreasingError(`the payee already holds ${result.previousAmount} for this channel`, {
        channelId: id,
        amount: candidate.amount,
        best: result.previousAmount,
      });
    }
    return { channelId: id, amount: candidate.amount, increment: candidate.amount - result.previousAmount };
  }

  /**
   * Serves one request of `price` with `voucher`, for a transport (the HTTP gate): the same checks as
   * `accept`, then the store's `chargeVoucher` stores the voucher and records the request in one
   * transaction, so every process sharing the store serves exactly what was paid. A voucher at or
   * below the best may pay from credit an earlier, higher voucher left; each amount buys one request,
   * except that with the policy's `prepaidCredit` and a `prepaid` token (the next one-time token of the
   * hash chain its first presentation bound, src/store/prepaid.ts) the best voucher, presented again, buys one more
   * request each time while its credit lasts (its signature checked once per process, see `verified`).
   * Refuses with `NotIncreasingError` or `InsufficientPaymentError` (details: `best`, `served`) and
   * then nothing was stored. A voucher above the cached deposit, once its signature checks, makes the
   * payee pull events (a top-up it has not seen), at most once a second per channel.
   */
  async charge(voucher: AddressedVoucher, price: bigint, config?: ChannelConfig, prepaid?: PrepaidToken): Promise<ChargeReceipt> {
    if (typeof price !== "bigint" || price <= 0n || price >= UINT256_LIMIT) {
      throw new InvalidArgumentError("price must be a uint256 bigint above zero", { price: typeof price === "bigint" ? price : String(price) });
    }
    const { candidate, channel, domain, verifier, store } = await this.#prepare(voucher, config);
    const id = candidate.channelId;
    await this.#checkSignature(channel, candidate, domain, verifier, false);
    if (candidate.amount > channel.state.deposit) {
      const now = Date.now();
      if (now - (channel.depositRefreshedAt ?? 0) >= DEPOSIT_REFRESH_MS) {
        channel.depositRefreshedAt = now;
        await this.sync();
      }
      if (candidate.amount > channel.state.deposit) {
        throw new ExceedsDepositError(`the channel holds ${channel.state.deposit}`, { channelId: id, amount: candidate.amount, deposit: channel.state.deposit });
      }
    }
    await this.#saveConfig(channel, store);
    const options: ChargeOptions = prepaid !== undefined && this.policy.prepaidCredit ? { prepaid } : {};
    const result = await store.chargeVoucher(candidate, price, options);
    channel.best = max(channel.best, result.best);
    if (!result.charged) {
      const details = { channelId: id, amount: candidate.amount, price, best: result.best, served: result.served };
      if (result.refusal === "INSUFFICIENT_PAYMENT") {
        throw new InsufficientPaymentError(`the vouchers cover ${result.best - result.served > 0n ? result.best - result.served : 0n} after this one, this request costs ${price}`, details);
      }
      throw new NotIncreasingError(`voucher ${candidate.amount} buys nothing more: the payee holds ${result.best}, of which ${result.served} is served`, details);
    }
    return { channelId: id, charged: price, cumulative: result.best, stored: result.stored, deposit: channel.state.deposit };
  }

  /**
   * The config of a channel this payee knows (cached or stored), without any chain call; undefined
   * for a channel it never accepted a voucher of.
   */
  async knownConfig(channelId: Hex): Promise<ChannelConfig | undefined> {
    const id = lower(channelId) as Hex;
    return this.#known.get(id, Date.now())?.config ?? (await (await this.#ready()).store.channel(id));
  }

  /** The checks `accept` and `charge` share: shape, deployment, config, policy, channel status. */
  async #prepare(voucher: AddressedVoucher, config: ChannelConfig | undefined) {
    const candidate = checkShape(voucher);
    const { domain, verifier, store } = await this.#ready();
    if (voucher.chainId !== undefined && voucher.chainId !== domain.chainId) {
      throw new WrongChainError(`this payee takes vouchers of chain ${domain.chainId}`, { chainId: voucher.chainId, expected: domain.chainId });
    }
    if (voucher.contract !== undefined && (typeof voucher.contract !== "string" || lower(voucher.contract) !== lower(domain.verifyingContract))) {
      throw new WrongChainError(`this payee takes vouchers of contract ${domain.verifyingContract}`, { contract: voucher.contract, expected: domain.verifyingContract });
    }
    const id = candidate.channelId;
    if (config !== undefined) {
      let configId: Hex;
      try {
        configId = computeChannelId(config);
      } catch (error) {
        throw new InvalidArgumentError("config is not a channel config", { config }, { cause: error });
      }
      if (configId !== id) throw new InvalidArgumentError("config is not the voucher's channel", { channelId: id, configId });
      // The id is the config's hash, so these checks need no chain call.
      this.#checkPolicy(id, config);
    }

    const channel = await this.#channel(id, config);
    await this.#maybeSync();
    if (Date.now() - this.#freshAt > this.policy.maxStalenessMs) {
      throw new StaleChainStateError("the payee's view of the chain is too old to accept a voucher: event pulls are failing", {
        channelId: id,
        freshAt: this.#freshAt,
        maxStalenessMs: this.policy.maxStalenessMs,
      });
    }
    this.#checkPolicy(id, channel.config);
    const state = channel.state;
    if (state.status === ChannelStatus.Closing) {
      throw new ChannelClosingError("the payer asked to close this channel: no voucher is accepted", { channelId: id, closesAt: state.closesAt });
    }
    if (state.status !== ChannelStatus.Open) throw new ChannelNotOpenError("the channel is finished", { channelId: id, status: state.status });
    return { candidate, channel, domain, verifier, store };
  }

  /** The config must be in the store before any voucher of the channel (needed to claim after a restart). */
  async #saveConfig(channel: KnownChannel, store: PayeeStore): Promise<void> {
    channel.saved ??= store.saveChannel(channel.config).catch((error: unknown) => {
      channel.saved = undefined; // retried by the next accept
      throw error;
    });
    await channel.saved;
  }

  /** Channel state as cached by the payee (refreshed by events); undefined if the channel does not exist. */
  async channelState(channelId: Hex): Promise<ChannelState | undefined> {
    try {
      const channel = await this.#channel(lower(channelId) as Hex, undefined);
      return { ...channel.state };
    } catch (error) {
      if (error instanceof UnknownChannelError) return undefined;
      throw error;
    }
  }

  /** Pulls the contract's events since the last processed block and applies them to the cached channels. */
  sync(): Promise<void> {
    this.#syncing ??= this.#pullEvents().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  /** Claims the best stored voucher of a channel; the channel stays open. */
  async claim(channelId: Hex): Promise<TxResult> {
    const [entry] = await this.#claimable([lower(channelId) as Hex], true);
    const transaction = await this.#writer().claim(entry.config, entry.voucher.amount, entry.voucher.signature);
    await this.#recordClaimed(entry.voucher.channelId, entry.voucher.amount, false);
    return transaction;
  }

  /**
   * Claims the best stored vouchers of many channels: one transaction per token, since the contract takes one
   * token per batch and pays it in one transfer (`claimManyCompact` when every signer is an EOA). Without ids:
   * the channels the store lists with unclaimed value (not every channel ever paid), the largest unclaimed
   * first, at most `MAX_CLAIM_BATCH`; its chain reads grow with that set only. Resolves to the transactions,
   * one per token; each batch is recorded as claimed once mined, so a batch that fails leaves the ones
   * before it recorded.
   */
  async claimMany(channelIds?: Hex[]): Promise<TxResult[]> {
    if (channelIds !== undefined && channelIds.length > MAX_CLAIM_BATCH) {
      throw new InvalidArgumentError(`claimMany takes at most ${MAX_CLAIM_BATCH} channels`, { count: channelIds.length });
    }
    const { store } = await this.#ready();
    let ids: Hex[];
    if (channelIds !== undefined) ids = channelIds.map((id) => lower(id) as Hex);
    else {
      // Every channel the store lists, not the first MAX_CLAIM_BATCH of them: one claimed elsewhere
      // meanwhile is found out (and leaves the set) here, while the chain decides what the batch holds.
      ids = (await store.unclaimedVouchers()).map((v) => v.channelId);
    }
    const entries = await this.#claimable(ids, channelIds !== undefined);
    if (entries.length === 0) throw new NotIncreasingError("no stored voucher is above what was claimed", { channels: ids.length });
    const chosen = entries
      .sort((a, b) => (b.voucher.amount - b.claimed > a.voucher.amount - a.claimed ? 1 : -1))
      .slice(0, MAX_CLAIM_BATCH);
    const transactions: TxResult[] = [];
    for (const batch of claimBatches(chosen)) {
      transactions.push(
        await this.#writer().claimMany(batch.map((e) => ({ config: e.config, amount: e.voucher.amount, signature: e.voucher.signature }))),
      );
      for (const e of batch) await this.#recordClaimed(e.voucher.channelId, e.voucher.amount, false);
    }
    return transactions;
  }

  /** Closes a channel with its best stored voucher (or with what was claimed), refunding the rest to the payer. */
  async close(channelId: Hex): Promise<TxResult> {
    const id = lower(channelId) as Hex;
    const { store } = await this.#ready();
    const config = await this.#configOf(id);
    const [state, best] = await Promise.all([this.#chain.readChannel(id), store.bestVoucher(id)]);
    const transaction =
      best !== undefined && best.amount > state.claimed
        ? await this.#writer().close(config, best.amount, best.signature)
        : await this.#writer().close(config, state.claimed, "0x"); // nothing new: the contract needs no signature
    await this.#recordClaimed(id, best !== undefined && best.amount > state.claimed ? best.amount : state.claimed, true);
    return transaction;
  }

  // ---------------------------------------------------------------- checks

  #checkPolicy(id: Hex, config: ChannelConfig): void {
    this.policy.checkConfig(id, config);
  }

  /** ECDSA first, as the contract does; ERC-1271 only when that fails and the signer has code. */
  async #checkSignature(channel: KnownChannel, voucher: StoredVoucher, domain: VoucherDomain, verifier: VoucherVerifier, refuseNotAboveBest = true): Promise<void> {
    const signer = channel.config.signer;
    const verified = channel.verified;
    if (verified !== undefined && verified.amount === voucher.amount && verified.signature === voucher.signature) return;
    try {
      verifier.verify(voucher, signer);
      channel.verified = { amount: voucher.amount, signature: voucher.signature };
      return;
    } catch (error) {
      if (!(error instanceof MalformedVoucherError || error instanceof BadSignatureError)) throw error;
      channel.signerHasCode ??= this.#chain.hasCode(signer);
      if (!(await channel.signerHasCode)) throw error;
    }
    // A contract signer is trusted only by its code: by default none is (see PayeePolicy).
    if (this.policy.contractSignerCodeHashes.size === 0) {
      throw new BadSignatureError(`the signer ${signer} is a contract, and this payee's policy accepts no contract signer`, { channelId: voucher.channelId, signer });
    }
    channel.signerCodeHash ??= this.#chain.codeHash?.(signer) ?? Promise.resolve(undefined);
    const codeHash = await channel.signerCodeHash;
    if (!this.policy.acceptsContractSigner(codeHash)) {
      throw new BadSignatureError(`the contract signer ${signer} has code ${codeHash ?? "unknown"}, not one this payee's policy accepts`, {
        channelId: voucher.channelId,
        signer,
        codeHash,
      });
    }
    // Cheap refusals first: a contract signer costs a call per check.
    if (refuseNotAboveBest && voucher.amount <= channel.best) {
      throw new NotIncreasingError(`the payee already holds ${channel.best} for this channel`, { channelId: voucher.channelId, amount: voucher.amount, best: channel.best });
    }
    const digest = voucherDigest(domain, voucher.channelId, voucher.amount);
    if (!(await this.#chain.isValidErc1271Signature(signer, digest, voucher.signature))) {
      throw new BadSignatureError(`the contract signer ${signer} refused the voucher`, { channelId: voucher.channelId, signer });
    }
  }

  // ---------------------------------------------------------------- channel cache

  /** The chain's domain, and the store's view for it (a view for another deployment fails as WRONG_CHAIN). */
  #ready(): Promise<{ domain: VoucherDomain; verifier: VoucherVerifier; store: PayeeStore }> {
    this.#domain ??= Promise.all([this.#chain.chainId(), viewFor(this.#storeGiven, this.#chain)]).then(
      ([chainId, store]) => {
        const domain = { chainId, verifyingContract: this.#chain.contract };
        return { domain, verifier: new VoucherVerifier(domain), store };
      },
      (error: unknown) => {
        this.#domain = undefined;
        throw error;
      },
    );
    return this.#domain;
  }

  async #channel(id: Hex, config: ChannelConfig | undefined): Promise<KnownChannel> {
    const now = Date.now();
    const known = this.#known.get(id, now);
    if (known !== undefined) return known;
    if (this.#unknown.get(id, now) !== undefined) {
      // It may have opened since: the event pull (at most one per interval) forgets ids it sees opened.
      await this.#maybeSync();
      if (this.#unknown.get(id, Date.now()) !== undefined) throw new UnknownChannelError("no such channel on this contract", { channelId: id });
    }
    const pending = this.#lookups.get(id);
    if (pending !== undefined) return pending;
    if (!this.#takeLookupToken(now)) {
      throw new UnknownChannelError("too many lookups of new channels: retry shortly", { channelId: id, rateLimited: true });
    }
    const lookup = this.#lookUp(id, config).finally(() => this.#lookups.delete(id));
    this.#lookups.set(id, lookup);
    return lookup;
  }

  async #lookUp(id: Hex, given: ChannelConfig | undefined): Promise<KnownChannel> {
    const { store } = await this.#ready();
    await this.#startSync();
    const stored = await store.channel(id);
    const config = stored ?? given ?? (await this.#chain.findChannelConfig(id));
    const state = config === undefined ? undefined : await this.#chain.readChannel(id);
    if (config === undefined || state === undefined || state.status === ChannelStatus.None) {
      this.#unknown.set(id, true, Date.now() + this.#unknownTtlMs);
      throw new UnknownChannelError("no such channel on this contract", { channelId: id });
    }
    const best = (await store.bestVoucher(id))?.amount ?? 0n;
    const channel: KnownChannel = { config, state, best: max(best, state.claimed) };
    if (stored !== undefined) channel.saved = Promise.resolve();
    this.#known.set(id, channel);
    return channel;
  }

  #takeLookupToken(now: number): boolean {
    const elapsed = (now - this.#lookupRefilledAt) / 1000;
    this.#lookupRefilledAt = now;
    this.#lookupTokens = Math.min(this.#lookupBurst, this.#lookupTokens + elapsed * this.#lookupsPerSecond);
    if (this.#lookupTokens < 1) return false;
    this.#lookupTokens -= 1;
    return true;
  }

  /** Fixes the first block to pull events from, before any channel is read, so no event falls in between. */
  #startSync(): Promise<void> {
    this.#syncStart ??= this.#chain.blockNumber().then(
      (block) => {
        this.#syncedBlock ??= block;
        this.#lastSyncAt = Date.now();
        this.#freshAt = this.#lastSyncAt;
      },
      (error: unknown) => {
        this.#syncStart = undefined;
        throw error;
      },
    );
    return this.#syncStart;
  }

  async #maybeSync(): Promise<void> {
    if (this.#syncing !== undefined) return this.#syncing;
    if (Date.now() - this.#lastSyncAt >= this.#syncIntervalMs) return this.sync();
  }

  async #pullEvents(): Promise<void> {
    try {
      await this.#startSync();
      const pulledAt = Date.now();
      const head = await this.#chain.blockNumber();
      let from = (this.#syncedBlock as bigint) + 1n;
      while (from <= head) {
        const to = head < from + this.#maxBlockRange - 1n ? head : from + this.#maxBlockRange - 1n;
        for (const event of await this.#chain.events(from, to)) this.#apply(event);
        this.#syncedBlock = to;
        from = to + 1n;
      }
      this.#freshAt = pulledAt;
    } finally {
      // Also after a failure: the accept that triggered the pull fails with the RPC's error, and the next
      // attempt waits for the interval, so an unreachable node does not cost a call per voucher.
      this.#lastSyncAt = Date.now();
    }
  }

  /**
   * Events merge monotonically (deposit and claimed only grow, status only moves forward), so an event
   * older than the state it lands on changes nothing, and the order of reads and pulls does not matter.
   */
  #apply(event: ChannelEvent): void {
    const id = lower(event.channelId);
    if (event.type === "opened") this.#unknown.delete(id);
    const channel = this.#known.get(id, Date.now());
    if (channel === undefined) return;
    const state = channel.state;
    const advance = (status: ChannelStatus) => {
      if (STATUS_ORDER.indexOf(status) > STATUS_ORDER.indexOf(state.status)) state.status = status;
    };
    switch (event.type) {
      case "opened":
        state.deposit = max(state.deposit, event.deposit);
        advance(ChannelStatus.Open);
        break;
      case "toppedUp":
        state.deposit = max(state.deposit, event.deposit);
        break;
      case "claimed":
        state.claimed = max(state.claimed, event.claimed);
        channel.best = max(channel.best, event.claimed);
        break;
      case "closeRequested":
        if (state.status !== ChannelStatus.Finished) state.closesAt = event.closesAt;
        advance(ChannelStatus.Closing);
        break;
      case "closed":
        state.claimed = max(state.claimed, event.claimed);
        advance(ChannelStatus.Finished);
        break;
      case "withdrawn":
        advance(ChannelStatus.Finished);
        break;
      case "refunded":
        // The one event that lowers the deposit: never keep the higher figure, or a voucher above what the
        // channel still holds would be accepted.
        state.deposit = state.deposit < event.deposit ? state.deposit : event.deposit;
        break;
    }
  }

  /** After a claim or close of ours: the cache and the store's claimed amount follow the chain. */
  async #recordClaimed(id: Hex, claimed: bigint, finished: boolean): Promise<void> {
    this.#applyClaimed(id, claimed, finished);
    await (await this.#ready()).store.recordClaimed(id, claimed, finished);
  }

  #applyClaimed(id: Hex, claimed: bigint, finished: boolean): void {
    const channel = this.#known.get(lower(id), Date.now());
    if (channel === undefined) return;
    channel.state.claimed = max(channel.state.claimed, claimed);
    channel.best = max(channel.best, claimed);
    if (finished) channel.state.status = ChannelStatus.Finished;
  }

  // ---------------------------------------------------------------- claims

  #writer(): ChainWriter {
    if (!isChainWriter(this.#chain)) throw new InvalidArgumentError("claiming needs a chain adapter that can send transactions");
    return this.#chain;
  }

  async #configOf(id: Hex): Promise<ChannelConfig> {
    const config = this.#known.get(id, Date.now())?.config ?? (await (await this.#ready()).store.channel(id)) ?? (await this.#chain.findChannelConfig(id));
    if (config === undefined) throw new UnknownChannelError("no such channel on this contract", { channelId: id });
    return config;
  }

  /** The channels among `ids` whose best stored voucher is above what was claimed and that can still be claimed. */
  async #claimable(ids: Hex[], strict: boolean): Promise<{ config: ChannelConfig; voucher: StoredVoucher; claimed: bigint }[]> {
    this.#writer();
    const { store } = await this.#ready();
    const now = await this.#chain.blockTimestamp();
    const entries = await Promise.all(
      ids.map(async (id) => {
        const [config, state, voucher] = await Promise.all([this.#configOf(id), this.#chain.readChannel(id), store.bestVoucher(id)]);
        const settleable = state.status === ChannelStatus.Open || (state.status === ChannelStatus.Closing && now < state.closesAt);
        if (voucher !== undefined && voucher.amount > state.claimed && settleable) return { config, voucher, claimed: state.claimed };
        // What the chain says goes to the store, so a channel with nothing left to claim leaves the
        // unclaimed set and is not read again.
        await store.recordClaimed(id, state.claimed, !settleable && state.status !== ChannelStatus.None);
        if (strict) {
          if (!settleable) throw new ChannelNotOpenError("the channel can no longer be claimed", { channelId: id, status: state.status, closesAt: state.closesAt });
          throw new NotIncreasingError("no stored voucher is above what was claimed", { channelId: id, claimed: state.claimed, best: voucher?.amount ?? 0n });
        }
        return undefined;
      }),
    );
    return entries.filter((e) => e !== undefined);
  }
}

/** The structural checks that need no key or chain: 32-byte id, uint256 amount, 65-byte hex signature. */
function checkShape(voucher: unknown): StoredVoucher {
  if (typeof voucher !== "object" || voucher === null) throw new MalformedVoucherError("a voucher must be an object");
  const { channelId, amount, signature } = voucher as Record<string, unknown>;
  if (!isHex(channelId, 32)) {
    throw new MalformedVoucherError("channelId must be 32 bytes of 0x-prefixed hex", { channelId });
  }
  if (typeof amount !== "bigint" || amount < 0n || amount >= UINT256_LIMIT) {
    throw new MalformedVoucherError("amount must be a uint256 bigint", { amount: typeof amount === "bigint" ? amount : String(amount) });
  }
  if (!isHex(signature, 65)) {
    throw new MalformedVoucherError("signature must be 65 bytes of 0x-prefixed hex", { signature });
  }
  return { channelId: lower(channelId) as Hex, amount, signature: lower(signature) as Hex };
}

