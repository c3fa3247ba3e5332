// Metered Server-Sent Events for `node:http`: a stream of units (seconds of a live feed, tokens of
// generated text, chunks of a file) served only as far as the payer has paid.
//
// Protocol (docs/streams.md):
// - `POST <payment path>` with a `PAYMENT-SIGNATURE` header (the HTTP payment payload) pays for units.
//   Without `?session=` it starts a session; the JSON answer carries the session id, paid and served
//   units. Without a payment header it answers 402 with the stream's terms (unit price, units to prepay).
// - `GET <stream path>?session=<id>` is the event stream. Each unit is `id: <n>`, `event: unit`. When
//   `askAhead` paid units or fewer are left, the server sends `event: payment-required` with the units
//   it wants next; the client answers with a POST. When nothing paid is left and no payment arrives
//   within `graceMs`, it sends `event: end` (`reason: "unpaid"`) and closes. A reconnect carrying
//   `Last-Event-ID` replays the units after it that were already served, free, then goes on.
//
// Every payment goes through `Payee.accept`, the one owner of acceptance and of the ledger; the stream
// keeps only its unit counter, which is the accepted increments divided by the unit price.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Address, Hex } from "../channel.ts";
import { TrickleError } from "../errors.ts";
import { decodePaymentPayload, PAYMENT_SIGNATURE_HEADER } from "../http/headers.ts";
import type { Payee } from "../payee.ts";
import { StreamMeter } from "./meter.ts";

export interface MeteredStreamOptions {
  payee: Payee;
  chainId: bigint;
  /** The `PaymentChannels` contract. */
  contract: Address;
  /** The payee address channels must name. */
  payTo: Address;
  /** The channel token; ETH by default. */
  token?: Address;
  /** Price of one unit in the token's smallest unit. */
  unitPrice: bigint;
  /** Time between two new units, ms: 1000 meters per second; 0 serves as fast as paid (tokens, chunks). */
  unitMs: number;
  /** Units a client pays ahead, and asked for at each payment-required. 10 by default. */
  prepayUnits?: bigint;
  /** The next payment is asked for when this many paid units or fewer are left. Half of `prepayUnits` by default. */
  askAhead?: bigint;
  /** How long a stream that ran out of paid units waits for a payment before it ends, ms. `max(2 × unitMs, 2000)` by default. */
  graceMs?: number;
  /** The content of unit `index` (one line or many); `undefined` ends the stream. */
  unit: (index: bigint) => string | undefined | Promise<string | undefined>;
  /** Most sessions kept at once; a new one beyond it is refused with 503. 10,000 by default. */
  maxSessions?: number;
  /** A session without a connection or a payment for this long is forgotten, ms. 10 minutes by default. */
  sessionIdleMs?: number;
}

/** What the stream reports about one session. */
export interface StreamSessionInfo {
  session: string;
  channelId: Hex;
  paidUnits: bigint;
  servedUnits: bigint;
  /** Sum of the increments the Payee accepted for this session. */
  credited: bigint;
  connected: boolean;
}

interface Connection {
  response: ServerResponse;
  closed: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  pumping: boolean;
}

interface Session {
  id: string;
  channelId: Hex;
  meter: StreamMeter;
  connection: Connection | undefined;
  touchedAt: number;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_, value) => (typeof value === "bigint" ? value.toString() : value));
  response.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" });
  response.end(text);
}

function randomSessionId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** One SSE event; multi-line data becomes several `data:` lines, as the format requires. */
export function sseEvent(event: string, data: string, id?: bigint): string {
  const lines = data.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`).join("");
  return `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\n${lines}\n`;
}

export class MeteredStream {
  readonly #options: Required<Omit<MeteredStreamOptions, "token">> & { token: Address | undefined };
  readonly #sessions = new Map<string, Session>();
  #closed = false;

  constructor(options: MeteredStreamOptions) {
    const prepayUnits = options.prepayUnits ?? 10n;
    if (typeof prepayUnits !== "bigint" || prepayUnits <= 0n) throw new TypeError("prepayUnits must be a positive bigint");
    if (!Number.isFinite(options.unitMs) || options.unitMs < 0) throw new TypeError("unitMs must be a number >= 0");
    this.#options = {
      prepayUnits,
      askAhead: prepayUnits / 2n,
      graceMs: Math.max(2 * options.unitMs, 2000),
      maxSessions: 10_000,
      sessionIdleMs: 10 * 60_000,
      ...options,
      token: options.token,
    };
    // Constructing a meter checks unitPrice and askAhead before any request arrives.
    new StreamMeter({ unitPrice: this.#options.unitPrice, askAhead: this.#options.askAhead });
  }

  /** The terms a client reads before paying. */
  terms(): Record<string, string> {
    const o = this.#options;
    return {
      chainId: o.chainId.toString(),
      contract: o.contract,
      payTo: o.payTo,
      ...(o.token === undefined ? {} : { token: o.token }),
      unitPrice: o.unitPrice.toString(),
      unitMs: String(o.unitMs),
      prepayUnits: o.prepayUnits.toString(),
    };
  }

  sessions(): StreamSessionInfo[] {
    return [...this.#sessions.values()].map((s) => ({
      session: s.id,
      channelId: s.channelId,
      paidUnits: s.meter.paidUnits,
      servedUnits: s.meter.servedUnits,
      credited: s.meter.credited,
      connected: s.connection !== undefined,
    }));
  }

  /** `POST`: pays for units of a session (starting one when `?session=` is absent). */
  async handlePayment(request: IncomingMessage, response: ServerResponse): Promise<void> {
    request.resume(); // the payment is in the header; a body is ignored
    if (this.#closed) return sendJson(response, 503, { error: "CLOSED", message: "the stream is shutting down" });
    this.#sweep();
    const header = request.headers[PAYMENT_SIGNATURE_HEADER.toLowerCase()];
    if (header === undefined) {
      return sendJson(response, 402, { error: "PAYMENT_REQUIRED", message: "pay with a PAYMENT-SIGNATURE header", terms: this.terms() });
    }
    const sessionId = new URL(request.url ?? "/", "http://stream").searchParams.get("session");
    let session: Session | undefined;
    if (sessionId !== null) {
      session = this.#sessions.get(sessionId);
      if (session === undefined) return sendJson(response, 404, { error: "UNKNOWN_SESSION", message: "no such stream session" });
    } else if (this.#sessions.size >= this.#options.maxSessions) {
      return sendJson(response, 503, { error: "BUSY", message: "too many stream sessions" });
    }
    let receipt;
    try {
      if (Array.isArray(header)) throw new MalformedHeader();
      const payload = decodePaymentPayload(header);
      if (session !== undefined && payload.channelId.toLowerCase() !== session.channelId) {
        return sendJson(response, 402, { error: "WRONG_CHANNEL", message: "this session is paid from another channel" });
      }
      receipt = await this.#options.payee.accept(
        { channelId: payload.channelId, amount: payload.amount, signature: payload.signature, chainId: payload.chainId, contract: payload.contract },
        payload.config,
      );
    } catch (error) {
      if (error instanceof TrickleError) return sendJson(response, 402, { error: error.code, message: error.message, terms: this.terms() });
      if (error instanceof MalformedHeader) return sendJson(response, 402, { error: "MALFORMED", message: "one PAYMENT-SIGNATURE header" });
      throw error;
    }
    if (session === undefined) {
      // A session exists only once a payment for it was accepted: unpaid requests cost no memory.
      session = {
        id: randomSessionId(),
        channelId: receipt.channelId.toLowerCase() as Hex,
        meter: new StreamMeter({ unitPrice: this.#options.unitPrice, askAhead: this.#options.askAhead }),
        connection: undefined,
        touchedAt: Date.now(),
      };
      this.#sessions.set(session.id, session);
    }
    session.meter.credit(receipt.increment);
    session.touchedAt = Date.now();
    const connection = session.connection;
    if (connection !== undefined && connection.timer !== undefined && !connection.pumping) {
      // The stream was waiting for this payment: go on now.
      clearTimeout(connection.timer);
      connection.timer = undefined;
      void this.#pump(session, connection);
    }
    sendJson(response, 200, {
      session: session.id,
      channelId: session.channelId,
      increment: receipt.increment,
      paidUnits: session.meter.paidUnits,
      servedUnits: session.meter.servedUnits,
    });
  }

  /** `GET`: the event stream of a session. */
  handleStream(request: IncomingMessage, response: ServerResponse): void {
    if (this.#closed) return sendJson(response, 503, { error: "CLOSED", message: "the stream is shutting down" });
    const sessionId = new URL(request.url ?? "/", "http://stream").searchParams.get("session");
    const session = sessionId === null ? undefined : this.#sessions.get(sessionId);
    if (session === undefined) {
      return sendJson(response, 402, { error: "PAYMENT_REQUIRED", message: "pay first: POST a payment to start a session", terms: this.terms() });
    }
    if (session.connection !== undefined) this.#disconnect(session.connection); // one reader per session
    const lastEventId = request.headers["last-event-id"];
    session.meter.resume(typeof lastEventId === "string" ? lastEventId : undefined);
    response.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-store", Connection: "keep-alive", "X-Accel-Buffering": "no" });
    const connection: Connection = { response, closed: false, timer: undefined, pumping: false };
    session.connection = connection;
    session.touchedAt = Date.now();
    response.on("close", () => {
      connection.closed = true;
      if (connection.timer !== undefined) clearTimeout(connection.timer);
      if (session.connection === connection) session.connection = undefined;
      session.touchedAt = Date.now();
    });
    response.write(`retry: 1000\n${sseEvent("session", JSON.stringify({ session: session.id, paidUnits: session.meter.paidUnits.toString(), servedUnits: session.meter.servedUnits.toString() }))}`);
    void this.#pump(session, connection);
  }

  /** Ends every connection and forgets every session. */
  close(): void {
    this.#closed = true;
    for (const session of this.#sessions.values()) {
      if (session.connection !== undefined) this.#end(session, session.connection, "closing");
    }
    this.#sessions.clear();
  }

  async #pump(session: Session, connection: Connection): Promise<void> {
    if (connection.pumping || connection.closed) return;
    connection.pumping = true;
    try {
      const meter = session.meter;
      // Replayed units go out at once; only new units wait for `unitMs`.
      for (;;) {
        if (connection.closed) return;
        if (meter.shouldAsk()) this.#askForPayment(session, connection);
        const replaying = meter.nextUnit < meter.servedUnits;
        if (!meter.canTake()) {
          connection.timer = setTimeout(() => {
            connection.timer = undefined;
            this.#end(session, connection, "unpaid");
          }, this.#options.graceMs);
          return;
        }
        // The content first, so a unit the source does not have is never counted as served.
        const content = await this.#options.unit(meter.nextUnit);
        if (connection.closed) return;
        if (content === undefined) {
          this.#end(session, connection, "done");
          return;
        }
        const index = meter.take();
        if (index === undefined) continue; // not reached: only the session's current connection takes units
        connection.response.write(sseEvent("unit", content, index));
        if (!replaying && this.#options.unitMs > 0) {
          connection.timer = setTimeout(() => {
            connection.timer = undefined;
            void this.#pump(session, connection);
          }, this.#options.unitMs);
          return;
        }
        if (!replaying) await new Promise((resolve) => setImmediate(resolve)); // let other streams and payments in
      }
    } finally {
      connection.pumping = false;
    }
  }

  #askForPayment(session: Session, connection: Connection): void {
    const o = this.#options;
    const data = {
      session: session.id,
      units: o.prepayUnits.toString(),
      unitPrice: o.unitPrice.toString(),
      amount: (o.prepayUnits * o.unitPrice).toString(),
      paidUnits: session.meter.paidUnits.toString(),
      servedUnits: session.meter.servedUnits.toString(),
    };
    connection.response.write(sseEvent("payment-required", JSON.stringify(data)));
  }

  #end(session: Session, connection: Connection, reason: "unpaid" | "done" | "closing"): void {
    if (connection.closed) return;
    const data = { reason, paidUnits: session.meter.paidUnits.toString(), servedUnits: session.meter.servedUnits.toString() };
    connection.response.end(sseEvent("end", JSON.stringify(data)));
    this.#disconnect(connection);
  }

  #disconnect(connection: Connection): void {
    connection.closed = true;
    if (connection.timer !== undefined) clearTimeout(connection.timer);
    connection.timer = undefined;
    if (!connection.response.writableEnded) connection.response.end();
  }

  /** Forgets sessions idle for longer than `sessionIdleMs` (a payer that left). */
  #sweep(): void {
    const cutoff = Date.now() - this.#options.sessionIdleMs;
    for (const [id, session] of this.#sessions) {
      if (session.connection === undefined && session.touchedAt < cutoff) this.#sessions.delete(id);
    }
  }
}

class MalformedHeader extends Error {}
