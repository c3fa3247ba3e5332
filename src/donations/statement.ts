// A donor's yearly statement: every tip of the year with the creator's receipt, as JSON or CSV.
import type { Address, Hex } from "../channel.ts";
import type { TipReceipt } from "./receipt.ts";

/** One tip as the donor recorded it. */
export interface TipRecord {
  budgetId: Hex;
  creator: Address;
  amount: bigint;
  /** Unix seconds at which the donor signed it. */
  time: bigint;
  /** The creator's signed receipt, once the donor has it. */
  receipt?: TipReceipt;
}

export interface DonationStatement {
  donor: Address;
  token: Address;
  year: number;
  tips: TipRecord[];
  /** Per creator, in the order first tipped this year. */
  totals: { creator: Address; amount: bigint }[];
  total: bigint;
  /** Tips of the year without a receipt yet. */
  unreceipted: number;
}

export function buildStatement(donor: Address, token: Address, year: number, tips: readonly TipRecord[]): DonationStatement {
  const ofYear = tips.filter((tip) => new Date(Number(tip.time) * 1000).getUTCFullYear() === year);
  const totals = new Map<string, { creator: Address; amount: bigint }>();
  for (const tip of ofYear) {
    const entry = totals.get(tip.creator.toLowerCase()) ?? { creator: tip.creator, amount: 0n };
    entry.amount += tip.amount;
    totals.set(tip.creator.toLowerCase(), entry);
  }
  return {
    donor,
    token,
    year,
    tips: ofYear,
    totals: [...totals.values()],
    total: ofYear.reduce((sum, tip) => sum + tip.amount, 0n),
    unreceipted: ofYear.filter((tip) => tip.receipt === undefined).length,
  };
}

/** JSON with amounts as decimal strings (JSON has no bigint). */
export function statementToJson(statement: DonationStatement): string {
  return JSON.stringify(
    {
      donor: statement.donor,
      token: statement.token,
      year: statement.year,
      total: statement.total.toString(),
      unreceipted: statement.unreceipted,
      totals: statement.totals.map((entry) => ({ creator: entry.creator, amount: entry.amount.toString() })),
      tips: statement.tips.map((tip) => ({
        date: new Date(Number(tip.time) * 1000).toISOString(),
        budgetId: tip.budgetId,
        creator: tip.creator,
        amount: tip.amount.toString(),
        receipt: tip.receipt?.signature ?? null,
      })),
    },
    null,
    2,
  );
}

/** CSV, one tip a line; every field is hex, a date or digits, so none needs quoting. */
export function statementToCsv(statement: DonationStatement): string {
  const lines = ["date,budget_id,creator,amount,receipt_signature"];
  for (const tip of statement.tips) {
    lines.push(
      [new Date(Number(tip.time) * 1000).toISOString(), tip.budgetId, tip.creator, tip.amount.toString(), tip.receipt?.signature ?? ""].join(","),
    );
  }
  return lines.join("\n") + "\n";
}
