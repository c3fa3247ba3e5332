/**
 * The payee's side of commerce: sells catalog items and subscription periods for vouchers, answers
 * "is this payer entitled to tier X at time T", and restores a payer's receipts. It holds no ledger: the
 * Payee checks every voucher and the CommerceStore (which is the Payee's store) keeps every sale in the
 * same transaction as its voucher. Several Sellers in several processes over one store charge each
 * `(payer, key)` once.
 */
import { channelId as computeChannelId, ChannelStatus, type Address, type ChannelConfig, type Hex } from "../channel.ts";
import { InvalidArgumentError, NotIncreasingError, UnknownChannelError, WrongChainError, WrongTokenError } from "../errors.ts";
import type { Payee } from "../payee.ts";
import { verifyVoucher, type Voucher, type VoucherDomain } from "../voucher.ts";
import { addressOfPrivateKey } from "../payer.ts";
import type { Catalog } from "./catalog.ts";
import { NotEntitledError, PurchaseIdReusedError, RenewalRefusedError, UnknownItemError, type RenewalBlock } from "./errors.ts";
import { periodKey, periodsOf, type PeriodQuote, type Plans } from "./plans.ts";
import { signReceipt, type Receipt, type ReceiptFields } from "./receipt.ts";
import type { CommerceStore } from "./store.ts";

export interface SellerParameters {
  payee: Payee;
  /**
   * The Payee's store view (the same object the Payee was given), for the deployment of `domain`: sales are
   * written in the same transaction as the vouchers that pay for them.
   */
  store: CommerceStore;
  /** Where the vouchers are valid; receipts are signed on the same chain id and contract. */
  domain: VoucherDomain;
  /** The key that signs receipts; apps verify receipts with its address ({@link Seller.receiptSigner}). */
  receiptKey: Hex;
  catalog?: Catalog;
  plans?: Plans;
  /** Unix seconds now; tests and demos pass a clock of their own. */
  now?: () => bigint;
}

/** What a sale returns: the receipt, whether it was already sold (a retry), and the channel's credit after it. */
export interface Sale {
  receipt: Receipt;
  replayed: boolean;
  /** Value the channel's vouchers paid beyond the prices charged; the payer's next voucher can be smaller by it. */
  credit: bigint;
}

export interface PurchaseRequest {
  voucher: Voucher;
  /** The channel's config; needed the first time the payee sees the channel. */
  config?: ChannelConfig;
  item: string;
  /** Chosen by the app, unique per payer; a retry with the same id is never charged again. */
  purchaseId: string;
}

export interface RenewRequest {
  voucher: Voucher;
  config?: ChannelConfig;
  plan: string;
  /** The period being paid (0 for the first); a retry of a paid one returns its receipt. */
  sequence: number;
}

export interface QuoteRequest {
  payer: Address;
  plan: string;
}

/** Where a payer stands at time `at`: the tier it may use (undefined: none) and until when. */
export interface Entitlement {
  tier: string | undefined;
  plan: string | undefined;
  until: bigint;
}

const PURCHASE_ID = /^[\x21-\x7e]{1,128}$/;

export class Seller {
  readonly #payee: Payee;
  readonly #store: CommerceStore;
  readonly #domain: VoucherDomain;
  readonly #receiptKey: Hex;
  readonly #catalog: Catalog | undefined;
  readonly #plans: Plans | undefined;
  readonly #now: () => bigint;
  /** The address that signs receipts: what an app needs to verify them. */
  readonly receiptSigner: Address;

  constructor(params: SellerParameters) {
    // Receipts and vouchers are signed for one deployment; the store view must be that deployment's.
    const { deployment } = params.store;
    if (deployment.chainId !== params.domain.chainId || deployment.contract.toLowerCase() !== params.domain.verifyingContract.toLowerCase()) {
      throw new WrongChainError(`the store view is for chain ${deployment.chainId}, contract ${deployment.contract}, not the seller's domain`, {
        store: deployment,
        domain: params.domain,
      });
    }
    this.#payee = params.payee;
    this.#store = params.store;
    this.#domain = params.domain;
    this.#receiptKey = params.receiptKey;
    this.receiptSigner = addressOfPrivateKey(params.receiptKey).toLowerCase() as Address;
    this.#catalog = params.catalog;
    this.#plans = params.plans;
    this.#now = params.now ?? (() => BigInt(Math.floor(Date.now() / 1000)));
  }

  get domain(): VoucherDomain {
    return this.#domain;
  }

  /**
   * Sells one catalog item for `voucher`. The first sale of `(payer, purchaseId)` charges the item's price;
   * any later one (a retry, a concurrent twin, another process) charges nothing and returns the same
   * receipt. A non-consumable item is sold once per payer whatever the purchase id: its key is the item.
   */
  async purchase(request: PurchaseRequest): Promise<Sale> {
    if (this.#catalog === undefined) throw new InvalidArgumentError("this seller has no catalog");
    const item = this.#catalog.item(request.item);
    // `period:` and `item:` keys are the seller's own (periods, non-consumables): an app id cannot take one.
    if (typeof request.purchaseId !== "string" || !PURCHASE_ID.test(request.purchaseId) || /^(period|item):/.test(request.purchaseId)) {
      throw new InvalidArgumentError("a purchase id is 1 to 128 printable ASCII characters, not starting with period: or item:", { purchaseId: request.purchaseId });
    }
    const config = await this.#config(request.voucher, request.config, this.#catalog.token.address);
    const key = item.kind === "non-consumable" ? `item:${item.id}` : request.purchaseId;
    const fields: ReceiptFields = {
      kind: "purchase",
      key,
      item: item.id,
      payer: config.payer.toLowerCase() as Address,
      channelId: request.voucher.channelId,
      token: this.#catalog.token.address,
      price: item.price,
      cumulativeAmount: request.voucher.amount,
      validFrom: 0n,
      validUntil: 0n,
      issuedAt: this.#now(),
    };
    return this.#sell(request.voucher, config, fields, (stored) => stored.item === item.id && stored.price === item.price);
  }

  /**
   * A purchase whose delivery failed: its charge is voided and its price credited to the channel, so the
   * payer's next voucher on it can be smaller by that much. Returns the channel's credit after it.
   */
  async refund(payer: Address, purchaseId: string): Promise<bigint | undefined> {
    return this.#store.voidCharge(payer, purchaseId);
  }

  /** The price and dates of a payer's next period on `plan`, as {@link renew} would charge them now. */
  async quote(request: QuoteRequest): Promise<PeriodQuote> {
    const plans = this.#requirePlans();
    const periods = periodsOf(await this.#store.receiptsOf(request.payer));
    return plans.quote(periods, request.plan, this.#now());
  }

  /** Pays period `sequence` of a payer on `plan` (see plans.ts for the rule). A retry returns the same receipt. */
  async renew(request: RenewRequest): Promise<Sale> {
    const plans = this.#requirePlans();
    plans.plan(request.plan);
    const config = await this.#config(request.voucher, request.config, plans.token.address);
    const payer = config.payer.toLowerCase() as Address;
    if (!Number.isSafeInteger(request.sequence) || request.sequence < 0) throw new InvalidArgumentError("sequence must be a non-negative integer", { sequence: request.sequence });
    const periods = periodsOf(await this.#store.receiptsOf(payer));
    if (request.sequence < periods.length) {
      const paid = periods[request.sequence]!;
      await this.#authenticate(request.voucher, config);
      if (paid.item !== request.plan) throw new PurchaseIdReusedError(`period ${request.sequence} was paid on plan ${paid.item}`, { sequence: request.sequence });
      return { receipt: paid, replayed: true, credit: await this.#store.credit(paid.channelId) };
    }
    if (request.sequence > periods.length) {
      throw new RenewalRefusedError("PERIOD_MISMATCH", `the next period is ${periods.length}`, { expected: periods.length, sequence: request.sequence });
    }
    const quote = plans.quote(periods, request.plan, this.#now());
    const fields: ReceiptFields = {
      kind: "period",
      key: periodKey(quote.sequence),
      item: quote.plan,
      payer,
      channelId: request.voucher.channelId,
      token: plans.token.address,
      price: quote.price,
      cumulativeAmount: request.voucher.amount,
      validFrom: quote.validFrom,
      validUntil: quote.validUntil,
      issuedAt: this.#now(),
    };
    return this.#sell(request.voucher, config, fields, (stored) => stored.item === request.plan);
  }

  /**
   * The payee's view, ahead of time, of whether a payer's next period on `plan` can be paid from the
   * channel that paid the last one: the reason it cannot (`CHANNEL_CLOSING`, `CHANNEL_NOT_OPEN`,
   * `DEPOSIT_EXHAUSTED`, `PLAN_CHANGED` for a plan no longer offered), or ok with the quote.
   */
  async renewalOutlook(payer: Address, plan: string): Promise<{ ok: true; quote: PeriodQuote } | { ok: false; reason: RenewalBlock; details: Record<string, unknown> }> {
    const plans = this.#requirePlans();
    const periods = periodsOf(await this.#store.receiptsOf(payer));
    let quote: PeriodQuote;
    try {
      quote = plans.quote(periods, plan, this.#now());
    } catch (error) {
      if (error instanceof RenewalRefusedError) return { ok: false, reason: error.reason, details: error.details };
      if (error instanceof UnknownItemError) return { ok: false, reason: "PLAN_CHANGED", details: { plan } };
      throw error;
    }
    const last = periods.at(-1);
    if (last === undefined) return { ok: true, quote };
    const state = await this.#payee.channelState(last.channelId);
    if (state === undefined || state.status === ChannelStatus.Finished || state.status === ChannelStatus.None) {
      return { ok: false, reason: "CHANNEL_NOT_OPEN", details: { channelId: last.channelId } };
    }
    if (state.status === ChannelStatus.Closing) return { ok: false, reason: "CHANNEL_CLOSING", details: { channelId: last.channelId, closesAt: state.closesAt } };
    const best = (await this.#store.bestVoucher(last.channelId))?.amount ?? 0n;
    const credit = await this.#store.credit(last.channelId);
    const needed = quote.price > credit ? quote.price - credit : 1n;
    if (best + needed > state.deposit) return { ok: false, reason: "DEPOSIT_EXHAUSTED", details: { deposit: state.deposit, best, needed } };
    return { ok: true, quote };
  }

  /** The tier a payer may use at `at` (default now): the latest-numbered paid period covering `at` decides. */
  async entitlement(payer: Address, at: bigint = this.#now()): Promise<Entitlement> {
    const plans = this.#requirePlans();
    return entitlementAt(plans, periodsOf(await this.#store.receiptsOf(payer)), at);
  }

  /** Whether a payer may use `tier` at `at`: its entitled tier ranks at or above it. */
  async entitled(payer: Address, tier: string, at: bigint = this.#now()): Promise<boolean> {
    const plans = this.#requirePlans();
    const rank = plans.rank(tier);
    const current = await this.entitlement(payer, at);
    return current.tier !== undefined && plans.rank(current.tier) >= rank;
  }

  /** Throws {@link NotEntitledError} unless {@link entitled}. */
  async requireTier(payer: Address, tier: string, at: bigint = this.#now()): Promise<Entitlement> {
    const current = await this.entitlement(payer, at);
    if (current.tier === undefined || this.#requirePlans().rank(current.tier) < this.#requirePlans().rank(tier)) {
      throw new NotEntitledError(`payer ${payer} is not entitled to ${tier}`, { payer, tier, at, has: current.tier });
    }
    return current;
  }

  /** "Restore purchases": every standing receipt of a payer, from the payee's records, oldest first. */
  restore(payer: Address): Promise<Receipt[]> {
    return this.#store.receiptsOf(payer);
  }

  /**
   * "Restore purchases" for a caller who proves it is the channel's payer by showing the channel's best
   * voucher, which only the payer (who signed it) and this payee hold. Throws {@link NotEntitledError}.
   */
  async restoreWithVoucher(voucher: Voucher): Promise<Receipt[]> {
    const id = typeof voucher?.channelId === "string" ? (voucher.channelId.toLowerCase() as Hex) : undefined;
    const best = id === undefined ? undefined : await this.#store.bestVoucher(id);
    const config = id === undefined ? undefined : await this.#store.channel(id);
    if (best === undefined || config === undefined || best.amount !== voucher.amount || best.signature !== String(voucher.signature).toLowerCase()) {
      throw new NotEntitledError("restore needs the channel's latest voucher", { channelId: voucher?.channelId });
    }
    return this.#store.receiptsOf(config.payer);
  }

  #requirePlans(): Plans {
    if (this.#plans === undefined) throw new InvalidArgumentError("this seller has no plans");
    return this.#plans;
  }

  /** The voucher's channel config, which must be in the token the prices are in: 0.99 USDC is not 990000 wei. */
  async #config(voucher: Voucher, given: ChannelConfig | undefined, token: Address): Promise<ChannelConfig> {
    const config = await this.#configOf(voucher, given);
    if (config.token.toLowerCase() !== token.toLowerCase()) {
      throw new WrongTokenError(`prices are in token ${token}, the channel is in ${config.token}`, { channelId: voucher.channelId, token: config.token, expected: token });
    }
    return config;
  }

  async #configOf(voucher: Voucher, given: ChannelConfig | undefined): Promise<ChannelConfig> {
    if (typeof voucher !== "object" || voucher === null || typeof voucher.channelId !== "string") {
      throw new InvalidArgumentError("a sale needs a voucher", { voucher });
    }
    if (given !== undefined) {
      let id: Hex;
      try {
        id = computeChannelId(given);
      } catch (cause) {
        throw new InvalidArgumentError("config is not a channel config", {}, { cause });
      }
      if (id !== voucher.channelId.toLowerCase()) throw new InvalidArgumentError("config is not the voucher's channel", { channelId: voucher.channelId, configId: id });
      return given;
    }
    const stored = await this.#store.channel(voucher.channelId.toLowerCase() as Hex);
    if (stored === undefined) throw new UnknownChannelError("the payee does not know this channel yet: send its config with the first sale", { channelId: voucher.channelId });
    return stored;
  }

  /**
   * A replay hands out a stored receipt without storing the voucher, so the voucher must still prove that
   * the caller holds the channel's signing key: channel ids are public (the chain logs them), and a receipt
   * identifies its payer to tier-gated routes. An ECDSA signature is checked here; a contract (ERC-1271)
   * signer's voucher is taken only when it is the stored best one.
   */
  async #authenticate(voucher: Voucher, config: ChannelConfig): Promise<void> {
    try {
      verifyVoucher(this.#domain, voucher, config.signer);
    } catch (error) {
      const best = await this.#store.bestVoucher(voucher.channelId.toLowerCase() as Hex);
      if (best !== undefined && best.amount === voucher.amount && best.signature === String(voucher.signature).toLowerCase()) return;
      throw error;
    }
  }

  /** Signs the receipt, then lets the Payee check the voucher and the store commit both, once. */
  async #sell(voucher: Voucher, config: ChannelConfig, fields: ReceiptFields, sameSale: (stored: Receipt) => boolean): Promise<Sale> {
    const replay = async (stored: Receipt): Promise<Sale> => {
      await this.#authenticate(voucher, config);
      if (!sameSale(stored)) throw new PurchaseIdReusedError(`${stored.key} was already sold as ${stored.item} for ${stored.price}`, { key: stored.key });
      return { receipt: stored, replayed: true, credit: await this.#store.credit(stored.channelId) };
    };
    // A retry whose answer was lost: the receipt is there already, and its voucher need not be checked again.
    const existing = await this.#store.charge(fields.payer, fields.key);
    if (existing?.status === "charged") return replay(existing.receipt);

    // One spelling per receipt (lower-case hex), the one the stores return.
    const receipt = signReceipt(
      this.#domain,
      { ...fields, channelId: fields.channelId.toLowerCase() as Hex, token: fields.token.toLowerCase() as Address },
      this.#receiptKey,
    );
    const { outcome, error } = await this.#store.chargeThrough(voucher, receipt, () => this.#payee.accept(voucher, config));
    if (outcome?.status === "charged") return { receipt, replayed: false, credit: outcome.credit };
    if (outcome?.status === "duplicate") return replay(outcome.receipt);
    // The voucher was refused, or is already paying for a twin of this sale in flight: if the twin was
    // charged, this is a retry and gets its receipt.
    if (error === undefined || error instanceof NotIncreasingError) {
      const twin = await this.#store.charge(fields.payer, fields.key);
      if (twin?.status === "charged") return replay(twin.receipt);
    }
    throw error ?? new NotIncreasingError("the voucher is already paying for another sale", { channelId: voucher.channelId });
  }
}

/** The pure rule behind {@link Seller.entitlement}: the highest-numbered period covering `at` decides. */
export function entitlementAt(plans: Plans, periods: readonly Receipt[], at: bigint): Entitlement {
  for (let i = periods.length - 1; i >= 0; i--) {
    const period = periods[i]!;
    if (period.validFrom <= at && at < period.validUntil) {
      const plan = plans.plans().find((p) => p.id === period.item);
      return { tier: plan?.tier, plan: period.item, until: period.validUntil };
    }
  }
  return { tier: undefined, plan: undefined, until: 0n };
}
