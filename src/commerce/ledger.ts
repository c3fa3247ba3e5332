/**
 * The payee's ledger for a date range, for accounting and transparency: every receipt (and voided sale),
 * the voucher that paid each one, and the on-chain claims, closes and withdrawals of the payee's channels.
 * As JSON (amounts as decimal strings) or CSV (one row per entry, cells that a spreadsheet would run as a
 * formula are quoted with a leading apostrophe).
 */
import type { Address, Hex } from "../channel.ts";
import type { ChainReader } from "../chain/adapter.ts";
import type { CommerceStore } from "./store.ts";

export type LedgerEntryType = "receipt" | "voided" | "voucher" | "claim" | "close" | "withdraw";

export interface LedgerEntry {
  /** Unix seconds: when the sale was made, or the block's timestamp. */
  time: bigint;
  type: LedgerEntryType;
  channelId: Hex;
  /** For sales: the payer, the item or plan, the key; empty for chain entries. */
  payer: string;
  item: string;
  key: string;
  /** Token base units: a sale's price, a voucher's cumulative amount, a claim's or close's cumulative claimed amount, a withdrawal's refund. */
  amount: bigint;
  token: string;
  /** The receipt or voucher signature, or the block number of a chain entry. */
  reference: string;
}

/** A chain event with the time of its block, as {@link ledgerEventsFromChain} reads them. */
export interface TimedChainEntry {
  time: bigint;
  type: "claim" | "close" | "withdraw";
  channelId: Hex;
  amount: bigint;
  blockNumber: bigint;
}

/** The store's side of the ledger in `[from, to)`: receipts, voided sales, and the vouchers that paid them. */
export async function ledgerFromStore(store: CommerceStore, from: bigint, to: bigint): Promise<LedgerEntry[]> {
  const entries: LedgerEntry[] = [];
  for (const { receipt: r, status } of await store.chargesBetween(from, to)) {
    const sale = { time: r.issuedAt, channelId: r.channelId, payer: r.payer, item: r.item, key: r.key, token: r.token };
    entries.push({ ...sale, type: status === "charged" ? "receipt" : "voided", amount: r.price, reference: r.signature });
    entries.push({ ...sale, type: "voucher", amount: r.cumulativeAmount, reference: `cumulative of ${r.key}` });
  }
  return entries;
}

/**
 * Claims, closes and withdrawals of the channels this payee knows, in blocks `[fromBlock, toBlock]`, each
 * with its block's time (`blockTime`, e.g. from viem's `getBlock`). Chain entries carry no payer or item:
 * the chain sees channels and totals, never what was bought.
 */
export async function ledgerEventsFromChain(
  store: CommerceStore,
  chain: ChainReader,
  fromBlock: bigint,
  toBlock: bigint,
  blockTime: (blockNumber: bigint) => Promise<bigint>,
): Promise<TimedChainEntry[]> {
  const out: TimedChainEntry[] = [];
  const times = new Map<bigint, bigint>();
  for (const event of await chain.events(fromBlock, toBlock)) {
    if (event.type !== "claimed" && event.type !== "closed" && event.type !== "withdrawn") continue;
    if ((await store.channel(event.channelId)) === undefined) continue;
    let time = times.get(event.blockNumber);
    if (time === undefined) times.set(event.blockNumber, (time = await blockTime(event.blockNumber)));
    const amount = event.type === "claimed" ? event.claimed : event.type === "closed" ? event.claimed : event.refund;
    out.push({ time, type: event.type === "claimed" ? "claim" : event.type === "closed" ? "close" : "withdraw", channelId: event.channelId, amount, blockNumber: event.blockNumber });
  }
  return out;
}

/** The whole ledger in `[from, to)`, oldest first: the store's entries and the chain's, merged. */
export async function exportLedger(params: { store: CommerceStore; from: bigint; to: bigint; chain?: readonly TimedChainEntry[]; token?: Address }): Promise<LedgerEntry[]> {
  const entries = await ledgerFromStore(params.store, params.from, params.to);
  for (const e of params.chain ?? []) {
    if (e.time < params.from || e.time >= params.to) continue;
    entries.push({ time: e.time, type: e.type, channelId: e.channelId, payer: "", item: "", key: "", amount: e.amount, token: params.token ?? "", reference: `block ${e.blockNumber}` });
  }
  // A stable order: time, then the order entries were listed in (sales before their vouchers).
  return entries.map((e, i) => ({ e, i })).sort((a, b) => (a.e.time < b.e.time ? -1 : a.e.time > b.e.time ? 1 : a.i - b.i)).map(({ e }) => e);
}

const COLUMNS: (keyof LedgerEntry)[] = ["time", "type", "channelId", "payer", "item", "key", "amount", "token", "reference"];

function cell(value: string): string {
  // A leading = + - @ (or tab / CR) makes spreadsheets evaluate the cell: item names and keys come from apps.
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function ledgerToCsv(entries: readonly LedgerEntry[]): string {
  const rows = [COLUMNS.join(",")];
  for (const e of entries) rows.push(COLUMNS.map((c) => cell(String(e[c]))).join(","));
  return `${rows.join("\r\n")}\r\n`;
}

export function ledgerToJson(entries: readonly LedgerEntry[]): string {
  return JSON.stringify(
    entries.map((e) => ({ ...e, time: e.time.toString(), amount: e.amount.toString() })),
    null,
    2,
  );
}
