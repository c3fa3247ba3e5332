// The payment gate as Express middleware. The receipt of a paid request is in
// `res.locals.payment` when the route handler runs.
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { GateRequest, PaymentGate } from "./server.ts";

function gateRequest(request: Request): GateRequest {
  return {
    method: request.method,
    url: request.originalUrl,
    header(name) {
      const value = request.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(",") : value;
    },
  };
}

/** `app.get("/paid", paymentMiddleware(gate), handler)`; also usable with `app.use`. */
export function paymentMiddleware(gate: PaymentGate): RequestHandler {
  return (request: Request, response: Response, next: NextFunction) => {
    gate.check(gateRequest(request)).then((outcome) => {
      if (outcome.kind === "refused") {
        response.status(outcome.status).set(outcome.headers).json(outcome.body);
        return;
      }
      if (outcome.kind === "paid") {
        response.set(outcome.headers);
        response.locals.payment = outcome.receipt;
      }
      next();
    }, next);
  };
}
