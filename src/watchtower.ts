// The payee's watchtower: follows the contract's events so that a payee never loses a voucher's worth
// because it was not looking. When a payer asks to close one of the payee's channels, it closes with the
// best stored voucher long before the deadline; it can also claim once enough is unclaimed. Everything it
// cannot do is reported through `onAlert` and on stderr, never dropped.
import { encodeFunctionData } from "viem";
import type { Address, ChannelConfig, Hex } from "./channel.ts";
import { ChannelStatus } from "./channel.ts";
import { PAYMENT_CHANNELS_ABI } from "./chain/abi.ts";
import type { ChainWriter, ChannelEvent, TxResult } from "./chain/adapter.ts";
import { claimBatches, claimManyCall } from "./chain/claim-batches.ts";
import type { SendTransaction } from "./chain/fee-bumping.ts";
import { TrickleError } from "./errors.ts";
import type { PayeeStore, StoredVoucher } from "./store/store.ts";
import { viewFor, type StoreOrView } from "./store/deployment.ts";
import { signRelayedSettlement, type RelayedSettlementRequest } from "./relay.ts";

/**
 * Closes through a relayer instead of a transaction of the payee's own: the watchtower signs the close with
 * the payee's account (`chain.signTypedData`, no gas) and hands the request to `submit`, which sends it from
 * an account that has gas (for instance another `ChainWriter`'s `closeRelayed`, or an HTTP relay service).
 */
export interface WatchtowerRelay {
  /** The most the relayer may take out of a close's payout (credited to it in the contract); less when the payout is smaller. */
  fee: bigint;
  /** Seconds the signed request stays valid. Default 600. */
  validForSeconds?: bigint;
  submit(request: RelayedSettlementRequest): Promise<TxResult>;
}

/** What the watchtower acts for: a payee's address, its store of vouchers, and a chain it can send from. */
export interface WatchTarget {
  chain: ChainWriter;
  /** A store backend (the watchtower takes the view of its chain's deployment), or that deployment's view. */
  store: StoreOrView<PayeeStore>;
  payee: Address;
}

export interface WatchtowerRetryOptions {
  /** Tries per RPC read, the first included. Default 5. */
  attempts?: number;
  /** Delay before the first retry; doubles each time. Default 250 ms. */
  baseDelayMs?: number;
  /** Longest delay between two tries. Default 8 s. */
  maxDelayMs?: number;
}

/**
 * Lets several payee processes run a watchtower while only one acts: before each pass the watchtower
 * asks `acquire()`, and a process that does not lead skips the pass (see `PostgresLeaderLease` in
 * `trickle/store/postgres`). Its state (cursor, pending closes) lives in the shared store, so the next
 * leader resumes where the last one stopped.
 */
export interface WatchtowerLease {
  /** Whether this process leads now; `false` on any failure. */
  acquire(): Promise<boolean>;
}

export interface WatchOptions {
  /** Act only while this lease is held; without it the watchtower always acts. */
  lease?: WatchtowerLease;
  /** Time between two polls of the chain. Default 4 s. */
  pollIntervalMs?: number;
  /** Blocks an event must be buried under before it is acted on. Default 2. */
  confirmations?: bigint;
  /**
   * Seconds before a close deadline by which the close must be mined. A close request found later than
   * that is still closed, with a `CLOSE_LATE` alert; a close not mined by then raises `CLOSE_AT_RISK`.
   * Default 600.
   */
  closeMargin?: bigint;
  /** Claim a channel once `best voucher - claimed` reaches this amount (in the channel's token units). Off by default. */
  claimThreshold?: bigint;
  /**
   * Also close when the payee holds nothing better than what is claimed, to give the payer its refund
   * now rather than after `closeDelay`. Costs the payee a transaction for no gain, so off by default:
   * the payer is refunded by `withdraw` after the delay either way.
   */
  closeWithoutGain?: boolean;
  /** First block to read on the very first start (no cursor stored). Default: the confirmed head. */
  fromBlock?: bigint;
  /** Blocks per `events()` call while catching up (RPC providers cap log ranges). Default 2,000. */
  maxBlockRange?: bigint;
  /** Backoff of RPC reads. */
  retry?: WatchtowerRetryOptions;
  /**
   * Sends close and claim transactions instead of `chain.close` / `chain.claim`; give a
   * `feeBumpingSender(...)` (src/chain/fee-bumping.ts) so a close that is not mined is re-sent with a higher fee.
   */
  send?: SendTransaction;
  /** Closes through a relayer, so the payee needs no gas for them (claims still use `chain` or `send`). */
  relay?: WatchtowerRelay;
  /** Every alert, also written to `log`. */
  onAlert?: (alert: WatchtowerAlert) => void;
  /** Every close and claim the watchtower made. */
  onAction?: (action: WatchtowerAction) => void;
  /** Where alerts and actions are written, one line each. Default: stderr. */
  log?: (line: string) => void;
}

export type WatchtowerAlertCode =
  /** The RPC failed every retry; the tick is retried at the next poll. */
  | "RPC_UNAVAILABLE"
  /** A close request was seen less than `closeMargin` before its deadline. */
  | "CLOSE_LATE"
  /** A close failed; it is retried at the next poll. */
  | "CLOSE_FAILED"
  /** Less than `closeMargin` is left and the close is still not mined. */
  | "CLOSE_AT_RISK"
  /** The deadline passed before the close was mined: the stored voucher's value above `claimed` is lost. */
  | "DEADLINE_MISSED"
  /** A claim failed; it is retried at the next poll. */
  | "CLAIM_FAILED"
  /** A channel with a stored voucher has no known config: it cannot be closed or claimed. */
  | "UNKNOWN_CONFIG";

export interface WatchtowerAlert {
  code: WatchtowerAlertCode;
  /** `critical`: money is at risk or lost. `warning`: retried automatically. */
  severity: "warning" | "critical";
  message: string;
  channelId?: Hex;
  error?: unknown;
}

export type WatchtowerAction =
  | { type: "closed"; channelId: Hex; amount: bigint; tx: TxResult }
  | { type: "claimed"; channelIds: Hex[]; tx: TxResult }
  | { type: "skipped"; channelId: Hex; reason: "nothing-to-claim" };

/** What one pass over the chain did. */
export interface TickReport {
  /** False when a lease is set and another process leads: this pass did nothing. */
  leading: boolean;
  /** Blocks read in this pass, or undefined when there was nothing new. */
  fromBlock?: bigint;
  toBlock?: bigint;
  events: number;
  closed: Hex[];
  claimed: Hex[];
}

/** What the watchtower knows of one of the payee's channels. */
interface KnownChannel {
  deposit: bigint;
  claimed: bigint;
  closesAt: bigint;
  status: ChannelStatus;
}

const ACTIONS_ABI = PAYMENT_CHANNELS_ABI;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(error: unknown): string {
  if (error instanceof TrickleError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return error.message.split("\n")[0];
  return String(error);
}

/**
 * Watches the chain for one payee. Create it, then `start()`; or drive it by hand with `tick()`.
 * State that must survive a restart lives in the store's meta table: the last processed block and
 * the close requests still to act on. Every action re-reads the channel first, so re-running a block
 * range after a crash is harmless.
 */
export class Watchtower {
  readonly #chain: ChainWriter;
  readonly #storeGiven: StoreOrView<PayeeStore>;
  #view: Promise<PayeeStore> | undefined;
  readonly #payee: string;
  readonly #options: WatchOptions;
  readonly #confirmations: bigint;
  readonly #closeMargin: bigint;
  readonly #maxBlockRange: bigint;
  readonly #known = new Map<Hex, KnownChannel>();
  readonly #configs = new Map<Hex, ChannelConfig>();
  /** Close requests to act on: channel id -> closesAt. Persisted under {@link #key}("closing"). */
  #closing = new Map<Hex, bigint>();
  /** Close requests with nothing above `claimed` stored, already reported once. */
  readonly #idle = new Set<Hex>();
  readonly #lateReported = new Set<Hex>();
  #loaded = false;
  #swept = false;
  /** Whether the lease was held at the last pass (undefined before the first). */
  #leading: boolean | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #inFlight: Promise<TickReport> | undefined;

  constructor(target: WatchTarget, options: WatchOptions = {}) {
    this.#chain = target.chain;
    this.#storeGiven = target.store;
    this.#payee = target.payee.toLowerCase();
    this.#options = options;
    this.#confirmations = options.confirmations ?? 2n;
    this.#closeMargin = options.closeMargin ?? 600n;
    this.#maxBlockRange = options.maxBlockRange ?? 2_000n;
    if (this.#confirmations < 0n) throw new RangeError("confirmations must not be negative");
    if (this.#maxBlockRange < 1n) throw new RangeError("maxBlockRange must be at least 1");
  }

  /** Channels with a stored voucher that are still open or closing, as the last pass saw them. */
  liveChannels(): number {
    let live = 0;
    for (const state of this.#known.values()) if (state.status === ChannelStatus.Open || state.status === ChannelStatus.Closing) live++;
    return live;
  }

  /** Runs a first pass (catching up from the stored cursor), then polls until {@link stop}. */
  async start(): Promise<TickReport> {
    if (this.#running) throw new Error("watchtower already started");
    this.#running = true;
    const first = await this.tick();
    this.#schedule();
    return first;
  }

  /** Stops polling and waits for the pass in flight, so the store can be closed after it. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inFlight?.catch(() => undefined);
  }

  /** The last block whose events were processed, as stored. */
  async lastProcessedBlock(): Promise<bigint | undefined> {
    const value = await (await this.#store()).getMeta(this.#key("lastBlock"));
    return value === undefined ? undefined : BigInt(value);
  }

  /** One pass: read new confirmed events, then act on close requests and claims. Never throws. */
  tick(): Promise<TickReport> {
    // Passes never overlap: a tick asked for while one runs shares its result.
    this.#inFlight ??= this.#tick().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      void this.tick().finally(() => this.#schedule());
    }, this.#options.pollIntervalMs ?? 4_000);
  }

  async #tick(): Promise<TickReport> {
    const report: TickReport = { leading: true, events: 0, closed: [], claimed: [] };
    if (this.#options.lease !== undefined) {
      const leading = await this.#options.lease.acquire().catch(() => false);
      if (leading !== this.#leading) {
        this.#log(leading ? "leading: this process acts for the payee" : "standing by: another process leads");
        // What another leader did meanwhile is in the store, not in this process's memory: read it again.
        this.#loaded = false;
        this.#swept = false;
        this.#known.clear();
        this.#idle.clear();
      }
      this.#leading = leading;
      if (!leading) return { ...report, leading: false };
    }
    try {
      await this.#load();
      await this.#readEvents(report);
      if (!this.#swept) {
        await this.#sweep();
        this.#swept = true;
      }
    } catch (error) {
      this.#alert({ code: "RPC_UNAVAILABLE", severity: "warning", message: `reading the chain failed: ${describe(error)}`, error });
    }
    // Close requests are acted on even when reading new events failed: their deadline does not wait.
    try {
      await this.#closeRequested(report);
    } catch (error) {
      this.#alert({ code: "RPC_UNAVAILABLE", severity: "warning", message: `checking close requests failed: ${describe(error)}`, error });
    }
    if (this.#options.claimThreshold !== undefined) {
      try {
        await this.#claimAboveThreshold(this.#options.claimThreshold, report);
      } catch (error) {
        this.#alert({ code: "RPC_UNAVAILABLE", severity: "warning", message: `checking claims failed: ${describe(error)}`, error });
      }
    }
    return report;
  }

  // ------------------------------------------------------------------ durable state

  /** The store's view for the watched chain (a view for another deployment fails as WRONG_CHAIN). */
  #store(): Promise<PayeeStore> {
    this.#view ??= viewFor(this.#storeGiven, this.#chain).catch((error: unknown) => {
      this.#view = undefined;
      throw error;
    });
    return this.#view;
  }

  #key(name: string): string {
    return `watchtower:${this.#chain.contract.toLowerCase()}:${this.#payee}:${name}`;
  }

  async #load(): Promise<void> {
    if (this.#loaded) return;
    const stored = await (await this.#store()).getMeta(this.#key("closing"));
    if (stored !== undefined) {
      const entries = JSON.parse(stored) as [Hex, string][];
      this.#closing = new Map(entries.map(([id, closesAt]) => [id, BigInt(closesAt)]));
    }
    this.#loaded = true;
  }

  async #saveClosing(): Promise<void> {
    const entries = [...this.#closing].map(([id, closesAt]) => [id, closesAt.toString()]);
    await (await this.#store()).setMeta(this.#key("closing"), JSON.stringify(entries));
  }

  // ------------------------------------------------------------------ reading the chain

  async #readEvents(report: TickReport): Promise<void> {
    const head = await this.#retry(() => this.#chain.blockNumber());
    const confirmed = head - this.#confirmations;
    if (confirmed < 0n) return;
    const cursor = await this.lastProcessedBlock();
    let from = cursor !== undefined ? cursor + 1n : (this.#options.fromBlock ?? confirmed);
    if (from > confirmed) return;
    report.fromBlock = from;
    while (from <= confirmed) {
      const to = from + this.#maxBlockRange - 1n < confirmed ? from + this.#maxBlockRange - 1n : confirmed;
      const events = await this.#retry(() => this.#chain.events(from, to));
      const closingBefore = this.#closing.size;
      for (const event of events) await this.#apply(event);
      report.events += events.length;
      // The close requests are durable before the cursor moves past the blocks that announced them.
      if (this.#closing.size !== closingBefore || events.some((e) => e.type === "closed" || e.type === "withdrawn")) {
        await this.#saveClosing();
      }
      await (await this.#store()).setMeta(this.#key("lastBlock"), to.toString());
      report.toBlock = to;
      from = to + 1n;
    }
  }

  /** The config of one of this payee's channels, or undefined for someone else's channel. */
  async #ownConfig(channelId: Hex): Promise<ChannelConfig | undefined> {
    const cached = this.#configs.get(channelId);
    if (cached !== undefined) return cached;
    const config = await (await this.#store()).channel(channelId);
    if (config === undefined || config.payee.toLowerCase() !== this.#payee) return undefined;
    this.#configs.set(channelId, config);
    return config;
  }

  async #apply(event: ChannelEvent): Promise<void> {
    if (event.type === "opened") {
      if (event.config.payee.toLowerCase() !== this.#payee) return;
      await (await this.#store()).saveChannel(event.config);
      this.#configs.set(event.channelId, event.config);
      this.#known.set(event.channelId, { deposit: event.deposit, claimed: 0n, closesAt: 0n, status: ChannelStatus.Open });
      return;
    }
    const ours =
      (await this.#ownConfig(event.channelId)) !== undefined || (await (await this.#store()).bestVoucher(event.channelId)) !== undefined;
    if (!ours) return;
    const known = this.#known.get(event.channelId);
    switch (event.type) {
      case "toppedUp":
      case "refunded":
        if (known !== undefined) known.deposit = event.deposit;
        break;
      case "claimed":
        if (known !== undefined) known.claimed = event.claimed;
        // Claimed from anywhere (this payee's other processes included): the store's unclaimed set follows.
        await (await this.#store()).recordClaimed(event.channelId, event.claimed);
        break;
      case "closeRequested":
        if (known !== undefined) {
          known.status = ChannelStatus.Closing;
          known.closesAt = event.closesAt;
        }
        this.#closing.set(event.channelId, event.closesAt);
        break;
      case "closed":
      case "withdrawn":
        if (known !== undefined) known.status = ChannelStatus.Finished;
        this.#closing.delete(event.channelId);
        await (await this.#store()).recordClaimed(event.channelId, event.type === "closed" ? event.claimed : 0n, true);
        break;
    }
  }

  /**
   * Once per start: reads every channel with unclaimed value in the store, so a close request made while
   * no cursor covered it (first start from the head, a store moved to a new machine) is still acted on.
   * Channels with nothing unclaimed have nothing to lose and are not read.
   */
  async #sweep(): Promise<void> {
    const vouchers = await (await this.#store()).unclaimedVouchers();
    let changed = false;
    for (const voucher of vouchers) {
      if (this.#closing.has(voucher.channelId)) continue;
      const state = await this.#readChannel(voucher.channelId);
      if (state.status === ChannelStatus.Closing) {
        this.#closing.set(voucher.channelId, state.closesAt);
        changed = true;
      }
    }
    if (changed) await this.#saveClosing();
  }

  async #readChannel(channelId: Hex): Promise<KnownChannel> {
    const state = await this.#retry(() => this.#chain.readChannel(channelId));
    const known = { deposit: state.deposit, claimed: state.claimed, closesAt: state.closesAt, status: state.status };
    this.#known.set(channelId, known);
    return known;
  }

  async #configFor(channelId: Hex): Promise<ChannelConfig | undefined> {
    const own = await this.#ownConfig(channelId);
    if (own !== undefined) return own;
    const found = await this.#retry(() => this.#chain.findChannelConfig(channelId));
    if (found === undefined || found.payee.toLowerCase() !== this.#payee) return undefined;
    await (await this.#store()).saveChannel(found);
    this.#configs.set(channelId, found);
    return found;
  }

  // ------------------------------------------------------------------ acting

  async #closeRequested(report: TickReport): Promise<void> {
    if (this.#closing.size === 0) return;
    const now = await this.#retry(() => this.#chain.blockTimestamp());
    let changed = false;
    const drop = (channelId: Hex) => {
      this.#closing.delete(channelId);
      this.#idle.delete(channelId);
      changed = true;
    };
    for (const [channelId, closesAt] of [...this.#closing]) {
      const best = await (await this.#store()).bestVoucher(channelId);
      let state = this.#known.get(channelId);
      const mayGain = best !== undefined && (state === undefined || best.amount > state.claimed);
      if (state === undefined || mayGain || this.#options.closeWithoutGain) {
        state = await this.#readChannel(channelId);
      } else if (now >= closesAt) {
        // Idle until its deadline, nothing to claim: the payer's withdraw settles it.
        drop(channelId);
        continue;
      }
      if (state.status !== ChannelStatus.Closing) {
        // Finished (closed by us or withdrawn) or, after a reorg, open again: nothing to do any more.
        drop(channelId);
        continue;
      }
      const deadline = state.closesAt || closesAt;
      const gain = best !== undefined && best.amount > state.claimed;
      if (now >= deadline) {
        if (gain) {
          this.#alert({
            code: "DEADLINE_MISSED",
            severity: "critical",
            channelId,
            message: `close deadline ${deadline} passed with a voucher of ${best.amount} stored and ${state.claimed} claimed: ${best.amount - state.claimed} lost`,
          });
        }
        drop(channelId);
        continue;
      }
      if (!gain && !this.#options.closeWithoutGain) {
        // Kept until the deadline without further RPC: a voucher stored meanwhile still gets closed.
        if (!this.#idle.has(channelId)) {
          this.#idle.add(channelId);
          this.#action({ type: "skipped", channelId, reason: "nothing-to-claim" });
        }
        continue;
      }
      const config = await this.#configFor(channelId);
      if (config === undefined) {
        this.#alert({ code: "UNKNOWN_CONFIG", severity: "critical", channelId, message: "close requested but the channel config is unknown" });
        continue;
      }
      const late = deadline - now < this.#closeMargin;
      if (late && !this.#lateReported.has(channelId)) {
        this.#lateReported.add(channelId);
        this.#alert({
          code: "CLOSE_LATE",
          severity: "warning",
          channelId,
          message: `closing with ${deadline - now}s left before the deadline (margin ${this.#closeMargin}s)`,
        });
      }
      const amount = gain ? best.amount : state.claimed;
      const signature: Hex = gain ? best.signature : "0x";
      try {
        const tx = await this.#close(config, amount, signature, state.claimed);
        state.status = ChannelStatus.Finished;
        state.claimed = amount;
        await (await this.#store()).recordClaimed(channelId, amount, true);
        drop(channelId);
        report.closed.push(channelId);
        this.#action({ type: "closed", channelId, amount, tx });
      } catch (error) {
        this.#known.delete(channelId);
        this.#alert({
          code: late ? "CLOSE_AT_RISK" : "CLOSE_FAILED",
          severity: late ? "critical" : "warning",
          channelId,
          message: `close of ${amount} failed (${deadline - now}s before the deadline): ${describe(error)}`,
          error,
        });
      }
    }
    if (changed) await this.#saveClosing();
  }

  async #claimAboveThreshold(threshold: bigint, report: TickReport): Promise<void> {
    const due: { config: ChannelConfig; voucher: StoredVoucher }[] = [];
    // The bounded set: channels whose best voucher is above what the store recorded as claimed.
    for (const voucher of await (await this.#store()).unclaimedVouchers()) {
      if (this.#closing.has(voucher.channelId)) continue;
      const state = this.#known.get(voucher.channelId) ?? (await this.#readChannel(voucher.channelId));
      if (state.status === ChannelStatus.Finished || voucher.amount <= state.claimed) {
        // Settled elsewhere: recorded, so the channel leaves the unclaimed set and is not read again.
        await (await this.#store()).recordClaimed(voucher.channelId, state.claimed, state.status === ChannelStatus.Finished);
        continue;
      }
      if (state.status !== ChannelStatus.Open || voucher.amount - state.claimed < threshold) continue;
      const config = await this.#configFor(voucher.channelId);
      if (config === undefined) {
        this.#alert({
          code: "UNKNOWN_CONFIG",
          severity: "critical",
          channelId: voucher.channelId,
          message: "unclaimed value above the threshold but the channel config is unknown",
        });
        continue;
      }
      due.push({ config, voucher });
    }
    // One claimMany per token (and per MAX_CLAIM_BATCH claims): the contract pays one transfer per batch.
    for (const batch of claimBatches(due)) {
      const channelIds = batch.map((entry) => entry.voucher.channelId);
      try {
        const tx = await this.#claim(batch);
        for (const entry of batch) {
          const known = this.#known.get(entry.voucher.channelId);
          if (known !== undefined) known.claimed = entry.voucher.amount;
          await (await this.#store()).recordClaimed(entry.voucher.channelId, entry.voucher.amount);
        }
        report.claimed.push(...channelIds);
        this.#action({ type: "claimed", channelIds, tx });
      } catch (error) {
        // The state may have moved (a close request, a claim from elsewhere): re-read before the next try.
        for (const id of channelIds) this.#known.delete(id);
        this.#alert({ code: "CLAIM_FAILED", severity: "warning", message: `claim of ${channelIds.length} channel(s) failed: ${describe(error)}`, error });
      }
    }
  }

  async #close(config: ChannelConfig, amount: bigint, signature: Hex, claimed: bigint): Promise<TxResult> {
    const relay = this.#options.relay;
    if (relay !== undefined) {
      const payout = amount - claimed;
      const request = await signRelayedSettlement(this.#chain, {
        kind: "close",
        config,
        amount,
        signature,
        fee: relay.fee < payout ? relay.fee : payout,
        deadline: (await this.#chain.blockTimestamp()) + (relay.validForSeconds ?? 600n),
        domain: { chainId: await this.#chain.chainId(), verifyingContract: this.#chain.contract },
      });
      return relay.submit(request);
    }
    const send = this.#options.send;
    if (send === undefined) return this.#chain.close(config, amount, signature);
    const data = encodeFunctionData({ abi: ACTIONS_ABI, functionName: "close", args: [config, amount, signature] });
    return send({ to: this.#chain.contract, data });
  }

  async #claim(batch: { config: ChannelConfig; voucher: StoredVoucher }[]): Promise<TxResult> {
    const send = this.#options.send;
    if (batch.length === 1) {
      const { config, voucher } = batch[0];
      if (send === undefined) return this.#chain.claim(config, voucher.amount, voucher.signature);
      const data = encodeFunctionData({ abi: ACTIONS_ABI, functionName: "claim", args: [config, voucher.amount, voucher.signature] });
      return send({ to: this.#chain.contract, data });
    }
    const claims = batch.map(({ config, voucher }) => ({ config, amount: voucher.amount, signature: voucher.signature }));
    if (send === undefined) return this.#chain.claimMany(claims);
    const domain = { chainId: await this.#chain.chainId(), verifyingContract: this.#chain.contract };
    const call = claimManyCall(domain, this.#payee as Address, claims);
    const data = encodeFunctionData({ abi: ACTIONS_ABI, ...call });
    return send({ to: this.#chain.contract, data });
  }

  // ------------------------------------------------------------------ plumbing

  /** Retries a read with exponential backoff; a `TrickleError` is an answer, not an outage, and is not retried. */
  async #retry<T>(read: () => Promise<T>): Promise<T> {
    const attempts = this.#options.retry?.attempts ?? 5;
    const maxDelayMs = this.#options.retry?.maxDelayMs ?? 8_000;
    let delayMs = this.#options.retry?.baseDelayMs ?? 250;
    for (let attempt = 1; ; attempt++) {
      try {
        return await read();
      } catch (error) {
        if (error instanceof TrickleError || attempt >= attempts) throw error;
        await sleep(delayMs);
        delayMs = Math.min(delayMs * 2, maxDelayMs);
      }
    }
  }

  #alert(alert: WatchtowerAlert): void {
    const where = alert.channelId === undefined ? "" : ` channel ${alert.channelId}`;
    (this.#options.log ?? ((line: string) => process.stderr.write(`${line}\n`)))(
      `[trickle watchtower] ${alert.severity.toUpperCase()} ${alert.code}${where}: ${alert.message}`,
    );
    try {
      this.#options.onAlert?.(alert);
    } catch (error) {
      process.stderr.write(`[trickle watchtower] onAlert threw: ${describe(error)}\n`);
    }
  }

  #action(action: WatchtowerAction): void {
    if (action.type === "closed") {
      this.#log(`closed channel ${action.channelId} with ${action.amount} (tx ${action.tx.hash})`);
    } else if (action.type === "claimed") {
      this.#log(`claimed ${action.channelIds.length} channel(s) (tx ${action.tx.hash})`);
    } else {
      this.#log(`channel ${action.channelId}: close requested, nothing above claimed stored; the payer withdraws after the delay`);
    }
    this.#options.onAction?.(action);
  }

  #log(line: string): void {
    (this.#options.log ?? ((text: string) => process.stderr.write(`${text}\n`)))(`[trickle watchtower] ${line}`);
  }
}

/** Creates a watchtower for `target` and starts it; resolves once the first pass (the catch-up) is done. */
export async function watch(target: WatchTarget, options: WatchOptions = {}): Promise<Watchtower> {
  const watchtower = new Watchtower(target, options);
  await watchtower.start();
  return watchtower;
}
