// The semantics of one commit, shared by every store so they cannot drift apart: a backend only
// provides row access ({@link StoreTables}) inside its transaction; what gets written and what each
// caller is told is decided here.
import type { ChannelConfig, Hex } from "../channel.ts";
import { NotIncreasingError, StoreError, UnknownChannelError } from "../errors.ts";
import type { PayerChannelRecord, SaveVoucherResult, StoredVoucher } from "./store.ts";

/** One queued write, already validated and normalized. */
export type WriteOp =
  | { kind: "voucher"; voucher: StoredVoucher }
  | { kind: "payeeChannel"; channelId: Hex; config: ChannelConfig }
  | { kind: "meta"; key: string; value: string }
  | { kind: "payerChannel"; record: PayerChannelRecord }
  | { kind: "signed"; channelId: Hex; amount: bigint; signature: Hex };

/** What one op ends with once the commit is durable: a value to resolve with, or an error to reject with. */
export type OpOutcome = { ok: true; value: SaveVoucherResult | undefined } | { ok: false; error: Error };

/** Row access a backend gives {@link applyBatch} inside one transaction. */
export interface StoreTables {
  bestAmount(channelId: Hex): bigint | undefined;
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
 * Applies one commit's ops inside the backend's transaction. Ops other than vouchers apply in call
 * order; an op refused for a reason of its own (not increasing, unknown channel) writes nothing and
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
  for (const winner of winners) tables.putBest(winner);
  voucherIndexes.forEach((opIndex, i) => {
    outcomes[opIndex] = { ok: true, value: results[i] };
  });
  return outcomes;
}
