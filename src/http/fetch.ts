// A `fetch` that pays. On a 402 from a Trickle payee it checks what the 402 asks for against the
// user's policy (fetch-policy.ts), opens a channel to that payee (once, within the budget), signs a
// voucher for the price that 402 named and retries once. Nothing is signed before the request's own
// price is known, unless the user opts into paying routes at their last quoted price.
import type { Address, ChannelConfig, Hex } from "../channel.ts";
import type { TxResult } from "../chain/adapter.ts";
import {
  DepositTooHighError,
  InsufficientFundsError,
  InvalidArgumentError,
  OriginBudgetExceededError,
  PayeeNotServingError,
  WrongChainError,
} from "../errors.ts";
import type { Payer } from "../payer.ts";
import { prepaidChain } from "../store/prepaid.ts";
import {
  decodePaymentRequired,
  encodePaymentPayload,
  encodePrepaidToken,
  PAYMENT_PREPAID_HEADER,
  PAYMENT_REQUIRED_HEADER,
  PAYMENT_SIGNATURE_HEADER,
  TRICKLE_SCHEME,
} from "./headers.ts";
import type { PaymentErrorCode, PaymentRequirements } from "./headers.ts";
import { checkRequirements, resolvePayingFetchPolicy, selectOffer } from "./fetch-policy.ts";
import type { PayingFetchPolicy, ResolvedPayingFetchPolicy } from "./fetch-policy.ts";

export interface PayingFetchOptions extends PayingFetchPolicy {
  payer: Payer;
  /** The fetch to wrap; the global one by default. */
  fetch?: typeof globalThis.fetch;
  /** A new channel's deposit is `max(minDeposit, price × requestsPerDeposit)`, capped by the budget left and `maxDeposit`. 1000 by default. */
  requestsPerDeposit?: bigint;
  /** `closeDelay` of new channels, raised to the payee's `minCloseDelay` when shorter. The payee's minimum by default. */
  closeDelay?: bigint;
  /**
   * Open channels of this payer to pay from before opening new ones (for instance after a page reload):
   * their deposits count against the budget.
   */
  channels?: ResumedChannel[];
  /**
   * Pay a route (method, origin and path) at the price its last 402 quoted, without asking again: one
   * round trip per paid request instead of two. Opt-in: when the route's price changed or it became
   * free, the voucher sent is refused or ignored, and the payer has signed up to one quoted price for
   * nothing. Off by default: every request is sent unpaid first, and only the price its own 402 names
   * is signed.
   */
  reuseQuotedPrices?: boolean;
}

/** A channel opened earlier, as {@link PayingFetchOptions.channels} takes it. */
export interface ResumedChannel {
  channelId: Hex;
  config: ChannelConfig;
  chainId: bigint;
  contract: Address;
  deposit: bigint;
  /** Cumulative amount signed so far (the payer store's `signedAmount`). */
  signed: bigint;
}

/** One channel of this fetch, as {@link PayingFetch.channels} reports it. */
export interface PayingFetchChannel {
  channelId: Hex;
  config: ChannelConfig;
  deposit: bigint;
  /** Cumulative amount signed so far. */
  signed: bigint;
  /** The payee refused the channel as closing or finished: it is no longer used. */
  retired: boolean;
  /** What this fetch sent on-chain for the channel: the open, then any top-ups. */
  transactions: TxResult[];
}

export type PayingFetch = ((input: string | URL | Request, init?: RequestInit) => Promise<Response>) & {
  /** What is left of the budget. */
  budgetLeft(): bigint;
  /** What the requests to `origin` have signed so far (served or not). */
  originSpent(origin: string): bigint;
  channels(): PayingFetchChannel[];
};

interface Entry extends PayingFetchChannel {
  key: string;
  chainId: bigint;
  contract: Address;
  /** False until the payee has served a payment of this channel: payments carry the config until then. */
  confirmed: boolean;
  /** Signing is serialised per channel so parallel requests get distinct, increasing vouchers. */
  queue: Promise<unknown>;
  /**
   * The prepaid voucher (the channel's latest), how many more requests it is sent with, and its chain of
   * one-time tokens: `tokens[i - 1]` goes with its i-th request (src/store/prepaid.ts).
   */
  credit?: { amount: bigint; signature: Hex; price: bigint; left: number; anchor: Hex; tokens: Hex[]; next: number };
}

interface Route {
  key: string;
  price: bigint;
  prepaid: boolean;
}

/** A payment header to send, and whether it carries a voucher already sent (a prepaid one). */
interface Payment {
  header: string;
  /** The `PAYMENT-PREPAID` header of a prepaid voucher's request: its one-time token. */
  prepaid?: string;
  /** The voucher's amount. */
  amount: bigint;
  /** Sent before: it signs nothing new. */
  again: boolean;
}

/** Refusals after which this channel is of no more use. */
const RETIRING: ReadonlySet<PaymentErrorCode> = new Set(["CHANNEL_CLOSING", "CHANNEL_NOT_OPEN"]);
/** Refusals a fresh voucher can cure. */
const RETRYABLE: ReadonlySet<PaymentErrorCode> = new Set(["NOT_INCREASING", "INSUFFICIENT_PAYMENT", "UNKNOWN_CHANNEL"]);
/** Paid attempts per request: the first payment, and one more after a refusal a fresh voucher can cure. */
const PAID_ATTEMPTS = 2;
/**
 * Prepaid vouchers sent again per request, beside the paid attempts: they sign nothing new. One refused
 * (a newer voucher superseded it) is dropped, so this only bounds a request racing many others.
 */
const REPRESENTATIONS = 4;
const ROUTES_KEPT = 1024;

function payeeKey(r: { chainId: bigint; contract: Address; payee: Address; token: Address }): string {
  return `${r.chainId}:${r.contract}:${r.payee}:${r.token}`.toLowerCase();
}

function requirementsOf(response: Response): PaymentRequirements | undefined {
  const header = response.headers.get(PAYMENT_REQUIRED_HEADER);
  if (header === null) return undefined;
  try {
    const requirements = decodePaymentRequired(header);
    return requirements.scheme === TRICKLE_SCHEME ? requirements : undefined;
  } catch {
    return undefined; // not a payee we can pay: the caller gets the 402 as it is
  }
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

class PayingFetcher {
  readonly #payer: Payer;
  readonly #fetch: typeof globalThis.fetch;
  readonly #policy: ResolvedPayingFetchPolicy;
  readonly #requestsPerDeposit: bigint;
  readonly #closeDelay: bigint | undefined;
  readonly #reuseQuotedPrices: boolean;
  /** Deposits made or being made. */
  #committed = 0n;
  readonly #entries = new Map<string, Entry>();
  readonly #opening = new Map<string, Promise<Entry>>();
  readonly #retired: Entry[] = [];
  /** What each origin's requests signed, served or not. */
  readonly #spent = new Map<string, bigint>();
  /** Paid requests in a row each origin left unserved. */
  readonly #unserved = new Map<string, number>();
  /** The last price and payee quoted per method + origin + path (only with `reuseQuotedPrices`). */
  readonly #routes = new Map<string, Route>();

  constructor(options: PayingFetchOptions) {
    if (typeof options.budget === "bigint" && options.budget < 0n) throw new InsufficientFundsError("the budget is negative", { budget: options.budget });
    this.#policy = resolvePayingFetchPolicy(options);
    this.#payer = options.payer;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#requestsPerDeposit = options.requestsPerDeposit ?? 1000n;
    this.#closeDelay = options.closeDelay;
    if (this.#closeDelay !== undefined && this.#closeDelay > this.#policy.maxCloseDelay) {
      throw new InvalidArgumentError("closeDelay is above maxCloseDelay", { closeDelay: this.#closeDelay, maxCloseDelay: this.#policy.maxCloseDelay });
    }
    this.#reuseQuotedPrices = options.reuseQuotedPrices ?? false;
    for (const resumed of options.channels ?? []) {
      const key = payeeKey({ chainId: resumed.chainId, contract: resumed.contract, payee: resumed.config.payee, token: resumed.config.token });
      if (this.#entries.has(key)) continue;
      this.#committed += resumed.deposit;
      const { channelId, config, chainId, contract, deposit, signed } = resumed;
      // Not confirmed: the first payment carries the config, in case the payee has not seen the channel.
      this.#entries.set(key, { key, channelId, config, chainId, contract, deposit, signed, retired: false, transactions: [], confirmed: false, queue: Promise.resolve() });
    }
  }

  budgetLeft(): bigint {
    return this.#policy.budget - this.#committed;
  }

  originSpent(origin: string): bigint {
    return this.#spent.get(new URL(origin).origin) ?? 0n;
  }

  channels(): PayingFetchChannel[] {
    return [...this.#retired, ...this.#entries.values()].map(({ channelId, config, deposit, signed, retired, transactions }) => ({
      channelId,
      config: { ...config },
      deposit,
      signed,
      retired,
      transactions: [...transactions],
    }));
  }

  async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const origin = url.origin;
    const routeKey = `${request.method} ${origin}${url.pathname}`;
    const route = this.#reuseQuotedPrices ? this.#routes.get(routeKey) : undefined;
    const quoted = route && this.#entries.get(route.key);

    let paidWith: Entry | undefined;
    let sent: Payment | undefined;
    let paidAttempts = 0;
    let representations = 0;
    const count = (payment: Payment) => {
      if (payment.again) representations++;
      else paidAttempts++;
    };
    let response: Response;
    if (quoted !== undefined && route !== undefined) {
      this.#checkServing(origin);
      paidWith = quoted;
      sent = await this.#sign(quoted, route.price, origin, undefined, route.prepaid);
      count(sent);
      response = await this.#send(request.clone(), sent);
    } else {
      response = await this.#fetch(request.clone());
    }

    while (response.status === 402 && paidAttempts < PAID_ATTEMPTS && representations <= REPRESENTATIONS) {
      const requirements = requirementsOf(response);
      if (requirements === undefined) break;
      const refused = requirements.error;
      if (refused !== undefined && paidWith !== undefined) {
        if (RETIRING.has(refused)) this.#retire(paidWith);
        if (refused === "UNKNOWN_CHANNEL") paidWith.confirmed = false;
        // A prepaid voucher refused (superseded, or its credit spent elsewhere) is sent no more.
        if (sent !== undefined && paidWith.credit?.amount === sent.amount) delete paidWith.credit;
      }
      if (refused !== undefined && !RETRYABLE.has(refused)) break;
      let payment: Payment;
      let payWith: Entry;
      let chosen: PaymentRequirements;
      try {
        // Of several tokens offered, the one the payer's policy prefers; then everything it asks for is
        // checked against the policy before anything is opened or signed.
        chosen = selectOffer(this.#policy, requirements);
        checkRequirements(this.#policy, origin, chosen);
        this.#checkServing(origin);
        payWith = await this.#channelFor(chosen);
        // After INSUFFICIENT_PAYMENT the payee says what it holds: the new voucher starts there, so the
        // refused one is superseded rather than paid on top of.
        const holds = refused === "INSUFFICIENT_PAYMENT" && paidWith === payWith ? chosen.cumulative : undefined;
        payment = await this.#sign(payWith, chosen.price, origin, holds, chosen.prepaid === true);
      } catch (error) {
        await response.body?.cancel();
        this.#endPaid(origin, paidWith, false);
        throw error;
      }
      if (this.#reuseQuotedPrices) this.#remember(routeKey, chosen);
      await response.body?.cancel();
      paidWith = payWith;
      sent = payment;
      count(payment);
      response = await this.#send(request.clone(), payment);
    }
    this.#endPaid(origin, paidWith, response.ok);
    if (paidWith !== undefined && !response.ok) this.#routes.delete(routeKey); // ask for the price again next time
    return response;
  }

  #send(request: Request, payment: Payment): Promise<Response> {
    const headers = new Headers(request.headers);
    headers.set(PAYMENT_SIGNATURE_HEADER, payment.header);
    if (payment.prepaid !== undefined) headers.set(PAYMENT_PREPAID_HEADER, payment.prepaid);
    else headers.delete(PAYMENT_PREPAID_HEADER);
    return this.#fetch(new Request(request, { headers }));
  }

  /** Records how a request that carried a payment ended. */
  #endPaid(origin: string, entry: Entry | undefined, served: boolean): void {
    if (entry === undefined) return;
    if (served) {
      entry.confirmed = true;
      this.#unserved.delete(origin);
    } else {
      this.#unserved.set(origin, (this.#unserved.get(origin) ?? 0) + 1);
    }
  }

  #checkServing(origin: string): void {
    const unserved = this.#unserved.get(origin) ?? 0;
    if (unserved >= this.#policy.maxUnservedPayments) {
      throw new PayeeNotServingError(`${origin} left ${unserved} paid requests in a row unserved: the paying fetch pays it no more`, { origin, unserved });
    }
  }

  #remember(routeKey: string, requirements: PaymentRequirements): void {
    this.#routes.delete(routeKey); // re-insert: the map's order is the eviction order
    this.#routes.set(routeKey, { key: payeeKey(requirements), price: requirements.price, prepaid: requirements.prepaid === true });
    if (this.#routes.size > ROUTES_KEPT) {
      const oldest = this.#routes.keys().next().value;
      if (oldest !== undefined) this.#routes.delete(oldest);
    }
  }

  #retire(entry: Entry): void {
    if (entry.retired) return;
    entry.retired = true;
    if (this.#entries.get(entry.key) === entry) this.#entries.delete(entry.key);
    this.#retired.push(entry);
  }

  /** The channel to this payee, opened (once, even under concurrent 402s) when there is none. */
  #channelFor(requirements: PaymentRequirements): Promise<Entry> {
    const key = payeeKey(requirements);
    const existing = this.#entries.get(key);
    if (existing !== undefined) return Promise.resolve(existing);
    let opening = this.#opening.get(key);
    if (opening === undefined) {
      opening = this.#open(key, requirements).finally(() => this.#opening.delete(key));
      this.#opening.set(key, opening);
    }
    return opening;
  }

  async #open(key: string, requirements: PaymentRequirements): Promise<Entry> {
    const floor = max(requirements.minDeposit, requirements.price);
    const deposit = this.#reserve(max(requirements.price * this.#requestsPerDeposit, floor), floor, this.#policy.maxDeposit);
    const closeDelay = this.#closeDelay === undefined || this.#closeDelay < requirements.minCloseDelay ? requirements.minCloseDelay : this.#closeDelay;
    try {
      const channel = await this.#payer.open({ payee: requirements.payee, token: requirements.token, amount: deposit, closeDelay });
      if (channel.chainId !== requirements.chainId || channel.contract.toLowerCase() !== requirements.contract.toLowerCase()) {
        // The policy's chain is not the Payer's: the deposit is the payer's to withdraw.
        throw new WrongChainError(`the payer's chain is not the payee's (chain ${requirements.chainId}, contract ${requirements.contract})`, {
          channelId: channel.channelId,
        });
      }
      const entry: Entry = {
        key,
        channelId: channel.channelId,
        config: channel.config,
        chainId: channel.chainId,
        contract: channel.contract,
        deposit,
        signed: 0n,
        retired: false,
        transactions: [channel.transaction],
        confirmed: false,
        queue: Promise.resolve(),
      };
      this.#entries.set(key, entry);
      return entry;
    } catch (error) {
      this.#committed -= deposit;
      throw error;
    }
  }

  /** Takes up to `wanted` from the budget, at least `needed`, at most `ceiling`; throws when it cannot. */
  #reserve(wanted: bigint, needed: bigint, ceiling: bigint): bigint {
    const left = this.budgetLeft();
    if (left < needed) {
      throw new InsufficientFundsError(`the budget has ${left} left; the payee needs a deposit of at least ${needed}`, { budgetLeft: left, needed });
    }
    if (needed > ceiling) {
      throw new DepositTooHighError(`a deposit of ${needed} more is needed, above maxDeposit`, { needed, ceiling, maxDeposit: this.#policy.maxDeposit });
    }
    const amount = min(min(wanted, left), ceiling);
    this.#committed += amount;
    return amount;
  }

  /**
   * Signs the next voucher of `entry` for `price`, topping the deposit up within the budget. `holds`
   * is what the payee says it holds after refusing a voucher of this channel as too small.
   */
  #sign(entry: Entry, price: bigint, origin: string, holds: bigint | undefined, prepaid: boolean): Promise<Payment> {
    const signing = entry.queue.then(async (): Promise<Payment> => {
      // The Payer owns the signed amount: something else using the same Payer (a subscription renewal, a
      // direct payment) may have signed on this channel since, and a voucher below it would be refused.
      const record = await this.#payer.channel(entry.channelId);
      if (record !== undefined && record.signedAmount > entry.signed) {
        entry.signed = record.signedAmount;
        delete entry.credit; // no longer the channel's latest voucher
      }
      const credit = entry.credit;
      if (prepaid && holds === undefined && credit !== undefined && credit.price === price && credit.left > 0) {
        credit.left--;
        if (credit.left === 0) delete entry.credit;
        const index = credit.next++;
        const prepaidHeader = encodePrepaidToken({ anchor: credit.anchor, index, token: credit.tokens[index - 1] as Hex });
        return { header: this.#encode(entry, credit.amount, credit.signature), prepaid: prepaidHeader, amount: credit.amount, again: true };
      }
      delete entry.credit;
      const base = holds !== undefined && min(holds, entry.signed) + price > entry.signed ? min(holds, entry.signed) : entry.signed;
      const spent = this.#spent.get(origin) ?? 0n;
      // A prepaid voucher covers up to `prepay` requests, as far as the origin's budget and the deposit go
      // (it never tops up for requests not yet made); the first request's price is always signed.
      let requests = prepaid ? BigInt(this.#policy.prepay) : 1n;
      const fits = (limit: bigint) => (limit - base) / price;
      if (requests > 1n) requests = max(1n, min(requests, min(fits(this.#policy.originBudget - spent + entry.signed), fits(entry.deposit))));
      const target = base + price * requests;
      const increment = target - entry.signed;
      if (spent + increment > this.#policy.originBudget) {
        throw new OriginBudgetExceededError(`${origin} has signed ${spent}; ${increment} more is above originBudget ${this.#policy.originBudget}`, {
          origin,
          spent,
          increment,
          originBudget: this.#policy.originBudget,
        });
      }
      if (target > entry.deposit) await this.#topUp(entry, target, price);
      const voucher = await this.#payer.payUpTo(entry.channelId, target);
      entry.signed = voucher.amount;
      this.#spent.set(origin, (this.#spent.get(origin) ?? 0n) + increment);
      const header = this.#encode(entry, voucher.amount, voucher.signature);
      if (requests === 1n) return { header, amount: voucher.amount, again: false };
      // A new chain for each prepaid voucher, from a fresh random seed: its tokens are spent one a request.
      const { anchor, tokens } = prepaidChain(crypto.getRandomValues(new Uint8Array(32)), Number(requests));
      entry.credit = { amount: voucher.amount, signature: voucher.signature, price, left: Number(requests - 1n), anchor, tokens, next: 2 };
      return { header, prepaid: encodePrepaidToken({ anchor, index: 1, token: tokens[0] as Hex }), amount: voucher.amount, again: false };
    });
    entry.queue = signing.catch((error: unknown) => {
      // The Payer refuses to sign on a channel it asked to close (or that is finished): drop it.
      const code = (error as { code?: unknown } | null)?.code;
      if (code === "CHANNEL_CLOSING" || code === "CHANNEL_NOT_OPEN") this.#retire(entry);
    });
    return signing;
  }

  #encode(entry: Entry, amount: bigint, signature: Hex): string {
    return encodePaymentPayload({
      scheme: TRICKLE_SCHEME,
      chainId: entry.chainId,
      contract: entry.contract,
      channelId: entry.channelId,
      amount,
      signature,
      ...(entry.confirmed ? {} : { config: entry.config }),
    });
  }

  async #topUp(entry: Entry, target: bigint, price: bigint): Promise<void> {
    const needed = target - entry.deposit;
    const amount = this.#reserve(max(price * this.#requestsPerDeposit, needed), needed, this.#policy.maxDeposit - entry.deposit);
    try {
      entry.transactions.push(await this.#payer.topUp(entry.channelId, amount));
      entry.deposit += amount;
    } catch (error) {
      this.#committed -= amount;
      throw error;
    }
  }
}

/**
 * A fetch that pays Trickle payees: `const paidFetch = createPayingFetch({ payer, budget, chain: { chainId, contract } });
 * const response = await paidFetch("http://api.example/weather");`. Non-402 responses, and 402s
 * that are not Trickle's, come back untouched; a 402 that a payment cannot cure (the payee refuses
 * the channel) comes back with its `PAYMENT-REQUIRED` header for the caller to read.
 */
export function createPayingFetch(options: PayingFetchOptions): PayingFetch {
  const fetcher = new PayingFetcher(options);
  return Object.assign((input: string | URL | Request, init?: RequestInit) => fetcher.fetch(input, init), {
    budgetLeft: () => fetcher.budgetLeft(),
    originSpent: (origin: string) => fetcher.originSpent(origin),
    channels: () => fetcher.channels(),
  });
}
