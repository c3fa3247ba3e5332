// The framework-neutral core of pay-per-request HTTP: `paymentGate` prices a request and answers
// either "serve it, here is the receipt" or "402, here is what to pay". The node:http, Express and
// Hono adapters only translate requests and responses around it.
//
// The gate keeps no ledger: whether a request is paid is decided by `payee.charge`, which stores the
// voucher and records the request in one store transaction, so several server processes sharing one
// store serve exactly what was paid. Order of checks, cheapest first: size → strict decoding →
// chain/contract → (first payment of a channel: config and signature, here, before the Payee may read
// the chain for it) → the Payee's checks from its cache (status, policy, signature) → the durable
// charge. The gate never sends a transaction.
import { channelId as computeChannelId } from "../channel.ts";
import type { Address, ChannelConfig, Hex } from "../channel.ts";
import { InvalidArgumentError, MalformedVoucherError, TrickleError } from "../errors.ts";
import type { Payee } from "../payee.ts";
import type { AcceptancePolicy } from "../policy.ts";
import type { PayeeStore } from "../store/store.ts";
import { defineToken, ETH_TOKEN, tokenBySymbol, toUnits, UnknownTokenError } from "../units.ts";
import type { Amount, Token } from "../units.ts";
import { VoucherVerifier } from "../voucher.ts";
import type { Voucher } from "../voucher.ts";
import type { PrepaidToken } from "../store/prepaid.ts";
import {
  decodePaymentPayload,
  decodePrepaidToken,
  encodePaymentReceipt,
  encodePaymentRequired,
  isPaymentErrorCode,
  MAX_PAYMENT_HEADER_BYTES,
  PAYMENT_PREPAID_HEADER,
  PAYMENT_REQUIRED_HEADER,
  PAYMENT_RESPONSE_HEADER,
  PAYMENT_SIGNATURE_HEADER,
  TRICKLE_SCHEME,
} from "./headers.ts";
import type { PaymentErrorCode, PaymentOffer, PaymentPayload, PaymentReceipt, PaymentRequirements } from "./headers.ts";

/** What the gate needs to know about a request; adapters build it from their framework's request. */
export interface GateRequest {
  method: string;
  /** Path and query, e.g. `/weather?city=Paris`. */
  url: string;
  /** A request header by (case-insensitive) name. */
  header(name: string): string | undefined;
}

/**
 * The price of a request: base units of the gate's token (`1000n`) or a human amount in it
 * (`"0.001 USDC"`, or `"0.001"`), read exactly by src/units.ts; `undefined`, `0n` or `"0"`: free.
 */
export type RoutePrice = Amount | ((request: GateRequest) => Amount | undefined);

/**
 * A request's price in each token it may be paid in, keyed by symbol (`{ USDC: "0.01 USDC", ETH:
 * "0.000005 ETH" }`); a token left out (or priced 0) is not offered. `undefined` or `{}`: free.
 */
export type RoutePrices = Readonly<Record<string, Amount>> | ((request: GateRequest) => Readonly<Record<string, Amount>> | undefined);

export interface PaymentGateOptions {
  /** The payee that checks and durably stores vouchers. */
  payee: Payee;
  /** @deprecated Ignored: the gate reaches the store only through the Payee. */
  store?: PayeeStore;
  chainId: bigint;
  /** The `PaymentChannels` contract. */
  contract: Address;
  /** The payee address channels must name (the account that claims). */
  payTo: Address;
  /**
   * The token the 402 asks for; the first of the Payee's `policy.tokens` by default, and one of them always.
   * A {@link Token} description (`{ symbol: "USDC", decimals: 6, address }`) lets prices be human amounts
   * in it; an address alone does so only for ETH (the zero address, 18 decimals).
   */
  token?: Address | Token;
  /** The price in the gate's one token; give either `price` or `tokens` and `prices`. */
  price?: RoutePrice;
  /**
   * Several tokens, each priced: their descriptions (every one in the Payee's `policy.tokens`), in the
   * order a 402 offers them (the first priced one is also its top-level token). Needs `prices`.
   */
  tokens?: readonly Token[];
  /** The price of a request in each of `tokens`, by symbol. */
  prices?: RoutePrices;
  /**
   * Smallest deposit the 402 asks for (base units or a human amount); 1000 × the price by default.
   * With `prices`, a record by symbol like the prices (a token left out: 1000 × its price).
   */
  minDeposit?: Amount | Readonly<Record<string, Amount>>;
  /** Largest `PAYMENT-SIGNATURE` header accepted; {@link MAX_PAYMENT_HEADER_BYTES} by default. */
  maxHeaderBytes?: number;
}

/** The JSON body of a refusal. */
export interface PaymentRefusalBody {
  error: PaymentErrorCode | "PAYMENT_REQUIRED";
  message: string;
}

export type GateOutcome =
  | { kind: "free" }
  | { kind: "paid"; receipt: PaymentReceipt; headers: Record<string, string> }
  | { kind: "refused"; status: 402 | 431 | 503; headers: Record<string, string>; body: PaymentRefusalBody };

function lower<T extends string>(value: T): T {
  return value.toLowerCase() as T;
}

function sameConfig(a: ChannelConfig, b: ChannelConfig): boolean {
  return (
    lower(a.payer) === lower(b.payer) &&
    lower(a.payee) === lower(b.payee) &&
    lower(a.token) === lower(b.token) &&
    lower(a.signer) === lower(b.signer) &&
    a.closeDelay === b.closeDelay &&
    lower(a.salt) === lower(b.salt)
  );
}

class Refusal extends Error {
  readonly code: PaymentErrorCode;
  readonly channelId: Hex | undefined;
  readonly cumulative: bigint | undefined;
  constructor(code: PaymentErrorCode, message: string, channelId?: Hex, cumulative?: bigint) {
    super(message);
    this.code = code;
    this.channelId = channelId;
    this.cumulative = cumulative;
  }
}

/** Parsed human prices kept per gate, so a price function returning strings parses each only once. */
const PRICE_CACHE_SIZE = 256;
/**
 * Decoded payment headers kept per gate. A prepaid voucher comes back byte for byte with each request it
 * pays for (its one-time token travels in its own header), and decoding is a pure function of the
 * header's text: the same text is decoded once.
 */
const DECODED_CACHE_SIZE = 1024;

export class PaymentGate {
  readonly #options: Required<Omit<PaymentGateOptions, "minDeposit" | "store" | "token" | "price" | "tokens" | "prices">> & { token: Address };
  /** The token prices are read in: its symbol and decimals, or just its address when only that is known. */
  readonly #token: Token | undefined;
  readonly #tokenAddress: Address;
  /** Several tokens priced each (`prices`), or undefined for one token (`price`). */
  readonly #tokens: readonly Token[] | undefined;
  readonly #price: RoutePrice | undefined;
  readonly #prices: RoutePrices | undefined;
  /** Smallest deposit by token address (lower-case); a token missing: 1000 × its price. */
  readonly #minDeposits = new Map<string, bigint>();
  readonly #parsed = new Map<string, bigint>();
  /** Header text to its decoded payload (frozen: shared by every request that sends the same text). */
  readonly #decoded = new Map<string, PaymentPayload>();
  /** The Payee's policy: the gate holds none of its own, so both answer a voucher alike. */
  readonly #policy: AcceptancePolicy;
  readonly #verifier: VoucherVerifier;

  constructor(options: PaymentGateOptions) {
    this.#policy = options.payee.policy;
    if (lower(options.payTo) !== this.#policy.payee) throw new InvalidArgumentError("payTo is not the Payee's address", { payTo: options.payTo, payee: this.#policy.payee });
    if ((options.price === undefined) === (options.prices === undefined)) {
      throw new InvalidArgumentError("give the gate either price (one token) or tokens and prices (several)", { price: options.price, prices: options.prices });
    }
    if (options.prices !== undefined) {
      if (options.tokens === undefined || options.tokens.length === 0 || options.token !== undefined) {
        throw new InvalidArgumentError("prices needs tokens (the descriptions of the tokens priced), and no token", { tokens: options.tokens });
      }
      const tokens = options.tokens.map((token) => defineToken(token));
      for (const token of tokens) {
        if (!this.#policy.acceptsToken(token.address)) {
          throw new InvalidArgumentError(`the gate's token ${token.symbol} is not one the Payee's policy accepts`, { token: token.address, tokens: this.#policy.tokens });
        }
      }
      if (new Set(tokens.map((t) => t.symbol.toLowerCase())).size !== tokens.length || new Set(tokens.map((t) => lower(t.address))).size !== tokens.length) {
        throw new InvalidArgumentError("tokens names a symbol or an address twice", { tokens: tokens.map((t) => t.symbol) });
      }
      this.#tokens = tokens;
    } else if (options.tokens !== undefined) {
      throw new InvalidArgumentError("tokens goes with prices; with one price, give token", { tokens: options.tokens });
    }
    this.#price = options.price;
    this.#prices = options.prices;
    const described = this.#tokens?.[0] ?? (typeof options.token === "object" && options.token !== null ? defineToken(options.token) : undefined);
    const tokenAddress = described?.address ?? (options.token as Address | undefined) ?? this.#policy.tokens[0];
    if (tokenAddress === undefined || !this.#policy.acceptsToken(tokenAddress)) {
      throw new InvalidArgumentError("the gate's token is not one the Payee's policy accepts", { token: tokenAddress, tokens: this.#policy.tokens });
    }
    this.#tokenAddress = lower(tokenAddress);
    this.#token = described ?? (lower(tokenAddress) === ETH_TOKEN.address ? ETH_TOKEN : undefined);
    // Signatures are checked here synchronously (ECDSA only); a contract signer would need the Payee's
    // chain call on every path, credit included, so a policy that accepts some is refused outright.
    if (this.#policy.contractSignerCodeHashes.size > 0) {
      throw new InvalidArgumentError("the HTTP gate does not take contract (ERC-1271) signers: use a Payee policy without contractSignerCodeHashes");
    }
    const { store: _ignored, token: _token, minDeposit, price: _price, prices: _prices, tokens: _tokens, ...rest } = options;
    this.#options = {
      maxHeaderBytes: MAX_PAYMENT_HEADER_BYTES,
      ...rest,
      token: this.#tokenAddress,
      contract: lower(options.contract),
      payTo: lower(options.payTo),
    };
    // A constant price or deposit in another symbol, or more precise than its token, fails here.
    if (minDeposit !== undefined) {
      if (this.#tokens === undefined) {
        if (typeof minDeposit === "object") throw new InvalidArgumentError("with one price, minDeposit is one amount", { minDeposit });
        this.#minDeposits.set(this.#tokenAddress, this.#units(minDeposit));
      } else {
        if (typeof minDeposit !== "object") throw new InvalidArgumentError("with prices, minDeposit is a record by symbol like the prices", { minDeposit });
        for (const [token, units] of this.#bySymbol(minDeposit)) this.#minDeposits.set(lower(token.address), units);
      }
    }
    if (options.price !== undefined && typeof options.price !== "function") this.#units(options.price);
    if (options.prices !== undefined && typeof options.prices !== "function") this.#bySymbol(options.prices);
    this.#verifier = new VoucherVerifier({ chainId: options.chainId, verifyingContract: this.#options.contract });
  }

  /** The token prices are read in, when its symbol and decimals are known. */
  get token(): Token | undefined {
    return this.#token;
  }

  /** The tokens the gate prices in, when it prices several (`prices`). */
  get tokens(): readonly Token[] | undefined {
    return this.#tokens;
  }

  /**
   * The price of a request in base units (in the first token it is offered in), or undefined when it
   * is free. A human price in another symbol or with more decimals than its token throws its typed
   * error (UNKNOWN_TOKEN, AMOUNT_TOO_PRECISE, AMOUNT_MALFORMED); it is never rounded.
   */
  priceOf(request: GateRequest): bigint | undefined {
    return this.offersOf(request)?.[0]?.price;
  }

  /** Every token a request may be paid in, with its price and deposit, in the gate's order; undefined: free. */
  offersOf(request: GateRequest): PaymentOffer[] | undefined {
    const prices = new Map<string, bigint>();
    if (this.#prices !== undefined) {
      const raw = typeof this.#prices === "function" ? this.#prices(request) : this.#prices;
      if (raw !== undefined) for (const [token, units] of this.#bySymbol(raw)) prices.set(lower(token.address), units);
    } else {
      const raw = typeof this.#price === "function" ? this.#price(request) : this.#price;
      if (raw !== undefined) prices.set(this.#tokenAddress, this.#units(raw));
    }
    const order = this.#tokens?.map((t) => lower(t.address)) ?? [this.#tokenAddress];
    const offers: PaymentOffer[] = [];
    for (const token of order) {
      const price = prices.get(token);
      if (price === undefined || price === 0n) continue;
      offers.push({ token, price, minDeposit: this.#minDeposits.get(token) ?? price * 1000n });
    }
    return offers.length === 0 ? undefined : offers;
  }

  /** A record of amounts by symbol, read each in its token; a symbol the gate does not price in is UNKNOWN_TOKEN. */
  #bySymbol(record: Readonly<Record<string, Amount>>): [Token, bigint][] {
    const tokens = this.#tokens ?? [];
    const seen = new Set<Token>();
    return Object.entries(record).map(([symbol, amount]) => {
      const token = tokenBySymbol(symbol, tokens);
      if (seen.has(token)) throw new UnknownTokenError(`"${symbol}" names ${token.symbol} twice`, { symbol });
      seen.add(token);
      return [token, this.#units(amount, token)];
    });
  }

  #units(amount: Amount, token = this.#token): bigint {
    if (typeof amount !== "string") return toUnits(amount, token ?? ETH_TOKEN);
    if (token === undefined) {
      throw new UnknownTokenError(`the price "${amount}" is a human amount but the gate knows only the address of its token: give the token as { symbol, decimals, address }`, {
        amount,
        token: this.#tokenAddress,
      });
    }
    const key = `${token.address}\u0000${amount}`;
    const cached = this.#parsed.get(key);
    if (cached !== undefined) return cached;
    const units = toUnits(amount, token);
    if (this.#parsed.size >= PRICE_CACHE_SIZE) this.#parsed.clear();
    this.#parsed.set(key, units);
    return units;
  }

  /** What a 402 for this price (in the gate's first token) says. */
  requirements(price: bigint, refusal?: { error: PaymentErrorCode; channelId?: Hex; cumulative?: bigint }): PaymentRequirements {
    return this.#requirementsFor([{ token: this.#tokenAddress, price, minDeposit: this.#minDeposits.get(this.#tokenAddress) ?? price * 1000n }], refusal);
  }

  #requirementsFor(offers: readonly PaymentOffer[], refusal?: { error: PaymentErrorCode; channelId?: Hex; cumulative?: bigint }): PaymentRequirements {
    const o = this.#options;
    const first = offers[0]!;
    return {
      scheme: TRICKLE_SCHEME,
      chainId: o.chainId,
      contract: o.contract,
      payee: o.payTo,
      token: first.token,
      price: first.price,
      minDeposit: first.minDeposit,
      minCloseDelay: this.#policy.minCloseDelay,
      // Only a gate of several tokens sends the list: a gate of one keeps the header it always had.
      ...(this.#tokens === undefined ? {} : { accepts: offers.map((offer) => ({ ...offer })) }),
      ...(this.#policy.prepaidCredit ? { prepaid: true as const } : {}),
      ...(refusal ?? {}),
    };
  }

  /**
   * Prices the request and, when it has a price, checks and durably accepts its payment. Resolves
   * `paid` only after the voucher is durable; the handler must run only then. Rejects only on
   * failures of the server itself (store, chain connection): an adapter answers those with 500.
   */
  async check(request: GateRequest): Promise<GateOutcome> {
    const offers = this.offersOf(request);
    if (offers === undefined) return { kind: "free" };
    const header = request.header(PAYMENT_SIGNATURE_HEADER);
    if (header === undefined || header === "") {
      return this.#refuse(offers, 402, undefined, "PAYMENT_REQUIRED", "this resource needs a payment");
    }
    if (header.length > this.#options.maxHeaderBytes) {
      return this.#refuse(offers, 431, new Refusal("MALFORMED", `${PAYMENT_SIGNATURE_HEADER} is longer than ${this.#options.maxHeaderBytes} bytes`));
    }
    try {
      const receipt = await this.#pay(header, offers, this.#policy.prepaidCredit ? request.header(PAYMENT_PREPAID_HEADER) : undefined);
      return { kind: "paid", receipt, headers: { [PAYMENT_RESPONSE_HEADER]: encodePaymentReceipt(receipt) } };
    } catch (error) {
      if (error instanceof Refusal) return this.#refuse(offers, error.code === "UNAVAILABLE" ? 503 : 402, error);
      throw error;
    }
  }

  #refuse(offers: readonly PaymentOffer[], status: 402 | 431 | 503, refusal: Refusal | undefined, error?: "PAYMENT_REQUIRED", message?: string): GateOutcome {
    const requirements = this.#requirementsFor(
      offers,
      refusal && {
        error: refusal.code,
        ...(refusal.channelId === undefined ? {} : { channelId: refusal.channelId }),
        ...(refusal.cumulative === undefined ? {} : { cumulative: refusal.cumulative }),
      },
    );
    const headers: Record<string, string> = { [PAYMENT_REQUIRED_HEADER]: encodePaymentRequired(requirements) };
    if (status === 503) headers["Retry-After"] = "1";
    return {
      kind: "refused",
      status,
      headers,
      body: { error: refusal?.code ?? error ?? "PAYMENT_REQUIRED", message: refusal?.message ?? message ?? "payment required" },
    };
  }

  #decode(header: string): PaymentPayload {
    let payload = this.#decoded.get(header);
    if (payload !== undefined) return payload;
    try {
      payload = decodePaymentPayload(header, this.#options.maxHeaderBytes);
    } catch (error) {
      if (error instanceof MalformedVoucherError) throw new Refusal("MALFORMED", error.message);
      throw error;
    }
    if (payload.config !== undefined) Object.freeze(payload.config);
    Object.freeze(payload);
    if (this.#decoded.size >= DECODED_CACHE_SIZE) this.#decoded.delete(this.#decoded.keys().next().value as string);
    this.#decoded.set(header, payload);
    return payload;
  }

  async #pay(header: string, offers: readonly PaymentOffer[], prepaidHeader: string | undefined): Promise<PaymentReceipt> {
    const payload = this.#decode(header);
    let prepaid: PrepaidToken | undefined;
    if (prepaidHeader !== undefined && prepaidHeader !== "") {
      try {
        prepaid = decodePrepaidToken(prepaidHeader);
      } catch (error) {
        if (error instanceof MalformedVoucherError) throw new Refusal("MALFORMED", error.message);
        throw error;
      }
    }
    const id = lower(payload.channelId);
    if (payload.chainId !== this.#options.chainId || lower(payload.contract) !== this.#options.contract) {
      throw new Refusal("WRONG_CHAIN", `this payee takes vouchers of contract ${this.#options.contract} on chain ${this.#options.chainId}`, id);
    }
    const voucher: Voucher = { channelId: id, amount: payload.amount, signature: payload.signature };
    const payee = this.#options.payee;
    const known = await payee.knownConfig(id);
    let token: Address;
    if (known === undefined) {
      // The first payment of a channel: its config and signature are checked here, before the Payee may
      // read the chain for it (and the Payee rate-limits those reads).
      const config = this.#checkNewConfig(id, payload.config);
      this.#verify(voucher, config);
      token = config.token;
    } else if (payload.config !== undefined && !sameConfig(payload.config, known)) {
      throw new Refusal("MALFORMED", "config does not match the channel", id);
    } else {
      token = known.token;
    }
    // The channel's token sets the price; a token this request is not priced in pays nothing here.
    const offer = offers.find((o) => o.token === lower(token));
    if (offer === undefined) {
      throw new Refusal("WRONG_TOKEN", `this request is priced in ${offers.map((o) => o.token).join(", ")}, not in token ${lower(token)}`, id);
    }
    const price = offer.price;
    try {
      const charged = await payee.charge(voucher, price, known === undefined ? payload.config : undefined, prepaid);
      const deposit = charged.deposit;
      return { channelId: id, charged: price, cumulative: charged.cumulative, depositRemaining: deposit > charged.cumulative ? deposit - charged.cumulative : 0n };
    } catch (error) {
      const best = error instanceof TrickleError && typeof error.details.best === "bigint" ? error.details.best : undefined;
      throw this.#asRefusal(error, id, best);
    }
  }

  #verify(voucher: Voucher, config: ChannelConfig): void {
    try {
      // Synchronous and chain-free: a forged voucher stops here.
      this.#verifier.verify(voucher, config.signer);
    } catch (error) {
      throw this.#asRefusal(error, voucher.channelId);
    }
  }

  /** The config sent with a channel's first payment, checked before any chain read. */
  #checkNewConfig(id: Hex, sent: ChannelConfig | undefined): ChannelConfig {
    if (sent === undefined) throw new Refusal("UNKNOWN_CHANNEL", "unknown channel: send its config with the first payment", id);
    if (computeChannelId(sent) !== id) throw new Refusal("MALFORMED", "config does not hash to the channel id", id);
    try {
      this.#policy.checkConfig(id, sent);
    } catch (error) {
      throw this.#asRefusal(error, id);
    }
    return sent;
  }

  #asRefusal(error: unknown, id: Hex, cumulative?: bigint): Refusal {
    if (error instanceof TrickleError && error.details.rateLimited === true) return new Refusal("UNAVAILABLE", error.message, id);
    if (error instanceof TrickleError && isPaymentErrorCode(error.code)) return new Refusal(error.code, error.message, id, cumulative);
    throw error;
  }
}

/** The gate of a paid API: see {@link PaymentGate.check}. */
export function paymentGate(options: PaymentGateOptions): PaymentGate {
  return new PaymentGate(options);
}
