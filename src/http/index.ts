// `trickle/http`: pay-per-request HTTP. The server side (a gate and its node:http, Express and Hono
// adapters) and the payer side (a paying fetch) share the header codec.
export * from "./headers.ts";
export * from "./server.ts";
export { withPayment, readBody, sendRefusal, MAX_BODY_BYTES } from "./node.ts";
export type { PaidRequestHandler, NodePaymentOptions } from "./node.ts";
export { paymentMiddleware as expressPaymentMiddleware } from "./express.ts";
export { paymentMiddleware as honoPaymentMiddleware } from "./hono.ts";
export type { PaymentVariables } from "./hono.ts";
export * from "./fetch.ts";
export * from "./fetch-policy.ts";
