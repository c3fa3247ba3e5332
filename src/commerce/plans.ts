// Subscription plans and the one rule that prices a period, shared by the payer (to check a quote against
// its limits) and the payee (to charge it).
//
// Periods are numbered from 0 per payer. Period n starts when period n-1 ends, or now if it has lapsed,
// and is paid in advance. A change to a plan of a higher tier while a period runs is an upgrade: the new
// period starts now and costs the new price less the unused part of the running period, pro-rated to the
// second and rounded down (so the credit never exceeds what was paid). A change to a lower or equal tier
// is a downgrade: it takes effect when the running period ends, at the full new price, and the payer keeps
// the tier it paid for until then. A first period of a plan with a trial is free and lasts `trial` seconds.
import { InvalidArgumentError } from "../errors.ts";
import { toUnits, type Amount, type Token } from "../units.ts";
import { RenewalRefusedError, UnknownItemError } from "./errors.ts";
import type { Receipt } from "./receipt.ts";

export interface PlanDefinition {
  id: string;
  /** The tier this plan grants; tiers are ranked by their order in the plan set's `tiers`. */
  tier: string;
  /** Price of one period: base units or a human amount ("4.99 USDC"). */
  price: Amount;
  /** Period length, seconds. */
  period: bigint;
  /** Length of a free first period, seconds; none when omitted. */
  trial?: bigint;
}

export interface Plan {
  readonly id: string;
  readonly tier: string;
  readonly rank: number;
  readonly price: bigint;
  readonly period: bigint;
  readonly trial: bigint;
}

/** What the next period of a payer would be: which, when, and for how much. */
export interface PeriodQuote {
  plan: string;
  sequence: number;
  validFrom: bigint;
  validUntil: bigint;
  price: bigint;
  /** "new", "renewal", "upgrade", "downgrade", "trial". */
  change: "new" | "renewal" | "upgrade" | "downgrade" | "trial";
}

const ID = /^[A-Za-z0-9._-]{1,64}$/;

export class Plans {
  readonly token: Token;
  readonly tiers: readonly string[];
  readonly #plans = new Map<string, Plan>();

  constructor(token: Token, tiers: readonly string[], plans: readonly PlanDefinition[]) {
    this.token = token;
    this.tiers = Object.freeze([...tiers]);
    if (new Set(tiers).size !== tiers.length || tiers.length === 0) throw new InvalidArgumentError("tiers must be distinct and not empty", { tiers });
    for (const p of plans) {
      if (typeof p.id !== "string" || !ID.test(p.id)) throw new InvalidArgumentError("a plan id is 1 to 64 of [A-Za-z0-9._-]", { id: p.id });
      if (this.#plans.has(p.id)) throw new InvalidArgumentError(`plan ${p.id} is defined twice`, { id: p.id });
      const rank = tiers.indexOf(p.tier);
      if (rank < 0) throw new InvalidArgumentError(`plan ${p.id} names tier ${p.tier}, not among ${tiers.join(", ")}`, { plan: p.id });
      if (typeof p.period !== "bigint" || p.period <= 0n || p.period > 400n * 86_400n) throw new InvalidArgumentError("a period is 1 second to 400 days", { plan: p.id });
      const trial = p.trial ?? 0n;
      if (typeof trial !== "bigint" || trial < 0n || trial > 400n * 86_400n) throw new InvalidArgumentError("a trial is 0 to 400 days", { plan: p.id });
      this.#plans.set(p.id, Object.freeze({ id: p.id, tier: p.tier, rank, price: toUnits(p.price, token), period: p.period, trial }));
    }
  }

  plan(id: string): Plan {
    const plan = typeof id === "string" ? this.#plans.get(id) : undefined;
    if (plan === undefined) throw new UnknownItemError(`no plan ${String(id)}`, { id });
    return plan;
  }

  plans(): Plan[] {
    return [...this.#plans.values()];
  }

  /** The rank of a tier (0 is the lowest); throws {@link UnknownItemError}. */
  rank(tier: string): number {
    const rank = this.tiers.indexOf(tier);
    if (rank < 0) throw new UnknownItemError(`no tier ${tier}`, { tier });
    return rank;
  }

  /**
   * Prices the next period (number `periods.length`) of a payer whose standing periods are `periods`
   * (ordered by sequence), on `planId`, at `now`. Throws {@link RenewalRefusedError} `NOT_DUE` when a period
   * that has not started yet is already paid.
   */
  quote(periods: readonly Receipt[], planId: string, now: bigint): PeriodQuote {
    const plan = this.plan(planId);
    const sequence = periods.length;
    const last = periods[sequence - 1];
    if (last === undefined || last.validUntil <= now) {
      const trial = last === undefined && plan.trial > 0n;
      return {
        plan: plan.id,
        sequence,
        validFrom: now,
        validUntil: now + (trial ? plan.trial : plan.period),
        price: trial ? 0n : plan.price,
        change: trial ? "trial" : last === undefined ? "new" : "renewal",
      };
    }
    if (last.validFrom > now) {
      throw new RenewalRefusedError("NOT_DUE", "the next period is already paid", { paidUntil: last.validUntil, sequence });
    }
    const current = this.#plans.get(last.item);
    if (current !== undefined && plan.rank > current.rank) {
      const length = last.validUntil - last.validFrom;
      const unused = (last.price * (last.validUntil - now)) / length;
      const price = plan.price > unused ? plan.price - unused : 0n;
      return { plan: plan.id, sequence, validFrom: now, validUntil: now + plan.period, price, change: "upgrade" };
    }
    return {
      plan: plan.id,
      sequence,
      validFrom: last.validUntil,
      validUntil: last.validUntil + plan.period,
      price: plan.price,
      change: current !== undefined && plan.id !== current.id ? "downgrade" : "renewal",
    };
  }
}

/** Period receipts of one payer in sequence order (keys are `period:<n>`). */
export function periodsOf(receipts: readonly Receipt[]): Receipt[] {
  return receipts.filter((r) => r.kind === "period").sort((a, b) => periodSequence(a) - periodSequence(b));
}

export function periodKey(sequence: number): string {
  return `period:${sequence}`;
}

export function periodSequence(receipt: Receipt): number {
  return Number(receipt.key.slice("period:".length));
}
