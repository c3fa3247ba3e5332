// What a payee accepts. One object, built by the Payee and read by every transport in front of it (the
// HTTP gate asks `payee.policy`), so the gate and the Payee cannot answer the same voucher differently.
import { ETH, type Address, type ChannelConfig, type Hex } from "./channel.ts";
import { CloseDelayTooShortError, InvalidArgumentError, WrongPayeeError, WrongTokenError } from "./errors.ts";

export interface PayeePolicy {
  /**
   * Shortest `closeDelay` accepted, in seconds: the time the payee has to claim after a close request.
   * Default 3600. It cannot be below {@link minSafeCloseDelay} of the Payee's sync interval: the Payee's
   * view of a channel may be that old, and a voucher it accepts must still be claimable when it learns
   * of the close.
   */
  minCloseDelay?: bigint;
  /** Tokens accepted (`ETH`, the zero address, for ETH). Default: ETH only; list an ERC-20 to take it. */
  tokens?: Address[];
  /**
   * ERC-1271 (contract) signers accepted, by the keccak-256 hash of their runtime code. None by default:
   * a contract signer's `isValidSignature` can approve a voucher while the payee checks it and refuse it
   * once the payee claims, so the service would have been free. Listing a code hash trusts that
   * implementation not to do this; a proxy's code hash says nothing about the logic behind it.
   */
  contractSignerCodeHashes?: Hex[];
  /**
   * Prepaid credit: a channel's best voucher, presented again with the next one-time token of the hash
   * chain its first presentation bound (src/store/prepaid.ts), pays for another request from the credit
   * it left (best amount - what was served), so a payer may sign one voucher for its next k requests and
   * the payee checks its signature once and a keccak256 per request. Off by default (every voucher
   * amount buys one request). The 402s of an HTTP gate say so (`prepaid: true`); what a server that
   * serves nothing holds grows to the credit, which the payer bounds (docs/http.md, "Prepaid credit").
   */
  prepaidCredit?: boolean;
}

/** Seconds a payee keeps for getting a claim mined once it has seen a close request. */
export const CLAIM_MARGIN_SECONDS = 60n;

/** The shortest `closeDelay` a payee syncing every `syncIntervalMs` can guarantee to claim within. */
export function minSafeCloseDelay(syncIntervalMs: number): bigint {
  return BigInt(Math.ceil(syncIntervalMs / 1000)) + CLAIM_MARGIN_SECONDS;
}

function lower(value: string): string {
  return value.toLowerCase();
}

/** A payee's policy, defaults filled in and checked. Read-only. */
export class AcceptancePolicy {
  readonly payee: Address;
  readonly minCloseDelay: bigint;
  /** Accepted tokens, lower-cased; the first is the one a 402 asks for by default. */
  readonly tokens: readonly Address[];
  readonly contractSignerCodeHashes: ReadonlySet<string>;
  /** Whether the channel's best voucher, presented again with an unspent token, pays from the credit it left. */
  readonly prepaidCredit: boolean;
  readonly #tokens: ReadonlySet<string>;

  constructor(payee: Address, options: PayeePolicy, syncIntervalMs: number) {
    this.payee = lower(payee) as Address;
    const floor = minSafeCloseDelay(syncIntervalMs);
    this.minCloseDelay = options.minCloseDelay ?? 3600n;
    if (typeof this.minCloseDelay !== "bigint" || this.minCloseDelay < floor) {
      throw new InvalidArgumentError(
        `minCloseDelay must be at least ${floor}s with a sync interval of ${syncIntervalMs}ms: a voucher accepted on a view that old must still be claimable`,
        { minCloseDelay: options.minCloseDelay, syncIntervalMs, floor },
      );
    }
    const tokens = options.tokens ?? [ETH];
    if (tokens.length === 0 || !tokens.every((t) => typeof t === "string" && /^0x[0-9a-fA-F]{40}$/.test(t))) {
      throw new InvalidArgumentError("tokens must be a non-empty list of addresses", { tokens });
    }
    this.tokens = tokens.map((t) => lower(t) as Address);
    this.#tokens = new Set(this.tokens);
    const hashes = options.contractSignerCodeHashes ?? [];
    if (!hashes.every((h) => typeof h === "string" && /^0x[0-9a-fA-F]{64}$/.test(h))) {
      throw new InvalidArgumentError("contractSignerCodeHashes must be 32-byte hashes", { contractSignerCodeHashes: hashes });
    }
    this.contractSignerCodeHashes = new Set(hashes.map(lower));
    if (options.prepaidCredit !== undefined && typeof options.prepaidCredit !== "boolean") {
      throw new InvalidArgumentError("prepaidCredit must be a boolean", { prepaidCredit: options.prepaidCredit });
    }
    this.prepaidCredit = options.prepaidCredit === true;
  }

  /** How old the payee's view of a channel may be, in ms, for a voucher accepted on it to stay claimable. */
  get maxStalenessMs(): number {
    return Number(this.minCloseDelay - CLAIM_MARGIN_SECONDS) * 1000;
  }

  acceptsToken(token: Address): boolean {
    return this.#tokens.has(lower(token));
  }

  acceptsContractSigner(codeHash: Hex | undefined): boolean {
    return codeHash !== undefined && this.contractSignerCodeHashes.has(lower(codeHash));
  }

  /** Refuses a channel whose payee, token or close delay the policy does not take. Needs no chain call. */
  checkConfig(id: Hex, config: ChannelConfig): void {
    if (lower(config.payee) !== this.payee) throw new WrongPayeeError(`the channel pays ${config.payee}`, { channelId: id, payee: config.payee });
    if (!this.acceptsToken(config.token)) {
      throw new WrongTokenError(`this payee does not take token ${config.token}`, { channelId: id, token: config.token, tokens: this.tokens });
    }
    if (config.closeDelay < this.minCloseDelay) {
      throw new CloseDelayTooShortError(`the channel's closeDelay ${config.closeDelay}s is below ${this.minCloseDelay}s`, {
        channelId: id,
        closeDelay: config.closeDelay,
        minCloseDelay: this.minCloseDelay,
      });
    }
  }
}
