// `trickle/stream`: metered Server-Sent Events. The server side (`MeteredStream`, for node:http) and the
// payer side (`readMeteredStream`, browser-safe; also at `trickle/stream/client`).
export * from "./meter.ts";
export * from "./sse.ts";
export * from "./client.ts";
export * from "./errors.ts";
