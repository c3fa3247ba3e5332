// The payment gate for plain `node:http` servers.
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { PaymentReceipt } from "./headers.ts";
import type { GateOutcome, GateRequest, PaymentGate } from "./server.ts";

/** Largest request body a paid route reads by default: requests are small; uploads need their own limit. */
export const MAX_BODY_BYTES = 64 * 1024;

/** A request handler that runs once the payment is durable; `payment` is undefined on free routes. */
export type PaidRequestHandler = (request: IncomingMessage, response: ServerResponse, payment: PaymentReceipt | undefined) => void | Promise<void>;

export interface NodePaymentOptions {
  /** Requests announcing a larger body (Content-Length) get 413 before any payment check. */
  maxBodyBytes?: number;
  /** Called with failures of the server itself (store, chain connection), answered with 500. */
  onError?: (error: unknown) => void;
}

export function gateRequest(request: IncomingMessage): GateRequest {
  return {
    method: request.method ?? "GET",
    url: request.url ?? "/",
    header(name) {
      const value = request.headers[name.toLowerCase()];
      // A repeated payment header is ambiguous: treat it as malformed rather than pick one.
      return Array.isArray(value) ? value.join(",") : value;
    },
  };
}

function sendJson(response: ServerResponse, status: number, headers: Record<string, string>, body: object): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { ...headers, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  response.end(text);
}

/** Writes a refusal (402, 431, 503) to a node response. */
export function sendRefusal(response: ServerResponse, outcome: Extract<GateOutcome, { kind: "refused" }>): void {
  sendJson(response, outcome.status, outcome.headers, outcome.body);
}

/**
 * Wraps `handler` so that priced requests run it only after their payment is durably accepted.
 * Usage: `http.createServer({ maxHeaderSize: 8192 }, withPayment(gate, handler))`.
 */
export function withPayment(gate: PaymentGate, handler: PaidRequestHandler, options: NodePaymentOptions = {}): RequestListener {
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  return (request, response) => {
    const length = Number(request.headers["content-length"] ?? 0);
    if (!Number.isFinite(length) || length > maxBodyBytes) {
      sendJson(response, 413, { Connection: "close" }, { error: "BODY_TOO_LARGE", message: `bodies are limited to ${maxBodyBytes} bytes` });
      request.resume();
      return;
    }
    gate.check(gateRequest(request)).then(
      async (outcome) => {
        if (outcome.kind === "refused") {
          sendRefusal(response, outcome);
          return;
        }
        if (outcome.kind === "paid") {
          for (const [name, value] of Object.entries(outcome.headers)) response.setHeader(name, value);
        }
        await handler(request, response, outcome.kind === "paid" ? outcome.receipt : undefined);
      },
    ).catch((error: unknown) => {
      (options.onError ?? console.error)(error);
      if (!response.headersSent) sendJson(response, 500, {}, { error: "INTERNAL", message: "the server failed" });
      else response.destroy(error instanceof Error ? error : undefined);
    });
  };
}

/**
 * Reads a request body up to `maxBytes`, for handlers behind {@link withPayment} (which already
 * refuses a declared Content-Length above the limit; this also stops chunked bodies).
 */
export async function readBody(request: IncomingMessage, maxBytes = MAX_BODY_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      request.destroy();
      throw new RangeError(`request body longer than ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
