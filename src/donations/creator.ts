// The creator side of the tip jar: accept a tip only if the chain would pay it, sign a receipt, see what is
// held and claimable, and collect everything from every donor in one transaction.
import { isAddressEqual } from "viem";
import type { Address, Hex } from "../channel.ts";
import { TallyForkError, TallySignatureError, TallyUnfundedError, TipInvalidError, UnsettledLimitError } from "./errors.ts";
import type { TallySigner } from "./signing.ts";
import { receiptTypedData, type TipReceipt } from "./receipt.ts";
import {
  EMPTY_TALLY,
  amountOf,
  budgetId,
  extendsTally,
  recoverTallySigner,
  tallyHash,
  tallyTotal,
  type BudgetConfig,
  type SignedTally,
  type Tally,
  type TipJarDomain,
} from "./tally.ts";
import type { BudgetState, Settlement, TipJarReader, TipJarWriter } from "./chain.ts";

/** Mirrors `ITipJar.BudgetStatus`. */
export const BudgetStatus = { None: 0, Open: 1, Closing: 2, Finished: 3 } as const;
/** `TipJar.MAX_SETTLE_BATCH`. */
export const MAX_SETTLE_BATCH = 256;

export interface CreatorParameters {
  /** The creator's key: its address is the creator, it signs receipts. */
  signer: TallySigner;
  domain: TipJarDomain;
  chain: TipJarReader;
  /** The most one budget may owe this creator unsettled; no limit by default. */
  maxUnsettled?: bigint;
  /** Unix seconds; `Date.now()` by default. */
  now?: () => bigint;
}

export interface CreatorHoldings {
  /** In the TipJar, collectable now with `collect`. */
  held: bigint;
  /** Signed to it by donors and not settled yet, on budgets that can still be settled. */
  claimable: bigint;
  /** How many budgets the claimable amount comes from. */
  budgets: number;
}

interface BudgetRecord {
  config: BudgetConfig;
  latest: SignedTally;
  /** Every tally accepted from this budget, by hash, to send back the one the chain settled last. */
  byHash: Map<Hex, Tally>;
}

export class Creator {
  readonly address: Address;
  readonly #signer: TallySigner;
  readonly #domain: TipJarDomain;
  readonly #chain: TipJarReader;
  readonly #maxUnsettled: bigint | undefined;
  readonly #now: () => bigint;
  readonly #budgets = new Map<Hex, BudgetRecord>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(params: CreatorParameters) {
    this.address = params.signer.address;
    this.#signer = params.signer;
    this.#domain = params.domain;
    this.#chain = params.chain;
    this.#maxUnsettled = params.maxUnsettled;
    this.#now = params.now ?? (() => BigInt(Math.floor(Date.now() / 1000)));
  }

  /**
   * Accepts a tip: the tally must be signed by the budget's signer, extend the last tally accepted from that
   * budget, raise this creator's amount, fit the on-chain deposit of an open budget, and keep what the budget
   * owes this creator unsettled within `maxUnsettled`. Returns the signed receipt; on any refusal nothing is
   * stored.
   */
  acceptTip(config: BudgetConfig, signed: SignedTally): Promise<TipReceipt> {
    const next = this.#queue.then(() => this.#accept(config, signed));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #accept(config: BudgetConfig, signed: SignedTally): Promise<TipReceipt> {
    const id = budgetId(config);
    const { tally } = signed;
    if (signed.budgetId !== id || tally.creators.length !== tally.amounts.length || signed.total !== tallyTotal(tally)) {
      throw new TallySignatureError("the tally is not for this budget or its total is wrong", { budgetId: signed.budgetId, expected: id });
    }
    const signer = recoverTallySigner(this.#domain, signed);
    if (signer === undefined || !isAddressEqual(signer, config.signer)) {
      throw new TallySignatureError("the tally is not signed by the budget's signer", { budgetId: id, signer });
    }
    const record = this.#budgets.get(id);
    const previous = record?.latest.tally ?? EMPTY_TALLY;
    if (!extendsTally(previous, tally)) {
      throw new TallyForkError("the tally does not extend the last one accepted from this budget", { budgetId: id });
    }
    const cumulative = amountOf(tally, this.address);
    const amount = cumulative - amountOf(previous, this.address);
    if (amount <= 0n) throw new TipInvalidError("the tally gives this creator nothing new", { budgetId: id });
    const state = await this.#chain.budget(id);
    if (state.status !== BudgetStatus.Open || signed.total > state.deposit) {
      throw new TallyUnfundedError("the budget is not open or holds less than the tally", {
        budgetId: id, status: state.status, deposit: state.deposit, total: signed.total,
      });
    }
    if (this.#maxUnsettled !== undefined) {
      const settled = await this.#settledAmount(id, record);
      if (cumulative - settled > this.#maxUnsettled) {
        throw new UnsettledLimitError("the budget would owe this creator too much unsettled", {
          budgetId: id, unsettled: cumulative - settled, limit: this.#maxUnsettled,
        });
      }
    }
    const time = this.#now();
    const fields = { budgetId: id, donor: config.donor, creator: this.address, amount, cumulative, time };
    const signature = await this.#signer.signTypedData(receiptTypedData(this.#domain, fields));
    const byHash = record?.byHash ?? new Map<Hex, Tally>();
    byHash.set(tallyHash(tally), tally);
    this.#budgets.set(id, { config, latest: signed, byHash });
    return { ...fields, signature };
  }

  /** This creator's amount in the tally the chain settled last; zero when that tally is unknown here. */
  async #settledAmount(id: Hex, record: BudgetRecord | undefined): Promise<bigint> {
    const settled = await this.#settledTally(id, record);
    return settled === undefined ? 0n : amountOf(settled, this.address);
  }

  /** The tally whose hash the chain stores: the empty one before any settlement, else one accepted here. */
  async #settledTally(id: Hex, record: BudgetRecord | undefined): Promise<Tally | undefined> {
    const hash = await this.#chain.settledTallyHash(id);
    if (hash === tallyHash(EMPTY_TALLY)) return EMPTY_TALLY;
    const known = record?.byHash.get(hash);
    if (known !== undefined || this.#chain.settledTally === undefined) return known;
    const fetched = await this.#chain.settledTally(id, hash);
    if (fetched !== undefined) record?.byHash.set(hash, fetched);
    return fetched;
  }

  /** The settlements that would pay this creator what it is owed in `token`, at most `MAX_SETTLE_BATCH`. */
  async settlements(token: Address): Promise<Settlement[]> {
    return (await this.#owed(token)).map((entry) => entry.settlement).slice(0, MAX_SETTLE_BATCH);
  }

  async #owed(token: Address): Promise<{ settlement: Settlement; owed: bigint }[]> {
    const now = this.#now();
    const owed: { settlement: Settlement; owed: bigint }[] = [];
    for (const [id, record] of this.#budgets) {
      if (!isAddressEqual(record.config.token, token)) continue;
      const state: BudgetState = await this.#chain.budget(id);
      const settleable = state.status === BudgetStatus.Open || (state.status === BudgetStatus.Closing && now < state.closesAt);
      if (!settleable) continue;
      // A settled total at or above this creator's latest tally: that tally can no longer settle (the chain
      // wants a higher total), and for an honest donor the settled one extends it, so nothing is owed.
      if (state.settled >= record.latest.total) continue;
      const settledTally = await this.#settledTally(id, record);
      // Settled by someone else with a tally that cannot be read back: another settler will pay.
      if (settledTally === undefined) continue;
      const amount = amountOf(record.latest.tally, this.address) - amountOf(settledTally, this.address);
      if (amount <= 0n) continue;
      owed.push({
        owed: amount,
        settlement: { config: record.config, settledTally, tally: record.latest.tally, signature: record.latest.signature },
      });
    }
    return owed;
  }

  /** What this creator holds in the TipJar and what its accepted tallies would still bring. */
  async holdings(token: Address): Promise<CreatorHoldings> {
    const owed = await this.#owed(token);
    return {
      held: await this.#chain.balance(token, this.address),
      claimable: owed.reduce((sum, entry) => sum + entry.owed, 0n),
      budgets: owed.length,
    };
  }

  /**
   * Settles every budget that owes this creator (up to `MAX_SETTLE_BATCH`) and collects its whole balance of
   * `token` to `to`, in one transaction. Throws {@link TipInvalidError} when there is nothing to take.
   */
  async claimAll(chain: TipJarWriter, token: Address, to: Address = this.address): Promise<{ hash: Hex; gasUsed: bigint; amount: bigint }> {
    const owed = (await this.#owed(token)).slice(0, MAX_SETTLE_BATCH);
    const held = await this.#chain.balance(token, this.address);
    const amount = held + owed.reduce((sum, entry) => sum + entry.owed, 0n);
    if (amount === 0n) throw new TipInvalidError("nothing to claim", { token });
    const sent = await chain.settleManyAndCollect(owed.map((entry) => entry.settlement), token, to);
    return { ...sent, amount };
  }
}
