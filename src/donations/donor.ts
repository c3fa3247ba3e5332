// The donor side of the tip jar: caps checked before signing, one growing tally per budget, receipts kept,
// a yearly statement.
import { isAddressEqual } from "viem";
import type { Address, Hex } from "../channel.ts";
import { CapLedger, type DonorCaps } from "./caps.ts";
import { ReceiptInvalidError, TipInvalidError } from "./errors.ts";
import { recoverReceiptSigner, type TipReceipt } from "./receipt.ts";
import type { TallySigner } from "./signing.ts";
import { buildStatement, type DonationStatement, type TipRecord } from "./statement.ts";
import {
  EMPTY_TALLY,
  addTip,
  amountOf,
  budgetId,
  tallyTotal,
  tallyTypedData,
  type BudgetConfig,
  type SignedTally,
  type Tally,
  type TipJarDomain,
} from "./tally.ts";


export interface DonorParameters {
  /** The budget's signer (`config.signer`). */
  signer: TallySigner;
  config: BudgetConfig;
  /** What the budget holds on-chain; tips never sum above it. */
  deposit: bigint;
  domain: TipJarDomain;
  caps?: DonorCaps;
  /** Unix seconds; `Date.now()` by default. */
  now?: () => bigint;
}

/** A signed tip: what the donor hands the creator (and the platform). */
export interface SignedTip {
  creator: Address;
  amount: bigint;
  time: bigint;
  signed: SignedTally;
}

export class Donor {
  readonly budgetId: Hex;
  readonly config: BudgetConfig;
  readonly #signer: TallySigner;
  readonly #domain: TipJarDomain;
  readonly #now: () => bigint;
  readonly #ledger: CapLedger;
  readonly #tips: TipRecord[] = [];
  #deposit: bigint;
  #tally: Tally = EMPTY_TALLY;
  /** Tips are signed one at a time, so two concurrent tips never sign tallies that fork. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(params: DonorParameters) {
    if (!isAddressEqual(params.signer.address, params.config.signer)) {
      throw new TipInvalidError("the signer is not the budget's signer", { signer: params.signer.address, budgetSigner: params.config.signer });
    }
    this.config = params.config;
    this.budgetId = budgetId(params.config);
    this.#signer = params.signer;
    this.#domain = params.domain;
    this.#deposit = params.deposit;
    this.#now = params.now ?? (() => BigInt(Math.floor(Date.now() / 1000)));
    this.#ledger = new CapLedger(params.caps ?? {}, () => this.#deposit);
  }

  /** The last tally signed. */
  get tally(): Tally {
    return this.#tally;
  }

  /** Everything given so far. */
  get given(): bigint {
    return this.#ledger.total;
  }

  /** After a top-up on-chain: tips may sum up to the new deposit. */
  setDeposit(deposit: bigint): void {
    if (deposit < this.#deposit) throw new TipInvalidError("a deposit never goes down", { deposit, known: this.#deposit });
    this.#deposit = deposit;
  }

  /**
   * Signs a tally with `amount` more for `creator`. Throws {@link DonationCapExceededError} above a cap or the
   * deposit and {@link TipInvalidError} for a bad amount or creator; either way nothing is signed or recorded.
   */
  tip(creator: Address, amount: bigint): Promise<SignedTip> {
    const next = this.#queue.then(() => this.#tip(creator, amount));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #tip(creator: Address, amount: bigint): Promise<SignedTip> {
    if (typeof amount !== "bigint" || amount <= 0n) throw new TipInvalidError("a tip is a positive bigint", { amount });
    if (!/^0x[0-9a-fA-F]{40}$/.test(creator) || /^0x0{40}$/.test(creator)) {
      throw new TipInvalidError("a creator is a non-zero address", { creator });
    }
    const time = this.#now();
    this.#ledger.check(creator, amount, time);
    const tally = addTip(this.#tally, creator, amount);
    const signature = await this.#signer.signTypedData(tallyTypedData(this.#domain, this.budgetId, tally));
    // Recorded only once signed: a signing failure leaves no trace.
    this.#ledger.record(creator, amount, time);
    this.#tally = tally;
    this.#tips.push({ budgetId: this.budgetId, creator, amount, time });
    return { creator, amount, time, signed: { budgetId: this.budgetId, tally, total: tallyTotal(tally), signature } };
  }

  /**
   * Keeps the creator's receipt of a tip. Throws {@link ReceiptInvalidError} unless it is signed by that creator,
   * for this budget, and matches a tip without a receipt (same creator, amount and cumulative amount).
   */
  async recordReceipt(receipt: TipReceipt): Promise<void> {
    if (receipt.budgetId !== this.budgetId || !isAddressEqual(receipt.donor, this.config.donor)) {
      throw new ReceiptInvalidError("the receipt is for another budget", { budgetId: receipt.budgetId });
    }
    const signer = recoverReceiptSigner(this.#domain, receipt);
    if (signer === undefined || !isAddressEqual(signer, receipt.creator)) {
      throw new ReceiptInvalidError("the receipt is not signed by its creator", { creator: receipt.creator, signer });
    }
    let cumulative = 0n;
    for (const tip of this.#tips) {
      if (!isAddressEqual(tip.creator, receipt.creator)) continue;
      cumulative += tip.amount;
      if (tip.receipt === undefined && tip.amount === receipt.amount && cumulative === receipt.cumulative) {
        tip.receipt = receipt;
        return;
      }
    }
    throw new ReceiptInvalidError("no tip without a receipt matches it", { creator: receipt.creator, amount: receipt.amount });
  }

  /** What `creator` got from this budget so far. */
  givenTo(creator: Address): bigint {
    return amountOf(this.#tally, creator);
  }

  /** Every tip of `year` (UTC), with the receipts received. */
  statement(year: number): DonationStatement {
    return buildStatement(this.config.donor, this.config.token, year, this.#tips);
  }
}
