// The semantics of one commit, shared by every store so they cannot drift apart: a backend only
// provides row access ({@link StoreTables}) inside its transaction; what gets written and what each
// caller is told is decided here.
import type { ChannelConfig, Hex } from "../channel.ts";
import { NotIncreasingError, StoreError, UnknownChannelError } from "../errors.ts";
import { startChain, takeToken, type PrepaidToken } from "./prepaid.ts";
import type { ChannelLedger, ChargeResult, Deployment, PayerChannelRecord, SaveVoucherResult, StoredVoucher } from "./store.ts";

/** One queued write, already validated and normalized; `deployment` keys every record it touches. */
export type WriteOp = { deployment: Deployment } & (
  | { kind: "voucher"; voucher: StoredVoucher }
  | { kind: "charge"; voucher: StoredVoucher; price: bigint; prepaid: PrepaidToken | undefined }
  | { kind: "payeeChannel"; channelId: Hex; config: ChannelConfig }
  | { kind: "meta"; key: string; value: string }
  | { kind: "payerChannel"; record: PayerChannelRecord }
  | { kind: "signed"; channelId: Hex; amount: bigint; signature: Hex }
  | { kind: "claimed"; channelId: Hex; claimed: bigint; finished: boolean }
);

/** A record's full key as one string, for maps: a channel id alone is not unique across deployments. */
export function recordKey(deployment: Deployment, id: string): string {
  return `${deployment.chainId}:${deployment.contract}:${id}`;
}

/** What an op resolves with: a voucher save's or a charge's result, nothing for the other writes. */
export type OpValue = SaveVoucherResult | ChargeResult | undefined;

/** What one op ends with once the commit is durable: a value to resolve with, or an error to reject with. */
export type OpOutcome = { ok: true; value: OpValue } | { ok: false; error: Error };

/**
 * Used amounts remembered per channel above its floor; beyond that the lowest folds into the floor. A
 * voucher that arrives more than this many charges behind its channel's newest is refused as
 * `NOT_INCREASING`: far more than the requests one payer keeps in flight on a channel. The ledger is read
 * and rewritten by every charge of its channel, and a channel that holds unserved credit (a best above
 * what it served, e.g. prepaid credit left when the payer stops prepaying) never folds its used amounts
 * on its own, so the cap is also the ledger's steady size: measured with 1,024, PostgreSQL paid
 * requests on such channels slowed from 2,282 to about 600 per second as the lists grew.
 */
export const USED_AMOUNTS_KEPT = 64;

/** A ledger no one else holds a reference into. */
export function copyLedger(ledger: ChannelLedger): ChannelLedger {
  const { served, floor, used, prepaid } = ledger;
  return prepaid === undefined ? { served, floor, used: [...used] } : { served, floor, used: [...used], prepaid: { ...prepaid, used: [...prepaid.used] } };
}

/** Row access a backend gives {@link applyBatch} inside one transaction. */
export interface StoreTables {
  bestAmount(d: Deployment, channelId: Hex): bigint | undefined;
  /** The channel's charge ledger, undefined before its first charge. */
  ledger(d: Deployment, channelId: Hex): ChannelLedger | undefined;
  /** Inserts or replaces the channel's charge ledger. */
  putLedger(d: Deployment, channelId: Hex, ledger: ChannelLedger): void;
  /** Replaces the channel's best voucher; only called with an amount above the stored one. */
  putBest(d: Deployment, voucher: StoredVoucher): void;
  /** Inserts the config unless one is stored for this id. */
  putPayeeChannel(d: Deployment, channelId: Hex, config: ChannelConfig): void;
  putMeta(d: Deployment, key: string, value: string): void;
  payerChannel(d: Deployment, channelId: Hex): PayerChannelRecord | undefined;
  /** Inserts or replaces the whole record. */
  putPayerChannel(d: Deployment, record: PayerChannelRecord): void;
  /** Raises the recorded claimed amount to at least `claimed`, and sets (never clears) `finished`. */
  putClaimed(d: Deployment, channelId: Hex, claimed: bigint, finished: boolean): void;
}

/**
 * Decides the result of each voucher of one commit. Per channel, the highest voucher above the stored
 * best (the first to arrive among equal amounts) is the only one written and the only one reported
 * `stored: true`, with the pre-commit best as `previousAmount`; every other voucher of that channel is
 * reported as compared after it (`previousAmount` = the winner's amount, or the stored best when
 * nothing won). This makes the sum of increments telescope to the best amount.
 */
export function planVouchers(
  vouchers: readonly { deployment: Deployment; voucher: StoredVoucher }[],
  bestAmount: (d: Deployment, channelId: Hex) => bigint | undefined,
): { results: SaveVoucherResult[]; winners: { deployment: Deployment; voucher: StoredVoucher }[] } {
  const byChannel = new Map<string, number[]>();
  vouchers.forEach(({ deployment, voucher }, index) => {
    const key = recordKey(deployment, voucher.channelId);
    const indexes = byChannel.get(key);
    if (indexes) indexes.push(index);
    else byChannel.set(key, [index]);
  });
  const results: SaveVoucherResult[] = new Array(vouchers.length);
  const winners: { deployment: Deployment; voucher: StoredVoucher }[] = [];
  for (const indexes of byChannel.values()) {
    const { deployment, voucher: first } = vouchers[indexes[0]];
    const before = bestAmount(deployment, first.channelId) ?? 0n;
    let winner = -1;
    let best = before;
    for (const index of indexes) {
      if (vouchers[index].voucher.amount > best) {
        best = vouchers[index].voucher.amount;
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
export function applyCharge(tables: StoreTables, d: Deployment, voucher: StoredVoucher, price: bigint, prepaid?: PrepaidToken): ChargeResult {
  const id = voucher.channelId;
  const best = tables.bestAmount(d, id) ?? 0n;
  // Before its first charge everything the channel holds counts as served: a voucher saved without a
  // charge (or before this ledger existed) buys no request.
  const ledger = tables.ledger(d, id) ?? { served: best, floor: best, used: [] };
  const amount = voucher.amount;
  if (prepaid !== undefined && amount === best && best > 0n) {
    // The channel's best voucher presented again, with the next token of the chain its first
    // presentation bound, draws on the credit it left (see ChargeResult): the one exception to "each
    // amount buys one request", and only when the payee opts in.
    const chain = ledger.prepaid && ledger.served + price <= best ? takeToken(ledger.prepaid, prepaid) : undefined;
    if (chain === undefined) return { charged: false, refusal: "NOT_INCREASING", best, served: ledger.served };
    const served = ledger.served + price;
    tables.putLedger(d, id, served === best ? { served, floor: best, used: [] } : { served, floor: ledger.floor, used: ledger.used, prepaid: chain });
    return { charged: true, stored: false, best, served };
  }
  if (amount <= ledger.floor || ledger.used.includes(amount)) {
    return { charged: false, refusal: "NOT_INCREASING", best, served: ledger.served };
  }
  const after = amount > best ? amount : best;
  if (ledger.served + price > after) {
    return { charged: false, refusal: amount > best ? "INSUFFICIENT_PAYMENT" : "NOT_INCREASING", best, served: ledger.served };
  }
  if (amount > best) tables.putBest(d, voucher);
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
  // A new best binds the chain its token names (the token is taken now: this request is one of those
  // the voucher pays for); a lower voucher leaves the best's chain as it is. A token that is not the
  // anchor's binds nothing, and the voucher then buys this one request only.
  const chain = amount > best ? prepaid && takeToken(startChain(prepaid.anchor), prepaid) : ledger.prepaid;
  tables.putLedger(d, id, served === after || chain === undefined ? { served, floor, used } : { served, floor, used, prepaid: chain });
  return { charged: true, stored: amount > best, best: after, served };
}

function sameRecordIdentity(stored: PayerChannelRecord, record: PayerChannelRecord): boolean {
  return (
    stored.chainId === record.chainId &&
    stored.contract.toLowerCase() === record.contract.toLowerCase() &&
    (stored.sessionKey === undefined || record.sessionKey === undefined || stored.sessionKey.toLowerCase() === record.sessionKey.toLowerCase())
  );
}

function applyPayerChannel(tables: StoreTables, d: Deployment, record: PayerChannelRecord): void {
  const stored = tables.payerChannel(d, record.channelId);
  if (!stored) {
    tables.putPayerChannel(d, record);
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
  tables.putPayerChannel(d, merged);
}

function applySigned(tables: StoreTables, d: Deployment, channelId: Hex, amount: bigint, signature: Hex): void {
  const stored = tables.payerChannel(d, channelId);
  if (!stored) throw new UnknownChannelError("the payer store has no such channel", { channelId });
  if (amount <= stored.signedAmount) {
    throw new NotIncreasingError("amount is not above the signed amount", { channelId, amount, signedAmount: stored.signedAmount });
  }
  tables.putPayerChannel(d, { ...stored, signedAmount: amount, signature });
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
      outcomes[index] = { ok: true, value: applyCharge(tables, op.deployment, op.voucher, op.price, op.prepaid) };
      return;
    }
    try {
      const d = op.deployment;
      if (op.kind === "payeeChannel") tables.putPayeeChannel(d, op.channelId, op.config);
      else if (op.kind === "meta") tables.putMeta(d, op.key, op.value);
      else if (op.kind === "payerChannel") applyPayerChannel(tables, d, op.record);
      else if (op.kind === "claimed") tables.putClaimed(d, op.channelId, op.claimed, op.finished);
      else applySigned(tables, d, op.channelId, op.amount, op.signature);
      outcomes[index] = { ok: true, value: undefined };
    } catch (error) {
      if (!(error instanceof StoreError || error instanceof NotIncreasingError || error instanceof UnknownChannelError)) throw error;
      outcomes[index] = { ok: false, error };
    }
  });
  const vouchers = voucherIndexes.map((index) => ops[index] as { deployment: Deployment; voucher: StoredVoucher });
  const { results, winners } = planVouchers(vouchers, (d, id) => tables.bestAmount(d, id));
  for (const winner of winners) {
    // A plain save buys no request: the channel's charge ledger (if it has one) counts its increment as served.
    const d = winner.deployment;
    const id = winner.voucher.channelId;
    const ledger = tables.ledger(d, id);
    if (ledger !== undefined) {
      const increment = winner.voucher.amount - (tables.bestAmount(d, id) ?? 0n);
      // The new best has no token chain: the old best's prepaid tokens buy nothing more.
      tables.putLedger(d, id, { served: ledger.served + increment, floor: ledger.floor, used: ledger.used });
    }
    tables.putBest(d, winner.voucher);
  }
  voucherIndexes.forEach((opIndex, i) => {
    outcomes[opIndex] = { ok: true, value: results[i] };
  });
  return outcomes;
}
