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
import { defineToken, ETH_TOKEN, toUnits, UnknownTokenError } from "../units.ts";
import type { Amount, Token } from "../units.ts";
import { VoucherVerifier } from "../voucher.ts";
import type { Voucher } from "../voucher.ts";
import {
  decodePaymentPayload,
  encodePaymentReceipt,
  encodePaymentRequired,
  isPaymentErrorCode,
  MAX_PAYMENT_HEADER_BYTES,
  PAYMENT_REQUIRED_HEADER,
  PAYMENT_RESPONSE_HEADER,
  PAYMENT_SIGNATURE_HEADER,
  TRICKLE_SCHEME,
} from "./headers.ts";
import type { PaymentErrorCode, PaymentPayload, PaymentReceipt, PaymentRequirements } from "./headers.ts";

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
  price: RoutePrice;
  /** Smallest deposit the 402 asks for (base units or a human amount); 1000 × the price by default. */
  minDeposit?: Amount;
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

export class PaymentGate {
  readonly #options: Required<Omit<PaymentGateOptions, "minDeposit" | "store" | "token">> & { minDeposit: bigint | undefined; token: Address };
  /** The token prices are read in: its symbol and decimals, or just its address when only that is known. */
  readonly #token: Token | undefined;
  readonly #tokenAddress: Address;
  readonly #parsed = new Map<string, bigint>();
  /** The Payee's policy: the gate holds none of its own, so both answer a voucher alike. */
  readonly #policy: AcceptancePolicy;
  readonly #verifier: VoucherVerifier;

  constructor(options: PaymentGateOptions) {
    this.#policy = options.payee.policy;
    if (lower(options.payTo) !== this.#policy.payee) throw new InvalidArgumentError("payTo is not the Payee's address", { payTo: options.payTo, payee: this.#policy.payee });
    const described = typeof options.token === "object" && options.token !== null ? defineToken(options.token) : undefined;
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
    const { store: _ignored, token: _token, minDeposit, ...rest } = options;
    this.#options = {
      maxHeaderBytes: MAX_PAYMENT_HEADER_BYTES,
      ...rest,
      token: lower(tokenAddress),
      // A constant price or deposit in another symbol, or more precise than the token, fails here.
      minDeposit: minDeposit === undefined ? undefined : this.#units(minDeposit),
      contract: lower(options.contract),
      payTo: lower(options.payTo),
    };
    if (typeof options.price !== "function") this.#units(options.price);
    this.#verifier = new VoucherVerifier({ chainId: options.chainId, verifyingContract: this.#options.contract });
  }

  /** The token prices are read in, when its symbol and decimals are known. */
  get token(): Token | undefined {
    return this.#token;
  }

  /**
   * The price of a request in base units, or undefined when it is free. A human price in another
   * symbol or with more decimals than the token throws its typed error (UNKNOWN_TOKEN,
   * AMOUNT_TOO_PRECISE, AMOUNT_MALFORMED); it is never rounded.
   */
  priceOf(request: GateRequest): bigint | undefined {
    const raw = typeof this.#options.price === "function" ? this.#options.price(request) : this.#options.price;
    if (raw === undefined) return undefined;
    const price = this.#units(raw);
    return price === 0n ? undefined : price;
  }

  #units(amount: Amount): bigint {
    if (typeof amount !== "string") return toUnits(amount, this.#token ?? ETH_TOKEN);
    const cached = this.#parsed.get(amount);
    if (cached !== undefined) return cached;
    if (this.#token === undefined) {
      throw new UnknownTokenError(`the price "${amount}" is a human amount but the gate knows only the address of its token: give the token as { symbol, decimals, address }`, {
        amount,
        token: this.#tokenAddress,
      });
    }
    const units = toUnits(amount, this.#token);
    if (this.#parsed.size >= PRICE_CACHE_SIZE) this.#parsed.clear();
    this.#parsed.set(amount, units);
    return units;
  }

  /** What a 402 for this price says. */
  requirements(price: bigint, refusal?: { error: PaymentErrorCode; channelId?: Hex; cumulative?: bigint }): PaymentRequirements {
    const o = this.#options;
    return {
      scheme: TRICKLE_SCHEME,
      chainId: o.chainId,
      contract: o.contract,
      payee: o.payTo,
      token: o.token,
      price,
      minDeposit: o.minDeposit ?? price * 1000n,
      minCloseDelay: this.#policy.minCloseDelay,
      ...(refusal ?? {}),
    };
  }

  /**
   * Prices the request and, when it has a price, checks and durably accepts its payment. Resolves
   * `paid` only after the voucher is durable; the handler must run only then. Rejects only on
   * failures of the server itself (store, chain connection): an adapter answers those with 500.
   */
  async check(request: GateRequest): Promise<GateOutcome> {
    const price = this.priceOf(request);
    if (price === undefined) return { kind: "free" };
    const header = request.header(PAYMENT_SIGNATURE_HEADER);
    if (header === undefined || header === "") {
      return this.#refuse(price, 402, undefined, "PAYMENT_REQUIRED", "this resource needs a payment");
    }
    if (header.length > this.#options.maxHeaderBytes) {
      return this.#refuse(price, 431, new Refusal("MALFORMED", `${PAYMENT_SIGNATURE_HEADER} is longer than ${this.#options.maxHeaderBytes} bytes`));
    }
    try {
      const receipt = await this.#pay(header, price);
      return { kind: "paid", receipt, headers: { [PAYMENT_RESPONSE_HEADER]: encodePaymentReceipt(receipt) } };
    } catch (error) {
      if (error instanceof Refusal) return this.#refuse(price, error.code === "UNAVAILABLE" ? 503 : 402, error);
      throw error;
    }
  }

  #refuse(price: bigint, status: 402 | 431 | 503, refusal: Refusal | undefined, error?: "PAYMENT_REQUIRED", message?: string): GateOutcome {
    const requirements = this.requirements(
      price,
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

  async #pay(header: string, price: bigint): Promise<PaymentReceipt> {
    let payload: PaymentPayload;
    try {
      payload = decodePaymentPayload(header, this.#options.maxHeaderBytes);
    } catch (error) {
      if (error instanceof MalformedVoucherError) throw new Refusal("MALFORMED", error.message);
      throw error;
    }
    const id = lower(payload.channelId);
    if (payload.chainId !== this.#options.chainId || lower(payload.contract) !== this.#options.contract) {
      throw new Refusal("WRONG_CHAIN", `this payee takes vouchers of contract ${this.#options.contract} on chain ${this.#options.chainId}`, id);
    }
    const voucher: Voucher = { channelId: id, amount: payload.amount, signature: payload.signature };
    const payee = this.#options.payee;
    const known = await payee.knownConfig(id);
    if (known === undefined) {
      // The first payment of a channel: its config and signature are checked here, before the Payee may
      // read the chain for it (and the Payee rate-limits those reads).
      const config = this.#checkNewConfig(id, payload.config);
      this.#verify(voucher, config);
    } else if (payload.config !== undefined && !sameConfig(payload.config, known)) {
      throw new Refusal("MALFORMED", "config does not match the channel", id);
    }
    try {
      const charged = await payee.charge(voucher, price, known === undefined ? payload.config : undefined);
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
    // Its prices are in one token: another the policy accepts is not priced here.
    if (lower(sent.token) !== this.#options.token) throw new Refusal("WRONG_TOKEN", `this gate prices in token ${this.#options.token}`, id);
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
