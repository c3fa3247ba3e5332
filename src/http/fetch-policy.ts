// What a paying fetch will pay, stated by its user. A 402 only ever narrows what is paid (it names a
// price, a payee, a deposit and a close delay); it is checked against this policy before anything is
// opened or signed, so a server can never widen it.
import type { Address } from "../channel.ts";
import {
  CloseDelayTooLongError,
  DepositTooHighError,
  InvalidArgumentError,
  OriginNotAllowedError,
  PayeeNotAllowedError,
  PriceTooHighError,
  WrongChainError,
  WrongTokenError,
} from "../errors.ts";
import type { PaymentRequirements } from "./headers.ts";

/** The one deployment the payer pays on: 402s naming another chain or contract are refused. */
export interface PayingFetchChain {
  chainId: bigint;
  contract: Address;
}

/** Limits of a paying fetch; amounts in the smallest unit of the payees' token. */
export interface PayingFetchPolicy {
  /** The most this fetch may lock in deposits, over every channel it opens or tops up. Gas is not counted. */
  budget: bigint;
  /** The payer's chain and contract. Required: a 402 cannot choose where the payer pays. */
  chain: PayingFetchChain;
  /** Most one request may cost. Default: `budget / 100`. */
  maxPrice?: bigint;
  /** Most the requests to one origin may sign in total (paid or not served). Default: `budget / 10`. */
  originBudget?: bigint;
  /** Largest deposit of one channel (an open or a top-up brings it to at most this). Default: `budget / 10`. */
  maxDeposit?: bigint;
  /** Longest `closeDelay` the payer accepts to lock its deposit for, seconds. Default: 86,400 (one day). */
  maxCloseDelay?: bigint;
  /** Payees that may be paid; any when omitted. */
  payees?: Address[];
  /** Origins (`https://api.example`) that may be paid; any when omitted. */
  origins?: string[];
  /** Paid requests in a row an origin may leave unserved before the fetch stops paying it. Default: 3. */
  maxUnservedPayments?: number;
  /**
   * Requests one voucher may pay for ahead, with a payee that takes prepaid credit (its 402 says
   * `prepaid`): the fetch signs `signed + prepay × price` once and sends that voucher with each of the
   * next `prepay` requests, each with the next one-time token of a hash chain made for it, so the payee
   * checks one signature per `prepay` requests. What a server can take without serving grows to
   * `prepay × price`; a copy of the voucher and of the tokens the payee has taken buys nothing.
   * Default 1: one voucher per request.
   */
  prepay?: number;
  /**
   * Tokens the fetch pays in, most preferred first: of a 402 offering several (`accepts`), the first of
   * these it offers is paid; a 402 offering none of them is refused (WRONG_TOKEN). When omitted, the
   * 402's first offer is paid. The amounts of this policy are counted in the base units of the token paid.
   */
  tokens?: Address[];
}

/** The policy with every default filled in. */
export interface ResolvedPayingFetchPolicy {
  budget: bigint;
  chain: PayingFetchChain;
  maxPrice: bigint;
  originBudget: bigint;
  maxDeposit: bigint;
  maxCloseDelay: bigint;
  payees: ReadonlySet<string> | undefined;
  origins: ReadonlySet<string> | undefined;
  maxUnservedPayments: number;
  prepay: number;
  /** Lower-cased, in order of preference; undefined: any. */
  tokens: readonly Address[] | undefined;
}

export const DEFAULT_MAX_CLOSE_DELAY = 86_400n;
export const DEFAULT_MAX_UNSERVED_PAYMENTS = 3;
/** Most requests one voucher may prepay. */
export const MAX_PREPAY = 10_000;

function nonNegative(name: string, value: unknown): bigint {
  if (typeof value !== "bigint" || value < 0n) throw new InvalidArgumentError(`${name} must be a non-negative bigint`, { [name]: value });
  return value;
}

function isAddress(value: unknown): value is Address {
  return typeof value === "string" && /^0x[0-9a-fA-F]{40}$/.test(value);
}

/** Checks the user's policy and fills in the defaults. */
export function resolvePayingFetchPolicy(policy: PayingFetchPolicy): ResolvedPayingFetchPolicy {
  const budget = nonNegative("budget", policy.budget);
  const chain = policy.chain as PayingFetchChain | undefined;
  if (chain === undefined || typeof chain.chainId !== "bigint" || !isAddress(chain.contract)) {
    throw new InvalidArgumentError("chain ({ chainId, contract }) is required: the payer says where it pays", { chain });
  }
  const maxUnservedPayments = policy.maxUnservedPayments ?? DEFAULT_MAX_UNSERVED_PAYMENTS;
  if (!Number.isSafeInteger(maxUnservedPayments) || maxUnservedPayments < 1) {
    throw new InvalidArgumentError("maxUnservedPayments must be a positive integer", { maxUnservedPayments });
  }
  const prepay = policy.prepay ?? 1;
  if (!Number.isSafeInteger(prepay) || prepay < 1 || prepay > MAX_PREPAY) {
    throw new InvalidArgumentError(`prepay must be an integer from 1 to ${MAX_PREPAY}`, { prepay });
  }
  if (policy.tokens !== undefined && (!Array.isArray(policy.tokens) || policy.tokens.length === 0 || !policy.tokens.every(isAddress))) {
    throw new InvalidArgumentError("tokens must be a non-empty list of token addresses", { tokens: policy.tokens });
  }
  if (policy.payees !== undefined && !policy.payees.every(isAddress)) throw new InvalidArgumentError("payees must be addresses", { payees: policy.payees });
  let origins: Set<string> | undefined;
  if (policy.origins !== undefined) {
    try {
      origins = new Set(policy.origins.map((origin) => new URL(origin).origin));
    } catch (error) {
      throw new InvalidArgumentError("origins must be URLs", { origins: policy.origins }, { cause: error });
    }
  }
  return {
    budget,
    chain: { chainId: chain.chainId, contract: chain.contract.toLowerCase() as Address },
    maxPrice: nonNegative("maxPrice", policy.maxPrice ?? budget / 100n),
    originBudget: nonNegative("originBudget", policy.originBudget ?? budget / 10n),
    maxDeposit: nonNegative("maxDeposit", policy.maxDeposit ?? budget / 10n),
    maxCloseDelay: nonNegative("maxCloseDelay", policy.maxCloseDelay ?? DEFAULT_MAX_CLOSE_DELAY),
    payees: policy.payees && new Set(policy.payees.map((payee) => payee.toLowerCase())),
    origins,
    maxUnservedPayments,
    prepay,
    tokens: policy.tokens?.map((token) => token.toLowerCase() as Address),
  };
}

/** Whether the fetch may pay anything at all to this origin. */
export function checkOrigin(policy: ResolvedPayingFetchPolicy, origin: string): void {
  if (policy.origins !== undefined && !policy.origins.has(origin)) {
    throw new OriginNotAllowedError(`the paying fetch does not pay ${origin}`, { origin });
  }
}

/**
 * The offer of a 402 this fetch pays: the first of the policy's `tokens` the 402 offers (in its
 * `accepts` list, or its top-level token), as requirements of that one token. Without `tokens`, the
 * top-level offer. Refuses with WRONG_TOKEN a 402 offering none of the payer's tokens.
 */
export function selectOffer(policy: ResolvedPayingFetchPolicy, requirements: PaymentRequirements): PaymentRequirements {
  const { accepts, ...top } = requirements;
  if (policy.tokens === undefined) return top;
  const offers = accepts ?? [{ token: top.token, price: top.price, minDeposit: top.minDeposit }];
  for (const token of policy.tokens) {
    const offer = offers.find((o) => o.token.toLowerCase() === token);
    if (offer !== undefined) return { ...top, token: offer.token, price: offer.price, minDeposit: offer.minDeposit };
  }
  throw new WrongTokenError(`the payee asks for token ${offers.map((o) => o.token).join(" or ")}; this fetch pays in ${policy.tokens.join(", ")}`, {
    offered: offers.map((o) => o.token),
    tokens: policy.tokens,
  });
}

/**
 * Refuses a 402 that asks for more than the policy allows: another chain or contract, a payee or origin
 * not listed, a price above `maxPrice`, a close delay above `maxCloseDelay`, a minimum deposit above
 * `maxDeposit`. Pure: it runs before anything is opened or signed.
 */
export function checkRequirements(policy: ResolvedPayingFetchPolicy, origin: string, requirements: PaymentRequirements): void {
  checkOrigin(policy, origin);
  if (requirements.chainId !== policy.chain.chainId || requirements.contract.toLowerCase() !== policy.chain.contract) {
    throw new WrongChainError(`the payee takes payments on chain ${requirements.chainId}, contract ${requirements.contract}`, {
      chainId: requirements.chainId,
      contract: requirements.contract,
      expected: policy.chain,
    });
  }
  if (policy.payees !== undefined && !policy.payees.has(requirements.payee.toLowerCase())) {
    throw new PayeeNotAllowedError(`the paying fetch does not pay ${requirements.payee}`, { payee: requirements.payee, origin });
  }
  if (requirements.price > policy.maxPrice) {
    throw new PriceTooHighError(`the request costs ${requirements.price}, above maxPrice ${policy.maxPrice}`, {
      price: requirements.price,
      maxPrice: policy.maxPrice,
      origin,
    });
  }
  if (requirements.minCloseDelay > policy.maxCloseDelay) {
    throw new CloseDelayTooLongError(`the payee wants a closeDelay of ${requirements.minCloseDelay}s, above maxCloseDelay ${policy.maxCloseDelay}s`, {
      minCloseDelay: requirements.minCloseDelay,
      maxCloseDelay: policy.maxCloseDelay,
    });
  }
  const needed = requirements.minDeposit > requirements.price ? requirements.minDeposit : requirements.price;
  if (needed > policy.maxDeposit) {
    throw new DepositTooHighError(`the payee wants a deposit of at least ${needed}, above maxDeposit ${policy.maxDeposit}`, {
      minDeposit: needed,
      maxDeposit: policy.maxDeposit,
    });
  }
}
