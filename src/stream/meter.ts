// The unit counter of one metered stream, kept apart from any transport so its one rule can be checked
// on its own: a unit is served only when the payments accepted for the stream cover it.
//
// The counter holds no money of its own. `credit` is called with what the Payee reported it accepted
// (`AcceptReceipt.increment`); paid units are that sum divided by the unit price, rounded down. Units are
// numbered from 0; a reconnect replays units already served (they were paid) before serving new ones.
import { InvalidArgumentError } from "../errors.ts";

export interface StreamMeterParameters {
  /** Price of one unit (a second, a token, a chunk) in the channel token's smallest unit; > 0. */
  unitPrice: bigint;
  /**
   * The stream asks for the next payment when this many paid units or fewer are left unserved, so the
   * payer's answer arrives before the stream has to pause. 0 asks only when nothing is left.
   */
  askAhead: bigint;
}

export class StreamMeter {
  readonly unitPrice: bigint;
  readonly askAhead: bigint;
  /** Sum of the increments the Payee accepted for this stream. */
  #credited = 0n;
  /** Units handed to the transport at least once: every unit below this index is paid and served. */
  #served = 0n;
  /** The next unit to send on the current connection (below `#served` while replaying). */
  #cursor = 0n;
  /** The paid total at which a payment was last asked for, so one shortfall asks once. */
  #askedAt: bigint | undefined;

  constructor(params: StreamMeterParameters) {
    if (typeof params.unitPrice !== "bigint" || params.unitPrice <= 0n) {
      throw new InvalidArgumentError("unitPrice must be a positive bigint", { unitPrice: params.unitPrice });
    }
    if (typeof params.askAhead !== "bigint" || params.askAhead < 0n) {
      throw new InvalidArgumentError("askAhead must be a bigint >= 0", { askAhead: params.askAhead });
    }
    this.unitPrice = params.unitPrice;
    this.askAhead = params.askAhead;
  }

  /** Units the accepted payments cover. */
  get paidUnits(): bigint {
    return this.#credited / this.unitPrice;
  }

  /** Units served (and so charged) so far; never above {@link paidUnits}. */
  get servedUnits(): bigint {
    return this.#served;
  }

  /** The unit {@link take} would send next. */
  get nextUnit(): bigint {
    return this.#cursor;
  }

  /** Sum of accepted increments, in the token's smallest unit. */
  get credited(): bigint {
    return this.#credited;
  }

  /** Adds what the Payee accepted for this stream. */
  credit(increment: bigint): void {
    if (typeof increment !== "bigint" || increment < 0n) throw new InvalidArgumentError("increment must be a bigint >= 0", { increment });
    this.#credited += increment;
  }

  /**
   * A new connection. `lastEventId` is the last unit the client received (the SSE `Last-Event-ID`), or
   * undefined for a fresh start; the stream resumes after it. Ids the stream never served, or that are
   * not unit numbers, resume at the first unit not served.
   */
  resume(lastEventId: string | undefined): void {
    let next = this.#served;
    if (lastEventId !== undefined && /^(0|[1-9][0-9]{0,30})$/.test(lastEventId)) {
      const after = BigInt(lastEventId) + 1n;
      if (after < next) next = after;
    }
    this.#cursor = next;
    this.#askedAt = undefined;
  }

  /** True when {@link take} would return a unit (a replay, or a paid unit not served yet). */
  canTake(): boolean {
    return this.#cursor < this.#served || this.#served < this.paidUnits;
  }

  /**
   * The next unit to send, or undefined when it is not paid for. A replayed unit (already served) is
   * free; a new one moves the served count up by one.
   */
  take(): bigint | undefined {
    const unit = this.#cursor;
    if (unit < this.#served) {
      this.#cursor++;
      return unit;
    }
    if (this.#served >= this.paidUnits) return undefined;
    this.#served++;
    this.#cursor++;
    return unit;
  }

  /** True once per shortfall: paid units not yet served are at or below `askAhead`. */
  shouldAsk(): boolean {
    const left = this.paidUnits - this.#served;
    if (left > this.askAhead) return false;
    if (this.#askedAt === this.paidUnits) return false;
    this.#askedAt = this.paidUnits;
    return true;
  }
}
