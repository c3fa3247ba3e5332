// How a commerce failure is answered over HTTP, shared by the node:http, Express and Hono adapters.
import { TrickleError } from "../errors.ts";
import { RenewalRefusedError } from "./errors.ts";

const STATUS: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  MALFORMED: 400,
  BAD_RECEIPT: 400,
  UNKNOWN_ITEM: 404,
  PURCHASE_ID_REUSED: 409,
  NOT_ENTITLED: 402,
};

/** The status and JSON body a failure is answered with: a Trickle refusal keeps its code (402 for payment problems); anything else is 500. */
export function refusalOf(error: unknown): { status: number; body: Record<string, unknown> } | undefined {
  if (!(error instanceof TrickleError) || error.code === "STORE") return undefined;
  const body: Record<string, unknown> = { error: error.code, message: error.message };
  if (error instanceof RenewalRefusedError) body.reason = error.reason;
  return { status: STATUS[error.code] ?? 402, body };
}

