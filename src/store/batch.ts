// The semantics of one commit, shared by every store so they cannot drift apart: a backend only
// provides row access ({@link StoreTables}) inside its transaction; what gets written and what each
// caller is told is decided here.
import type { ChannelConfig, Hex } from "../channel.ts";
import { NotIncreasingError, StoreError, UnknownChannelError } from "../errors.ts";
import type { ChannelLedger, ChargeResult, PayerChannelRecord, SaveVoucherResult, StoredVoucher } from "./store.ts";

/** One queued write, already validated and normalized. */
export type WriteOp =
  | { kind: "voucher"; voucher: StoredVoucher }
  | { kind: "charge"; voucher: StoredVoucher; price: bigint }
  | { kind: "payeeChannel"; channelId: Hex; config: ChannelConfig }
  | { kind: "meta"; key: string; value: string }
  | { kind: "payerChannel"; record: PayerChannelRecord }
  | { kind: "signed"; channelId: Hex; amount: bigint; signature: Hex };

/** What an op resolves with: a voucher save's or a charge's result, nothing for the other writes. */
export type OpValue = SaveVoucherResult | ChargeResult | undefined;

/** What one op ends with once the commit is durable: a value to resolve with, or an error to reject with. */
export type OpOutcome = { ok: true; value: OpValue } | { ok: false; error: Error };

/** Used amounts remembered per channel above its floor; beyond that the lowest folds into the floor. */
export const USED_AMOUNTS_KEPT = 1024;

/** Row access a backend gives {@link applyBatch} inside one transaction. */
export interface StoreTables {
  bestAmount(channelId: Hex): bigint | undefined;
  /** The channel's ledger, undefined before its first charge. */
  ledger(channelId: Hex): ChannelLedger | undefined;
  /** Inserts or replaces the channel's ledger. */
  putLedger(channelId: Hex, ledger: ChannelLedger): void;
  /** Replaces the channel's best voucher; only called with an amount above the stored one. */
  putBest(voucher: StoredVoucher): void;
  /** Inserts the config unless one is stored for this id. */
  putPayeeChannel(channelId: Hex, config: ChannelConfig): void;
  putMeta(key: string, value: string): void;
  payerChannel(channelId: Hex): PayerChannelRecord | undefined;
  /** Inserts or replaces the whole record. */
  putPayerChannel(record: PayerChannelRecord): void;
}

/**
 * Decides the result of each voucher of one commit. Per channel, the highest voucher above the stored
 * best (the first to arrive among equal amounts) is the only one written and the only one reported
 * `stored: true`, with the pre-commit best as `previousAmount`; every other voucher of that channel is
 * reported as compared after it (`previousAmount` = the winner's amount, or the stored best when
 * nothing won). This makes the sum of increments telescope to the best amount.
 */
export function planVouchers(
  vouchers: readonly StoredVoucher[],
  bestAmount: (channelId: Hex) => bigint | undefined,
): { results: SaveVoucherResult[]; winners: StoredVoucher[] } {
  const byChannel = new Map<Hex, number[]>();
  vouchers.forEach((voucher, index) => {
    const indexes = byChannel.get(voucher.channelId);
    if (indexes) indexes.push(index);
    else byChannel.set(voucher.channelId, [index]);
  });
  const results: SaveVoucherResult[] = new Array(vouchers.length);
  const winners: StoredVoucher[] = [];
  for (const [channelId, indexes] of byChannel) {
    const before = bestAmount(channelId) ?? 0n;
    let winner = -1;
    let best = before;
    for (const index of indexes) {
      if (vouchers[index].amount > best) {
        best = vouchers[index].amount;
        winner = index;
      }
    }
    for (const index of indexes) {
      results[index] = index === winner ? { stored: true, previousAmount: before } : { stored: false, previousAmount: best };
    }
    if (winner >= 0) winners.push(vouchers[winner]);
  }
  return { results, winners };
}

/**
 * One charge, against the tables as they are (earlier ops of the commit included). Writes the voucher
 * and the ledger, or nothing at all when it refuses.
 */
export function applyCharge(tables: StoreTables, voucher: StoredVoucher, price: bigint): ChargeResult {
  const id = voucher.channelId;
  const best = tables.bestAmount(id) ?? 0n;
  // Before its first charge everything the channel holds counts as served: a voucher saved without a
  // charge (or before this ledger existed) buys no request.
  const ledger = tables.ledger(id) ?? { served: best, floor: best, used: [] };
  const amount = voucher.amount;
  if (amount <= ledger.floor || ledger.used.includes(amount)) {
    return { charged: false, refusal: "NOT_INCREASING", best, served: ledger.served };
  }
  const after = amount > best ? amount : best;
  if (ledger.served + price > after) {
    return { charged: false, refusal: amount > best ? "INSUFFICIENT_PAYMENT" : "NOT_INCREASING", best, served: ledger.served };
  }
  if (amount > best) tables.putBest(voucher);
  const served = ledger.served + price;
  let floor = ledger.floor;
  let used = [...ledger.used, amount];
  if (served === after) {
    // Every unit held is spent: no voucher at or below the best can buy anything more, so the used
    // amounts fold into the floor and the ledger stays one small row under in-order traffic.
    floor = after;
    used = [];
  } else if (used.length > USED_AMOUNTS_KEPT) {
    // Forget the lowest used amount: everything at or below it counts as used from now on.
    used.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    floor = used.shift() as bigint;
  }
  tables.putLedger(id, { served, floor, used });
  return { charged: true, stored: amount > best, best: after, served };
}

function sameRecordIdentity(stored: PayerChannelRecord, record: PayerChannelRecord): boolean {
  return (
    stored.chainId === record.chainId &&
    stored.contract.toLowerCase() === record.contract.toLowerCase() &&
    (stored.sessionKey === undefined || record.sessionKey === undefined || stored.sessionKey.toLowerCase() === record.sessionKey.toLowerCase())
  );
}

function applyPayerChannel(tables: StoreTables, record: PayerChannelRecord): void {
  const stored = tables.payerChannel(record.channelId);
  if (!stored) {
    tables.putPayerChannel(record);
    return;
  }
  if (!sameRecordIdentity(stored, record)) {
    throw new StoreError("a different record is stored for this channel", { channelId: record.channelId });
  }
  // Saving again may add a missing session key or raise the signed amount, never lower it.
  const raised = record.signedAmount > stored.signedAmount;
  const merged: PayerChannelRecord = {
    ...stored,
    sessionKey: stored.sessionKey ?? record.sessionKey,
    signedAmount: raised ? record.signedAmount : stored.signedAmount,
    signature: raised ? record.signature : stored.signature,
  };
  if (merged.sessionKey === undefined) delete merged.sessionKey;
  if (merged.signature === undefined) delete merged.signature;
  tables.putPayerChannel(merged);
}

function applySigned(tables: StoreTables, channelId: Hex, amount: bigint, signature: Hex): void {
  const stored = tables.payerChannel(channelId);
  if (!stored) throw new UnknownChannelError("the payer store has no such channel", { channelId });
  if (amount <= stored.signedAmount) {
    throw new NotIncreasingError("amount is not above the signed amount", { channelId, amount, signedAmount: stored.signedAmount });
  }
  tables.putPayerChannel({ ...stored, signedAmount: amount, signature });
}

/**
 * Applies one commit's ops inside the backend's transaction. Ops other than voucher saves (charges
 * included) apply in call order, then the voucher saves; an op refused for a reason of its own (not increasing, unknown channel) writes nothing and
 * only that op fails. Anything thrown by the backend itself propagates: the caller rolls back.
 */
export function applyBatch(ops: readonly WriteOp[], tables: StoreTables): OpOutcome[] {
  const outcomes: OpOutcome[] = new Array(ops.length);
  const voucherIndexes: number[] = [];
  ops.forEach((op, index) => {
    if (op.kind === "voucher") {
      voucherIndexes.push(index);
      return;
    }
    if (op.kind === "charge") {
      outcomes[index] = { ok: true, value: applyCharge(tables, op.voucher, op.price) };
      return;
    }
    try {
      if (op.kind === "payeeChannel") tables.putPayeeChannel(op.channelId, op.config);
      else if (op.kind === "meta") tables.putMeta(op.key, op.value);
      else if (op.kind === "payerChannel") applyPayerChannel(tables, op.record);
      else applySigned(tables, op.channelId, op.amount, op.signature);
      outcomes[index] = { ok: true, value: undefined };
    } catch (error) {
      if (!(error instanceof StoreError || error instanceof NotIncreasingError || error instanceof UnknownChannelError)) throw error;
      outcomes[index] = { ok: false, error };
    }
  });
  const vouchers = voucherIndexes.map((index) => (ops[index] as { voucher: StoredVoucher }).voucher);
  const { results, winners } = planVouchers(vouchers, (id) => tables.bestAmount(id));
  for (const winner of winners) {
    // A plain save buys no request: the channel's ledger (if it has one) counts its increment as served.
    const ledger = tables.ledger(winner.channelId);
    if (ledger !== undefined) {
      const increment = winner.amount - (tables.bestAmount(winner.channelId) ?? 0n);
      tables.putLedger(winner.channelId, { ...ledger, served: ledger.served + increment });
    }
    tables.putBest(winner);
  }
  voucherIndexes.forEach((opIndex, i) => {
    outcomes[opIndex] = { ok: true, value: results[i] };
  });
  return outcomes;
}
