// The tier gate as Express middleware: `app.get("/pro", expressTierMiddleware(seller, "pro"), handler)`.
// The payer's entitlement is in `res.locals.entitlement` when the handler runs.
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { refusalOf } from "./refusal.ts";
import type { Seller } from "./seller.ts";
import { checkTier, RECEIPT_HEADER } from "./tier.ts";

export function tierMiddleware(seller: Seller, tier: string): RequestHandler {
  return (request: Request, response: Response, next: NextFunction) => {
    const value = request.headers[RECEIPT_HEADER.toLowerCase()];
    checkTier(seller, tier, Array.isArray(value) ? undefined : value).then(
      (entitlement) => {
        response.locals.entitlement = entitlement;
        next();
      },
      (error: unknown) => {
        const refusal = refusalOf(error);
        if (refusal === undefined) return next(error);
        response.status(refusal.status).json(refusal.body);
      },
    );
  };
}
