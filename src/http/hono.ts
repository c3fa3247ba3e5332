// The payment gate as Hono middleware. The receipt of a paid request is `c.get("payment")` when
// the route handler runs.
import type { Context, MiddlewareHandler } from "hono";
import type { PaymentReceipt } from "./headers.ts";
import type { GateRequest, PaymentGate } from "./server.ts";

/** Context variables the middleware sets. */
export interface PaymentVariables {
  payment: PaymentReceipt | undefined;
}

function gateRequest(c: Context): GateRequest {
  const url = new URL(c.req.url);
  return {
    method: c.req.method,
    url: url.pathname + url.search,
    header: (name) => c.req.header(name),
  };
}

/** `app.get("/paid", paymentMiddleware(gate), (c) => ...)`. */
export function paymentMiddleware(gate: PaymentGate): MiddlewareHandler<{ Variables: PaymentVariables }> {
  return async (c, next) => {
    const outcome = await gate.check(gateRequest(c));
    if (outcome.kind === "refused") {
      return c.json(outcome.body, outcome.status, outcome.headers);
    }
    if (outcome.kind === "paid") {
      c.set("payment", outcome.receipt);
      await next();
      for (const [name, value] of Object.entries(outcome.headers)) c.header(name, value);
      return;
    }
    c.set("payment", undefined);
    await next();
  };
}
