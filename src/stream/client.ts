// The payer's side of a metered stream (see `sse.ts` for the protocol), over `fetch` so one implementation
// runs in browsers and in Node and can send `Last-Event-ID` itself when it reconnects.
//
// Safe by default: the client never pays more than `budget` for the stream, whatever the server asks;
// once the budget cannot buy another unit it stops paying and the server ends the stream.
import type { Address, ChannelConfig, Hex } from "../channel.ts";
import { InvalidArgumentError } from "../errors.ts";
import { encodePaymentPayload, PAYMENT_SIGNATURE_HEADER, TRICKLE_SCHEME } from "../http/headers.ts";
import type { Payer } from "../payer.ts";
import { StreamPaymentRefusedError, StreamProtocolError } from "./errors.ts";

/** Signs a voucher raised by `amount` and returns its `PAYMENT-SIGNATURE` value. */
export type StreamPay = (amount: bigint) => Promise<string>;

export interface MeteredStreamClientOptions {
  /** The event stream (`GET`). */
  url: string;
  /** Where payments are posted (`POST`). */
  paymentUrl: string;
  pay: StreamPay;
  /** The most this stream may cost, in the token's smallest unit. */
  budget: bigint;
  /** Called with each unit, in order; a replayed unit is never passed twice. */
  onUnit: (unit: { index: bigint; data: string }) => void;
  /** Called after each accepted payment. */
  onPayment?: (payment: { amount: bigint; paidUnits: bigint; servedUnits: bigint }) => void;
  /** Reconnections allowed after the connection drops without an `end` event. 3 by default. */
  reconnects?: number;
  signal?: AbortSignal;
  fetch?: typeof globalThis.fetch;
}

export interface MeteredStreamResult {
  /** Why the stream ended: the server's `end` reason (`unpaid`, `done`, `closing`), or `aborted` / `disconnected`. */
  reason: string;
  /** Units received. */
  units: bigint;
  /** What the stream cost: the sum of what the payments raised the vouchers by. */
  paid: bigint;
  session: string;
}

interface Terms {
  unitPrice: bigint;
  prepayUnits: bigint;
}

interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/** Splits an SSE byte stream into events (the fields Trickle uses: id, event, data). */
async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffer = "";
  let id: string | undefined;
  let event = "message";
  let data: string[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(buffer[newline] === "\r" && buffer[newline + 1] === "\n" ? newline + 2 : newline + 1);
        if (line === "") {
          if (data.length > 0) yield { id, event, data: data.join("\n") };
          event = "message";
          data = [];
          continue;
        }
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "id") id = value;
        else if (field === "event") event = value;
        else if (field === "data") data.push(value);
      }
    }
  } finally {
    reader.releaseLock();
  }
}

function withSession(url: string, session: string): string {
  const parsed = new URL(url, globalThis.location?.href ?? "http://localhost/");
  parsed.searchParams.set("session", session);
  return parsed.toString();
}

async function json(response: Response): Promise<Record<string, unknown>> {
  try {
    return (await response.json()) as Record<string, unknown>;
  } catch {
    throw new StreamProtocolError(`the stream answered ${response.status} without JSON`, { status: response.status });
  }
}

function bigintField(body: Record<string, unknown>, field: string): bigint {
  const value = body[field];
  if (typeof value !== "string" || !/^[0-9]{1,78}$/.test(value)) throw new StreamProtocolError(`the stream's ${field} is not an integer`, { [field]: value });
  return BigInt(value);
}

/**
 * Reads a metered stream: pays `prepayUnits` ahead, answers every `payment-required` within the budget,
 * reconnects with `Last-Event-ID` when the connection drops, and resolves when the stream ends.
 */
export async function readMeteredStream(options: MeteredStreamClientOptions): Promise<MeteredStreamResult> {
  if (typeof options.budget !== "bigint" || options.budget < 0n) throw new InvalidArgumentError("budget must be a bigint >= 0", { budget: options.budget });
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const signal = options.signal;
  let paid = 0n;
  let units = 0n;
  let session: string | undefined;
  let lastIndex: bigint | undefined;

  // The terms first, from an unpaid POST: the server states its price, the client decides what to pay.
  const offer = await doFetch(options.paymentUrl, { method: "POST", signal });
  const offerBody = await json(offer);
  const termsBody = offerBody.terms as Record<string, unknown> | undefined;
  if (offer.status !== 402 || termsBody === undefined) throw new StreamProtocolError("the stream did not state its terms", { status: offer.status });
  const terms: Terms = { unitPrice: bigintField(termsBody, "unitPrice"), prepayUnits: bigintField(termsBody, "prepayUnits") };
  if (terms.unitPrice <= 0n) throw new StreamProtocolError("the stream's unit price is not positive");

  /** Pays for up to `wanted` units within the budget; false when the budget buys none. */
  async function payFor(wanted: bigint): Promise<boolean> {
    const affordable = (options.budget - paid) / terms.unitPrice;
    const count = wanted < affordable ? wanted : affordable;
    if (count <= 0n) return false;
    const amount = count * terms.unitPrice;
    const header = await options.pay(amount);
    // Counted as soon as the voucher is signed: whatever the server answers, the payer is bound by it.
    paid += amount;
    const response = await doFetch(session === undefined ? options.paymentUrl : withSession(options.paymentUrl, session), {
      method: "POST",
      headers: { [PAYMENT_SIGNATURE_HEADER]: header },
      signal,
    });
    const body = await json(response);
    if (response.status !== 200) {
      throw new StreamPaymentRefusedError(`the stream refused the payment: ${String(body.message ?? body.error)}`, { error: body.error, status: response.status });
    }
    if (typeof body.session !== "string") throw new StreamProtocolError("the stream's answer has no session");
    session = body.session;
    options.onPayment?.({ amount, paidUnits: bigintField(body, "paidUnits"), servedUnits: bigintField(body, "servedUnits") });
    return true;
  }

  if (!(await payFor(terms.prepayUnits))) throw new InvalidArgumentError("the budget does not buy one unit of this stream", { budget: options.budget, unitPrice: terms.unitPrice });
  let reconnectsLeft = options.reconnects ?? 3;
  for (;;) {
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    if (lastIndex !== undefined) headers["Last-Event-ID"] = lastIndex.toString();
    let ended: string | undefined;
    try {
      const response = await doFetch(withSession(options.url, session as string), { headers, signal });
      if (response.status !== 200 || response.body === null) throw new StreamProtocolError(`the stream answered ${response.status}`, { status: response.status });
      for await (const event of sseEvents(response.body)) {
        if (event.event === "unit") {
          if (event.id === undefined || !/^[0-9]{1,30}$/.test(event.id)) throw new StreamProtocolError("a unit without a numeric id");
          const index = BigInt(event.id);
          if (lastIndex !== undefined && index <= lastIndex) continue; // already passed on
          lastIndex = index;
          units++;
          options.onUnit({ index, data: event.data });
        } else if (event.event === "payment-required") {
          const asked = JSON.parse(event.data) as Record<string, unknown>;
          // A refused or unaffordable payment is not fatal here: the server ends the stream when unpaid.
          await payFor(bigintField(asked, "units")).catch((error: unknown) => {
            if (!(error instanceof StreamPaymentRefusedError)) throw error;
          });
        } else if (event.event === "end") {
          ended = String((JSON.parse(event.data) as Record<string, unknown>).reason);
          break;
        }
      }
    } catch (error) {
      if (signal?.aborted) return { reason: "aborted", units, paid, session: session as string };
      // A dropped connection (fetch reports it as a TypeError) is worth a reconnect; anything else is not.
      if (!(error instanceof TypeError)) throw error;
    }
    if (ended !== undefined) return { reason: ended, units, paid, session: session as string };
    if (signal?.aborted) return { reason: "aborted", units, paid, session: session as string };
    if (reconnectsLeft-- <= 0) return { reason: "disconnected", units, paid, session: session as string };
  }
}

/** A channel the payer can pay a stream from. */
export interface StreamChannel {
  channelId: Hex;
  config: ChannelConfig;
  chainId: bigint;
  contract: Address;
}

/**
 * A {@link StreamPay} over a {@link Payer}: each call signs the next cumulative voucher (durable in the
 * payer's store first). The first payment carries the channel's config so the payee need not look it up.
 */
export function payStreamFrom(payer: Payer, channel: StreamChannel): StreamPay {
  let first = true;
  return async (amount) => {
    const voucher = await payer.pay(channel.channelId, amount);
    const header = encodePaymentPayload({
      scheme: TRICKLE_SCHEME,
      chainId: channel.chainId,
      contract: channel.contract,
      channelId: voucher.channelId,
      amount: voucher.amount,
      signature: voucher.signature,
      ...(first ? { config: channel.config } : {}),
    });
    first = false;
    return header;
  };
}
