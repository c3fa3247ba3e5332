// The JSON bodies of the commerce HTTP API, both ways. Amounts and times travel as decimal strings (JSON
// numbers lose precision above 2^53). Decoding is strict and throws MalformedVoucherError or
// BadReceiptError: every byte comes from the other side of a socket. No Node built-ins (payers import it).
import type { Address, ChannelConfig, Hex } from "../channel.ts";
import { MAX_CLOSE_DELAY } from "../channel.ts";
import { MalformedVoucherError } from "../errors.ts";
import type { Voucher } from "../voucher.ts";
import type { PeriodQuote } from "./plans.ts";
import { receiptFromJson, receiptToJson, type Receipt, type ReceiptJson } from "./receipt.ts";

const DECIMAL = /^(0|[1-9][0-9]{0,77})$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;

function malformed(field: string): MalformedVoucherError {
  return new MalformedVoucherError(`request field ${field} is missing or malformed`, { field });
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw malformed(field);
  return value as Record<string, unknown>;
}

function text(o: Record<string, unknown>, key: string, max = 128): string {
  const value = o[key];
  if (typeof value !== "string" || value.length === 0 || value.length > max) throw malformed(key);
  return value;
}

function hex(o: Record<string, unknown>, key: string, pattern: RegExp): Hex {
  const value = o[key];
  if (typeof value !== "string" || !pattern.test(value)) throw malformed(key);
  return value as Hex;
}

function uint(o: Record<string, unknown>, key: string, max?: bigint): bigint {
  const value = o[key];
  if (typeof value !== "string" || !DECIMAL.test(value)) throw malformed(key);
  const parsed = BigInt(value);
  if (max !== undefined && parsed > max) throw malformed(key);
  return parsed;
}

export function voucherToJson(voucher: Voucher): { channelId: Hex; amount: string; signature: Hex } {
  return { channelId: voucher.channelId, amount: voucher.amount.toString(), signature: voucher.signature };
}

export function voucherFromJson(value: unknown): Voucher {
  const o = object(value, "voucher");
  return { channelId: hex(o, "channelId", BYTES32), amount: uint(o, "amount"), signature: hex(o, "signature", SIGNATURE) };
}

export function configToJson(config: ChannelConfig): Record<string, string> {
  return { ...config, closeDelay: config.closeDelay.toString() };
}

export function configFromJson(value: unknown): ChannelConfig {
  const o = object(value, "config");
  return {
    payer: hex(o, "payer", ADDRESS) as Address,
    payee: hex(o, "payee", ADDRESS) as Address,
    token: hex(o, "token", ADDRESS) as Address,
    signer: hex(o, "signer", ADDRESS) as Address,
    closeDelay: uint(o, "closeDelay", MAX_CLOSE_DELAY),
    salt: hex(o, "salt", BYTES32),
  };
}

export interface PurchaseBody {
  voucher: Voucher;
  config?: ChannelConfig;
  item: string;
  purchaseId: string;
}

export function purchaseToJson(body: PurchaseBody): Record<string, unknown> {
  return { voucher: voucherToJson(body.voucher), config: body.config && configToJson(body.config), item: body.item, purchaseId: body.purchaseId };
}

export function purchaseFromJson(value: unknown): PurchaseBody {
  const o = object(value, "body");
  return {
    voucher: voucherFromJson(o.voucher),
    config: o.config === undefined ? undefined : configFromJson(o.config),
    item: text(o, "item", 64),
    purchaseId: text(o, "purchaseId"),
  };
}

export interface RenewBody {
  voucher: Voucher;
  config?: ChannelConfig;
  plan: string;
  sequence: number;
}

export function renewToJson(body: RenewBody): Record<string, unknown> {
  return { voucher: voucherToJson(body.voucher), config: body.config && configToJson(body.config), plan: body.plan, sequence: body.sequence };
}

export function renewFromJson(value: unknown): RenewBody {
  const o = object(value, "body");
  if (!Number.isSafeInteger(o.sequence) || (o.sequence as number) < 0) throw malformed("sequence");
  return {
    voucher: voucherFromJson(o.voucher),
    config: o.config === undefined ? undefined : configFromJson(o.config),
    plan: text(o, "plan", 64),
    sequence: o.sequence as number,
  };
}

export function quoteFromJsonRequest(value: unknown): { payer: Address; plan: string } {
  const o = object(value, "body");
  return { payer: hex(o, "payer", ADDRESS) as Address, plan: text(o, "plan", 64) };
}

export interface SaleJson {
  receipt: ReceiptJson;
  replayed: boolean;
  credit: string;
}

export function saleToJson(sale: { receipt: Receipt; replayed: boolean; credit: bigint }): SaleJson {
  return { receipt: receiptToJson(sale.receipt), replayed: sale.replayed, credit: sale.credit.toString() };
}

export function saleFromJson(value: unknown): { receipt: Receipt; replayed: boolean; credit: bigint } {
  const o = object(value, "sale");
  if (typeof o.replayed !== "boolean") throw malformed("replayed");
  return { receipt: receiptFromJson(o.receipt), replayed: o.replayed, credit: uint(o, "credit") };
}

export function quoteToJson(quote: PeriodQuote): Record<string, unknown> {
  return { ...quote, validFrom: quote.validFrom.toString(), validUntil: quote.validUntil.toString(), price: quote.price.toString() };
}

export function quoteFromJson(value: unknown): PeriodQuote {
  const o = object(value, "quote");
  const change = o.change;
  if (change !== "new" && change !== "renewal" && change !== "upgrade" && change !== "downgrade" && change !== "trial") throw malformed("change");
  if (!Number.isSafeInteger(o.sequence)) throw malformed("sequence");
  return { plan: text(o, "plan", 64), sequence: o.sequence as number, validFrom: uint(o, "validFrom"), validUntil: uint(o, "validUntil"), price: uint(o, "price"), change };
}

/** A receipt in an HTTP header: base64url of its JSON (no Buffer, so browsers can send it too). */
export function encodeReceiptHeader(receipt: Receipt): string {
  const bytes = new TextEncoder().encode(JSON.stringify(receiptToJson(receipt)));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Inverse of {@link encodeReceiptHeader}; throws BadReceiptError or MalformedVoucherError. */
export function decodeReceiptHeader(value: string): Receipt {
  if (typeof value !== "string" || value.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(value)) throw malformed("receipt header");
  let json: unknown;
  try {
    const binary = atob(value.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw malformed("receipt header");
  }
  return receiptFromJson(json);
}
