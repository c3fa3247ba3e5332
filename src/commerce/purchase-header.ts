// The TRICKLE-PURCHASE request header: base64url of the purchase body's JSON. Browser-safe.
import { purchaseToJson, type PurchaseBody } from "./wire.ts";

export function encodePurchaseHeader(body: PurchaseBody): string {
  const bytes = new TextEncoder().encode(JSON.stringify(purchaseToJson(body)));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
