// The framework-neutral core of pay-per-request HTTP: `paymentGate` prices a request and answers
// either "serve it, here is the receipt" or "402, here is what to pay". The node:http, Express and
// Hono adapters only translate requests and responses around it.
//
// Order of checks, cheapest first, so that a flood of bad payments costs the server CPU only:
// size → strict decoding → chain/contract → replay and increment against the best durable amount →
// signature → durable `payee.accept`. A channel's first payment has its config (hash, payee, token,
// close delay) and signature checked here before the Payee may read the chain for it; after that the
// Payee answers from its cache (kept current by events, at most one pull per interval). The gate
// never sends a transaction.
import { channelId as computeChannelId } from "../channel.ts";
import type { Address, ChannelConfig, Hex } from "../channel.ts";
import { InvalidArgumentError, MalformedVoucherError, TrickleError } from "../errors.ts";
import type { AcceptReceipt, Payee } from "../payee.ts";
import type { AcceptancePolicy } from "../policy.ts";
import type { PayeeStore } from "../store/store.ts";
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

/** The price of a request in the channel token's smallest unit; `undefined` or `0n`: free. */
export type RoutePrice = bigint | ((request: GateRequest) => bigint | undefined);

export interface PaymentGateOptions {
  /** The payee that checks and durably stores vouchers. */
  payee: Payee;
  /** The payee's store (the same one the Payee writes), read to refuse underpaying vouchers before they are stored. */
  store: PayeeStore;
  chainId: bigint;
  /** The `PaymentChannels` contract. */
  contract: Address;
  /** The payee address channels must name (the account that claims). */
  payTo: Address;
  /** The token the 402 asks for; the first of the Payee's `policy.tokens` by default, and one of them always. */
  token?: Address;
  price: RoutePrice;
  /** Smallest deposit the 402 asks for; 1000 × the price by default. */
  minDeposit?: bigint;
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

/** Refusals that cannot change for a channel id within seconds: cached so a flood costs no chain read. */
const STICKY_REFUSALS: ReadonlySet<PaymentErrorCode> = new Set(["UNKNOWN_CHANNEL", "CHANNEL_NOT_OPEN", "WRONG_PAYEE", "WRONG_TOKEN", "CLOSE_DELAY_TOO_SHORT"]);
const STICKY_REFUSAL_MS = 5_000;
const STICKY_REFUSAL_ENTRIES = 10_000;

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

/** Used voucher amounts remembered per channel, to refuse replays of out-of-order vouchers. */
const USED_AMOUNTS_KEPT = 1024;

/**
 * What the gate knows of a channel it serves. `served` counts the prices of the requests served
 * since the gate started (it starts at the stored best: vouchers from before a restart buy nothing).
 */
interface Ledger {
  config: ChannelConfig;
  /** The best durable amount this process has seen. */
  best: bigint;
  served: bigint;
  /** Every amount at or below it counts as used. */
  floor: bigint;
  used: Set<bigint>;
  /** Set while the channel's first payment is being accepted. */
  proving: Promise<void> | undefined;
  /** When a voucher above the cached deposit last made the payee pull events (ms). */
  depositRefreshedAt: number;
}

/** Least time between two event pulls caused by vouchers above a channel's cached deposit. */
const DEPOSIT_REFRESH_MS = 1000;

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

export class PaymentGate {
  readonly #options: Required<Omit<PaymentGateOptions, "minDeposit">> & { minDeposit: bigint | undefined };
  /** The Payee's policy: the gate holds none of its own, so both answer a voucher alike. */
  readonly #policy: AcceptancePolicy;
  readonly #verifier: VoucherVerifier;
  readonly #ledgers = new Map<Hex, Ledger>();
  readonly #sticky = new Map<Hex, { code: PaymentErrorCode; until: number }>();

  constructor(options: PaymentGateOptions) {
    this.#policy = options.payee.policy;
    if (lower(options.payTo) !== this.#policy.payee) throw new InvalidArgumentError("payTo is not the Payee's address", { payTo: options.payTo, payee: this.#policy.payee });
    if (options.token !== undefined && !this.#policy.acceptsToken(options.token)) {
      throw new InvalidArgumentError("the gate's token is not one the Payee's policy accepts", { token: options.token, tokens: this.#policy.tokens });
    }
    // Signatures are checked here synchronously (ECDSA only); a contract signer would need the Payee's
    // chain call on every path, credit included, so a policy that accepts some is refused outright.
    if (this.#policy.contractSignerCodeHashes.size > 0) {
      throw new InvalidArgumentError("the HTTP gate does not take contract (ERC-1271) signers: use a Payee policy without contractSignerCodeHashes");
    }
    this.#options = {
      token: this.#policy.tokens[0],
      minDeposit: undefined,
      maxHeaderBytes: MAX_PAYMENT_HEADER_BYTES,
      ...options,
      contract: lower(options.contract),
      payTo: lower(options.payTo),
      ...(options.token === undefined ? {} : { token: lower(options.token) }),
    };
    this.#verifier = new VoucherVerifier({ chainId: options.chainId, verifyingContract: this.#options.contract });
  }

  /** The price of a request, or undefined when it is free. */
  priceOf(request: GateRequest): bigint | undefined {
    const price = typeof this.#options.price === "bigint" ? this.#options.price : this.#options.price(request);
    return price === undefined || price === 0n ? undefined : price;
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

    let ledger = this.#ledgers.get(id);
    if (ledger === undefined) {
      const sticky = this.#sticky.get(id);
      if (sticky !== undefined) {
        if (sticky.until > Date.now()) throw new Refusal(sticky.code, `channel refused: ${sticky.code}`, id);
        this.#sticky.delete(id);
      }
      const stored = await this.#options.store.channel(id);
      const best = (await this.#options.store.bestVoucher(id))?.amount ?? 0n;
      const config = this.#checkNewConfig(id, stored, payload.config);
      this.#verify(voucher, config);
      ledger = this.#ledgers.get(id); // another request may have got here during the awaits
      if (ledger === undefined) {
        const created: Ledger = { config, best, served: best, floor: best, used: new Set(), proving: undefined, depositRefreshedAt: 0 };
        if (stored !== undefined) {
          this.#ledgers.set(id, created);
          ledger = created;
        } else {
          return this.#prove(created, voucher, price);
        }
      }
    } else if (payload.config !== undefined && !sameConfig(payload.config, ledger.config)) {
      throw new Refusal("MALFORMED", "config does not match the channel", id);
    }
    if (ledger.proving !== undefined) await ledger.proving;
    return this.#charge(ledger, voucher, price);
  }

  /**
   * The first payment of a channel the payee does not know: the only one that can make
   * `payee.accept` read the chain (the Payee rate-limits those reads). Other payments of the
   * channel wait for its outcome.
   */
  async #prove(ledger: Ledger, voucher: Voucher, price: bigint): Promise<PaymentReceipt> {
    const id = voucher.channelId;
    let settle!: (error?: unknown) => void;
    ledger.proving = new Promise<void>((resolve, reject) => {
      settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    ledger.proving.catch(() => {}); // waiters handle it; an unobserved rejection must not crash the process
    this.#ledgers.set(id, ledger);
    try {
      const receipt = await this.#charge(ledger, voucher, price);
      settle();
      return receipt;
    } catch (error) {
      this.#ledgers.delete(id);
      if (error instanceof Refusal && STICKY_REFUSALS.has(error.code)) this.#remember(id, error.code);
      settle(error);
      throw error;
    } finally {
      ledger.proving = undefined;
    }
  }

  /**
   * Serves the request if the payer's durable vouchers cover every request served so far plus this
   * one (`served + price <= best`), each voucher amount buying at most one request.
   */
  async #charge(ledger: Ledger, voucher: Voucher, price: bigint): Promise<PaymentReceipt> {
    const id = voucher.channelId;
    const amount = voucher.amount;
    if (amount <= ledger.floor || ledger.used.has(amount)) {
      throw new Refusal("NOT_INCREASING", `voucher ${amount} was already used; the payee holds ${ledger.best}`, id, ledger.best);
    }
    if (amount <= ledger.best) return this.#fromCredit(ledger, voucher, price);
    if (amount - ledger.best < price) {
      throw new Refusal("INSUFFICIENT_PAYMENT", `the voucher adds ${amount - ledger.best}, this request costs ${price}`, id, ledger.best);
    }
    let accepted: AcceptReceipt;
    try {
      accepted = await this.#accept(ledger, voucher);
    } catch (error) {
      if (error instanceof TrickleError && error.code === "NOT_INCREASING") {
        // A higher voucher of the same payer was committed first (same group commit or just before).
        const best = error.details.best;
        if (typeof best === "bigint" && best > ledger.best) ledger.best = best;
        if (amount <= ledger.best) return this.#fromCredit(ledger, voucher, price);
      }
      throw this.#asRefusal(error, id, ledger.best);
    }
    if (accepted.amount > ledger.best) ledger.best = accepted.amount;
    // Another voucher may have landed between the check above and the commit. The stored voucher
    // stays (it only raises what the payee can claim) but buys this request only if it covers it.
    if (ledger.served + price > ledger.best || ledger.used.has(amount)) {
      throw new Refusal("INSUFFICIENT_PAYMENT", `the vouchers cover ${ledger.best - ledger.served}, this request costs ${price}`, id, ledger.best);
    }
    this.#use(ledger, amount, price);
    return this.#receipt(ledger, id, price);
  }

  /**
   * Parallel requests reach the server out of order: a higher voucher of this payer, durable
   * already, may have paid for this one's request too. Never more requests than `best / price`.
   */
  #fromCredit(ledger: Ledger, voucher: Voucher, price: bigint): Promise<PaymentReceipt> {
    const id = voucher.channelId;
    if (voucher.amount <= ledger.floor || ledger.used.has(voucher.amount) || ledger.served + price > ledger.best) {
      throw new Refusal("NOT_INCREASING", `the payee already holds ${ledger.best} for this channel`, id, ledger.best);
    }
    this.#verify(voucher, ledger.config);
    this.#use(ledger, voucher.amount, price);
    return this.#receipt(ledger, id, price);
  }

  async #accept(ledger: Ledger, voucher: Voucher): Promise<AcceptReceipt> {
    try {
      // The config only for the first payment: afterwards the Payee has it cached, and hashing it
      // again on every request would cost a keccak each.
      return await this.#options.payee.accept(voucher, ledger.proving === undefined ? undefined : ledger.config);
    } catch (error) {
      if (!(error instanceof TrickleError && error.code === "EXCEEDS_DEPOSIT")) throw error;
      // The payer may have topped up since the payee's last pull of events. Only the channel's signer
      // earns that chain read (the signature is checked first), and at most once per interval.
      this.#verify(voucher, ledger.config);
      const now = Date.now();
      if (now - ledger.depositRefreshedAt < DEPOSIT_REFRESH_MS) throw error;
      ledger.depositRefreshedAt = now;
      await this.#options.payee.sync();
      return await this.#options.payee.accept(voucher);
    }
  }

  #use(ledger: Ledger, amount: bigint, price: bigint): void {
    ledger.served += price;
    ledger.used.add(amount);
    if (ledger.used.size > USED_AMOUNTS_KEPT) {
      // Forget the lowest used amount: everything at or below it counts as used from now on.
      let lowest = amount;
      for (const used of ledger.used) if (used < lowest) lowest = used;
      ledger.used.delete(lowest);
      if (lowest > ledger.floor) ledger.floor = lowest;
    }
  }

  async #receipt(ledger: Ledger, id: Hex, price: bigint): Promise<PaymentReceipt> {
    const state = await this.#options.payee.channelState(id);
    const deposit = state?.deposit ?? ledger.best;
    return { channelId: id, charged: price, cumulative: ledger.best, depositRemaining: deposit > ledger.best ? deposit - ledger.best : 0n };
  }

  #verify(voucher: Voucher, config: ChannelConfig): void {
    try {
      // Synchronous and chain-free: a forged voucher stops here.
      this.#verifier.verify(voucher, config.signer);
    } catch (error) {
      throw this.#asRefusal(error, voucher.channelId);
    }
  }

  /** The config of a channel without a ledger, checked before any chain read. */
  #checkNewConfig(id: Hex, stored: ChannelConfig | undefined, sent: ChannelConfig | undefined): ChannelConfig {
    if (stored !== undefined) {
      if (sent !== undefined && !sameConfig(sent, stored)) throw new Refusal("MALFORMED", "config does not match the channel", id);
      return stored;
    }
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

  #remember(id: Hex, code: PaymentErrorCode): void {
    if (this.#sticky.size >= STICKY_REFUSAL_ENTRIES) {
      const oldest = this.#sticky.keys().next().value;
      if (oldest !== undefined) this.#sticky.delete(oldest);
    }
    this.#sticky.set(id, { code, until: Date.now() + STICKY_REFUSAL_MS });
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
