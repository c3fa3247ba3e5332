// `trickle/browser`: a payer in a web page. An injected EIP-1193 wallet signs the channel's transactions;
// a session key in IndexedDB signs every payment, with no prompt, across reloads.
export * from "./wallet.ts";
export * from "./errors.ts";
export { IndexedDbStore } from "../store/browser.ts";
export { readMeteredStream, payStreamFrom } from "../stream/client.ts";
export type { MeteredStreamClientOptions, MeteredStreamResult, StreamChannel, StreamPay } from "../stream/client.ts";
