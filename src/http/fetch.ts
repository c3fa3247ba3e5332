// A `fetch` that pays. On a 402 from a Trickle payee it opens a channel to that payee (once, within
// the budget), signs a voucher for the price and retries once. Later requests to the same origin
// carry the next voucher from the start, so a paid request costs no extra round trip.
import type { Address, ChannelConfig, Hex } from "../channel.ts";
import type { TxResult } from "../chain/adapter.ts";
import { InsufficientFundsError, WrongChainError } from "../errors.ts";
import type { Payer } from "../payer.ts";
import {
  decodePaymentRequired,
  encodePaymentPayload,
  PAYMENT_REQUIRED_HEADER,
  PAYMENT_SIGNATURE_HEADER,
  TRICKLE_SCHEME,
} from "./headers.ts";
import type { PaymentErrorCode, PaymentRequirements } from "./headers.ts";

export interface PayingFetchOptions {
  payer: Payer;
  /**
   * The most this fetch may lock in deposits, over every channel it opens or tops up, in the
   * smallest unit of the payees' token. Gas is not counted. Going above it throws
   * {@link InsufficientFundsError}; nothing is signed or sent then.
   */
  budget: bigint;
  /** The fetch to wrap; the global one by default. */
  fetch?: typeof globalThis.fetch;
  /** A new channel's deposit is `max(minDeposit, price × requestsPerDeposit)`, capped by the budget left. 1000 by default. */
  requestsPerDeposit?: bigint;
  /** `closeDelay` of new channels, raised to the payee's `minCloseDelay` when shorter. The payee's minimum by default. */
  closeDelay?: bigint;
  /** The payer's chain: 402s of payees elsewhere are refused with {@link WrongChainError} before anything is opened. */
  chain?: { chainId: bigint; contract: Address };
  /**
   * Open channels of this payer to pay from before opening new ones (for instance after a page reload):
   * their deposits count against the budget.
   */
  channels?: ResumedChannel[];
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
}

interface Route {
  key: string;
  price: bigint;
}

/** Refusals after which this channel is of no more use. */
const RETIRING: ReadonlySet<PaymentErrorCode> = new Set(["CHANNEL_CLOSING", "CHANNEL_NOT_OPEN"]);
/** Refusals a fresh voucher can cure. */
const RETRYABLE: ReadonlySet<PaymentErrorCode> = new Set(["NOT_INCREASING", "INSUFFICIENT_PAYMENT", "UNKNOWN_CHANNEL"]);
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

class PayingFetcher {
  readonly #payer: Payer;
  readonly #fetch: typeof globalThis.fetch;
  readonly #budget: bigint;
  readonly #requestsPerDeposit: bigint;
  readonly #closeDelay: bigint | undefined;
  readonly #chain: { chainId: bigint; contract: Address } | undefined;
  /** Deposits made or being made. */
  #committed = 0n;
  readonly #entries = new Map<string, Entry>();
  readonly #opening = new Map<string, Promise<Entry>>();
  readonly #retired: Entry[] = [];
  /** The last price and payee seen per origin + path, and per origin (for paths not seen yet). */
  readonly #routes = new Map<string, Route>();

  constructor(options: PayingFetchOptions) {
    if (options.budget < 0n) throw new InsufficientFundsError("the budget is negative", { budget: options.budget });
    this.#payer = options.payer;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#budget = options.budget;
    this.#requestsPerDeposit = options.requestsPerDeposit ?? 1000n;
    this.#closeDelay = options.closeDelay;
    this.#chain = options.chain && { chainId: options.chain.chainId, contract: options.chain.contract.toLowerCase() as Address };
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
    return this.#budget - this.#committed;
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
    const route = this.#routes.get(url.origin + url.pathname) ?? this.#routes.get(url.origin);
    const entry = route && this.#entries.get(route.key);

    let paidWith: Entry | undefined;
    let response: Response;
    if (entry !== undefined && route !== undefined) {
      paidWith = entry;
      response = await this.#send(request.clone(), await this.#sign(entry, route.price));
    } else {
      response = await this.#fetch(request.clone());
    }
    if (response.status !== 402) return this.#served(response, paidWith);

    const requirements = requirementsOf(response);
    if (requirements === undefined) return response;
    this.#remember(url, requirements);
    const refused = requirements.error;
    if (refused !== undefined && paidWith !== undefined) {
      if (RETIRING.has(refused)) this.#retire(paidWith);
      if (refused === "UNKNOWN_CHANNEL") paidWith.confirmed = false;
    }
    if (refused !== undefined && !RETRYABLE.has(refused)) return response;

    const payWith = await this.#channelFor(requirements);
    const payment = await this.#sign(payWith, requirements.price);
    await response.body?.cancel();
    return this.#served(await this.#send(request, payment), payWith);
  }

  #send(request: Request, payment: string): Promise<Response> {
    const headers = new Headers(request.headers);
    headers.set(PAYMENT_SIGNATURE_HEADER, payment);
    return this.#fetch(new Request(request, { headers }));
  }

  #served(response: Response, entry: Entry | undefined): Response {
    if (entry !== undefined && response.ok) entry.confirmed = true;
    return response;
  }

  #remember(url: URL, requirements: PaymentRequirements): void {
    const route: Route = { key: payeeKey(requirements), price: requirements.price };
    for (const key of [url.origin + url.pathname, url.origin]) {
      this.#routes.delete(key); // re-insert: the map's order is the eviction order
      this.#routes.set(key, route);
    }
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
    if (this.#chain !== undefined && (requirements.chainId !== this.#chain.chainId || requirements.contract.toLowerCase() !== this.#chain.contract)) {
      throw new WrongChainError(`the payee takes payments on chain ${requirements.chainId}, contract ${requirements.contract}`, {
        chainId: requirements.chainId,
        contract: requirements.contract,
      });
    }
    const wanted = requirements.price * this.#requestsPerDeposit;
    const deposit = this.#reserve(wanted > requirements.minDeposit ? wanted : requirements.minDeposit, requirements.minDeposit, requirements.price);
    const closeDelay = this.#closeDelay === undefined || this.#closeDelay < requirements.minCloseDelay ? requirements.minCloseDelay : this.#closeDelay;
    try {
      const channel = await this.#payer.open({ payee: requirements.payee, token: requirements.token, amount: deposit, closeDelay });
      if (channel.chainId !== requirements.chainId || channel.contract.toLowerCase() !== requirements.contract.toLowerCase()) {
        // Only possible without the `chain` option; the deposit is the payer's to withdraw.
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

  /** Takes up to `wanted` from the budget, at least `minimum`; throws when the budget cannot. */
  #reserve(wanted: bigint, minimum: bigint, price: bigint): bigint {
    const left = this.budgetLeft();
    const floor = minimum > price ? minimum : price;
    if (left < floor) {
      throw new InsufficientFundsError(`the budget has ${left} left; the payee needs a deposit of at least ${floor}`, {
        budgetLeft: left,
        needed: floor,
      });
    }
    const amount = wanted < left ? wanted : left;
    this.#committed += amount;
    return amount;
  }

  /** Signs the next voucher of `entry` for `price`, topping the deposit up within the budget. */
  #sign(entry: Entry, price: bigint): Promise<string> {
    const signing = entry.queue.then(async () => {
      if (entry.signed + price > entry.deposit) await this.#topUp(entry, price);
      const voucher = await this.#payer.pay(entry.channelId, price);
      entry.signed = voucher.amount;
      return encodePaymentPayload({
        scheme: TRICKLE_SCHEME,
        chainId: entry.chainId,
        contract: entry.contract,
        channelId: voucher.channelId,
        amount: voucher.amount,
        signature: voucher.signature,
        ...(entry.confirmed ? {} : { config: entry.config }),
      });
    });
    entry.queue = signing.catch((error: unknown) => {
      // The Payer refuses to sign on a channel it asked to close (or that is finished): drop it.
      const code = (error as { code?: unknown } | null)?.code;
      if (code === "CHANNEL_CLOSING" || code === "CHANNEL_NOT_OPEN") this.#retire(entry);
    });
    return signing;
  }

  async #topUp(entry: Entry, price: bigint): Promise<void> {
    const needed = entry.signed + price - entry.deposit;
    const wanted = price * this.#requestsPerDeposit;
    const amount = this.#reserve(wanted > needed ? wanted : needed, needed, price);
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
 * A fetch that pays Trickle payees: `const paidFetch = createPayingFetch({ payer, budget });
 * const response = await paidFetch("http://api.example/weather");`. Non-402 responses, and 402s
 * that are not Trickle's, come back untouched; a 402 that a payment cannot cure (the payee refuses
 * the channel) comes back with its `PAYMENT-REQUIRED` header for the caller to read.
 */
export function createPayingFetch(options: PayingFetchOptions): PayingFetch {
  const fetcher = new PayingFetcher(options);
  return Object.assign((input: string | URL | Request, init?: RequestInit) => fetcher.fetch(input, init), {
    budgetLeft: () => fetcher.budgetLeft(),
    channels: () => fetcher.channels(),
  });
}
