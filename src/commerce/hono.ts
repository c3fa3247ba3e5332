// The tier gate as Hono middleware: `app.get("/pro", honoTierMiddleware(seller, "pro"), (c) => ...)`.
// The payer's entitlement is `c.get("entitlement")` when the handler runs.
import type { MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Address } from "../channel.ts";
import { refusalOf } from "./refusal.ts";
import type { Entitlement, Seller } from "./seller.ts";
import { checkTier, RECEIPT_HEADER } from "./tier.ts";

export interface TierVariables {
  entitlement: Entitlement & { payer: Address };
}

export function tierMiddleware(seller: Seller, tier: string): MiddlewareHandler<{ Variables: TierVariables }> {
  return async (c, next) => {
    try {
      c.set("entitlement", await checkTier(seller, tier, c.req.header(RECEIPT_HEADER)));
    } catch (error) {
      const refusal = refusalOf(error);
      if (refusal === undefined) throw error;
      return c.json(refusal.body, refusal.status as ContentfulStatusCode);
    }
    await next();
  };
}
