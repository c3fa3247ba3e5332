// Donor-set caps, checked before anything is signed: per creator (over the budget's life), per UTC day, in total.
import type { Address } from "../channel.ts";
import { DonationCapExceededError } from "./errors.ts";

export interface DonorCaps {
  /** The most one creator may get from this donor. */
  perCreator?: bigint;
  /** The most all creators together may get in one UTC day. */
  perDay?: bigint;
  /** The most all creators together may ever get. */
  total?: bigint;
}

const DAY = 86_400n;

/** What a donor has given so far, by creator and by UTC day: the facts the caps are checked against. */
export class CapLedger {
  readonly #byCreator = new Map<string, bigint>();
  readonly #byDay = new Map<bigint, bigint>();
  #total = 0n;

  readonly caps: DonorCaps;
  readonly deposit: () => bigint;

  constructor(caps: DonorCaps, deposit: () => bigint) {
    this.caps = caps;
    this.deposit = deposit;
  }

  get total(): bigint {
    return this.#total;
  }

  givenTo(creator: Address): bigint {
    return this.#byCreator.get(creator.toLowerCase()) ?? 0n;
  }

  givenOn(time: bigint): bigint {
    return this.#byDay.get(time / DAY) ?? 0n;
  }

  /** Throws {@link DonationCapExceededError} when `amount` more for `creator` at `time` breaks a cap. */
  check(creator: Address, amount: bigint, time: bigint): void {
    const facts = { creator, amount };
    const forCreator = this.givenTo(creator) + amount;
    if (this.caps.perCreator !== undefined && forCreator > this.caps.perCreator) {
      throw new DonationCapExceededError("above the per-creator cap", { ...facts, cap: this.caps.perCreator, wouldGive: forCreator });
    }
    const forDay = this.givenOn(time) + amount;
    if (this.caps.perDay !== undefined && forDay > this.caps.perDay) {
      throw new DonationCapExceededError("above the daily cap", { ...facts, cap: this.caps.perDay, wouldGive: forDay });
    }
    const total = this.#total + amount;
    if (this.caps.total !== undefined && total > this.caps.total) {
      throw new DonationCapExceededError("above the total cap", { ...facts, cap: this.caps.total, wouldGive: total });
    }
    if (total > this.deposit()) {
      throw new DonationCapExceededError("above the budget's deposit", { ...facts, cap: this.deposit(), wouldGive: total });
    }
  }

  record(creator: Address, amount: bigint, time: bigint): void {
    const key = creator.toLowerCase();
    this.#byCreator.set(key, (this.#byCreator.get(key) ?? 0n) + amount);
    this.#byDay.set(time / DAY, this.givenOn(time) + amount);
    this.#total += amount;
  }
}
