// The behaviour every PayeeStore/PayerStore must have, run against each backend (as OpenZeppelin's
// shouldBehaveLikeERC20). A backend provides a fresh store and a snapshot of everything it holds, so
// refused inputs can be shown to change nothing.
import { expect } from "chai";
import fc from "fast-check";
import { channelId as computeChannelId } from "../../src/channel.ts";
import type { Address, ChannelConfig, Hex } from "../../src/channel.ts";
import type { TrickleError } from "../../src/errors.ts";
import type { ChargeResult, Deployment, PayeeStore, StoreBackend, PayerChannelRecord, PayerStore, SaveVoucherResult, StoredVoucher } from "../../src/store/store.ts";
import { USED_AMOUNTS_KEPT } from "../../src/store/batch.ts";
import { PREPAID_TOKEN_WINDOW, prepaidChain, type PrepaidToken } from "../../src/store/prepaid.ts";

export type AnyStore = PayeeStore & PayerStore;

export interface StoreHarness {
  /** The view of {@link TEST_DEPLOYMENT}. */
  store: AnyStore;
  /** The backend behind it, for views of other deployments. */
  backend: StoreBackend;
  /** Everything the store holds, serialized; equal strings mean nothing changed. */
  snapshot(): Promise<string>;
  dispose(): Promise<void>;
}

export const MAX_UINT256 = (1n << 256n) - 1n;

/** The deployment the behaviour suite's records belong to (payerRecordOf uses it too). */
export const TEST_DEPLOYMENT: Deployment = { chainId: 31337n, contract: `0x${"44".repeat(20)}` };

export function hex(byte: number, bytes: number): Hex {
  return `0x${byte.toString(16).padStart(2, "0").repeat(bytes)}`;
}

/** A 65-byte signature whose bytes encode `n`, so a test can tell which voucher was kept. */
export function signatureOf(n: number): Hex {
  return `0x${n.toString(16).padStart(130, "0")}`;
}

export function channelOf(n: number): Hex {
  return `0x${(n + 1).toString(16).padStart(64, "0")}`;
}

export function configOf(n: number): ChannelConfig {
  return { payer: hex(0x11, 20), payee: hex(0x22, 20), token: hex(0, 20), signer: hex(0x33, 20), closeDelay: 86_400n, salt: channelOf(n) };
}

export function payerRecordOf(n: number): PayerChannelRecord {
  const config = configOf(n);
  return { channelId: computeChannelId(config), ...TEST_DEPLOYMENT, config, sessionKey: hex(0x55, 32), signedAmount: 0n };
}

const chains = new Map<string, { anchor: Hex; tokens: Hex[] }>();

/** The token chain (100 tokens) a test payer uses with its voucher of `amount` on channel `channel`. */
function chainFor(channel: number, amount: bigint): { anchor: Hex; tokens: Hex[] } {
  const key = `${channel}:${amount}`;
  let chain = chains.get(key);
  if (chain === undefined) {
    const seed = new Uint8Array(32);
    new DataView(seed.buffer).setUint32(0, channel);
    new DataView(seed.buffer).setBigUint64(8, amount);
    chains.set(key, (chain = prepaidChain(seed, 100)));
  }
  return chain;
}

/** Charge options presenting token `index` of `chain`. */
function tokenOf(chain: { anchor: Hex; tokens: Hex[] }, index: number): { prepaid: PrepaidToken } {
  return { prepaid: { anchor: chain.anchor, index, token: chain.tokens[index - 1] as Hex } };
}

export async function expectCode(promise: Promise<unknown>, code: string): Promise<TrickleError> {
  try {
    await promise;
  } catch (error) {
    expect((error as TrickleError).code, String(error)).to.equal(code);
    return error as TrickleError;
  }
  expect.fail(`expected a rejection with ${code}`);
}

export function jsonOf(value: unknown): string {
  return JSON.stringify(value, (_, v) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v));
}

/** Invalid calls: each must reject with `code` and write nothing. */
function badCalls(): { name: string; code: string; call: (store: AnyStore) => Promise<unknown> }[] {
  const id = channelOf(0);
  const sig = signatureOf(1);
  const save = (voucher: unknown) => (store: AnyStore) => store.saveVoucherIfHigher(voucher as StoredVoucher);
  const bad = (name: string, call: (store: AnyStore) => Promise<unknown>, code = "INVALID_ARGUMENT") => ({ name, code, call });
  const record = payerRecordOf(0);
  return [
    bad("voucher null", save(null)),
    bad("voucher string", save("0x00")),
    bad("channelId missing 0x", save({ channelId: id.slice(2), amount: 1n, signature: sig })),
    bad("channelId 31 bytes", save({ channelId: id.slice(0, -2), amount: 1n, signature: sig })),
    bad("channelId 33 bytes", save({ channelId: `${id}00`, amount: 1n, signature: sig })),
    bad("channelId non-hex", save({ channelId: `0x${"zz".repeat(32)}`, amount: 1n, signature: sig })),
    bad("channelId number", save({ channelId: 1, amount: 1n, signature: sig })),
    bad("amount negative", save({ channelId: id, amount: -1n, signature: sig })),
    bad("amount 2^256", save({ channelId: id, amount: 1n << 256n, signature: sig })),
    bad("amount as number", save({ channelId: id, amount: 5, signature: sig })),
    bad("amount fractional", save({ channelId: id, amount: 1.5, signature: sig })),
    bad("amount decimal string", save({ channelId: id, amount: "5", signature: sig })),
    bad("amount missing", save({ channelId: id, signature: sig })),
    bad("signature 64 bytes", save({ channelId: id, amount: 1n, signature: sig.slice(0, -2) })),
    bad("signature 66 bytes", save({ channelId: id, amount: 1n, signature: `${sig}00` })),
    bad("signature non-hex", save({ channelId: id, amount: 1n, signature: `0x${"g".repeat(130)}` })),
    bad("signature missing", save({ channelId: id, amount: 1n })),
    bad("charge price 0", (s) => s.chargeVoucher({ channelId: id, amount: 500n, signature: sig }, 0n)),
    bad("charge price negative", (s) => s.chargeVoucher({ channelId: id, amount: 500n, signature: sig }, -1n)),
    bad("charge price as number", (s) => s.chargeVoucher({ channelId: id, amount: 500n, signature: sig }, 5 as unknown as bigint)),
    bad("charge price 2^256", (s) => s.chargeVoucher({ channelId: id, amount: 500n, signature: sig }, 1n << 256n)),
    bad("charge bad voucher", (s) => s.chargeVoucher({ channelId: id, amount: 500n, signature: "0x00" }, 1n)),
    bad("chargeLedger bad id", (s) => s.chargeLedger("0x1234")),
    bad("bestVoucher bad id", (s) => s.bestVoucher("0x1234")),
    bad("saveChannel bad payer", (s) => s.saveChannel({ ...configOf(0), payer: "0x12" })),
    bad("saveChannel closeDelay 2^64", (s) => s.saveChannel({ ...configOf(0), closeDelay: 1n << 64n })),
    bad("saveChannel closeDelay number", (s) => s.saveChannel({ ...configOf(0), closeDelay: 5 as unknown as bigint })),
    bad("saveChannel short salt", (s) => s.saveChannel({ ...configOf(0), salt: hex(1, 31) })),
    bad("setMeta empty key", (s) => s.setMeta("", "x")),
    bad("setMeta number value", (s) => s.setMeta("k", 5 as unknown as string)),
    bad("payer record id mismatch", (s) => s.savePayerChannel({ ...record, channelId: channelOf(9) })),
    bad("payer record negative amount", (s) => s.savePayerChannel({ ...record, signedAmount: -1n })),
    bad("payer record bad session key", (s) => s.savePayerChannel({ ...record, sessionKey: hex(1, 20) })),
    bad("recordSigned amount 2^256", (s) => s.recordSigned(record.channelId, 1n << 256n, sig)),
    bad("recordSigned bad signature", (s) => s.recordSigned(record.channelId, 5n, "0x00")),
    bad("recordSigned unknown channel", (s) => s.recordSigned(channelOf(7), 5n, sig), "UNKNOWN_CHANNEL"),
    bad("payer record of another chain", (s) => s.savePayerChannel({ ...record, chainId: 1n })),
    bad("payer record of another contract", (s) => s.savePayerChannel({ ...record, contract: hex(0x45, 20) })),
    bad("recordClaimed negative", (s) => s.recordClaimed(id, -1n)),
    bad("recordClaimed as number", (s) => s.recordClaimed(id, 5 as unknown as bigint)),
    bad("recordClaimed finished not boolean", (s) => s.recordClaimed(id, 5n, 1 as unknown as boolean)),
    bad("recordClaimed bad id", (s) => s.recordClaimed("0x12", 5n)),
  ];
}

export function shouldBehaveLikeAStore(open: () => Promise<StoreHarness>, options: { propertyRuns: number }): void {
  let harness: StoreHarness;
  let store: AnyStore;
  beforeEach(async () => {
    harness = await open();
    store = harness.store;
  });
  afterEach(async () => harness.dispose());

  const voucher = (channel: number, amount: bigint, signature = 1): StoredVoucher => ({
    channelId: channelOf(channel),
    amount,
    signature: signatureOf(signature),
  });

  describe("payee vouchers", () => {
    it("starts empty", async () => {
      expect(await store.bestVoucher(channelOf(0))).to.equal(undefined);
      expect(await store.bestVouchers()).to.deep.equal([]);
    });

    it("stores a first voucher and reports 0n as the previous amount", async () => {
      expect(await store.saveVoucherIfHigher(voucher(0, 7n))).to.deep.equal({ stored: true, previousAmount: 0n });
      expect(await store.bestVoucher(channelOf(0))).to.deep.equal(voucher(0, 7n));
    });

    it("only increases: equal and lower amounts are refused with the best amount", async () => {
      await store.saveVoucherIfHigher(voucher(0, 10n, 1));
      expect(await store.saveVoucherIfHigher(voucher(0, 10n, 2))).to.deep.equal({ stored: false, previousAmount: 10n });
      expect(await store.saveVoucherIfHigher(voucher(0, 9n, 3))).to.deep.equal({ stored: false, previousAmount: 10n });
      expect(await store.saveVoucherIfHigher(voucher(0, 11n, 4))).to.deep.equal({ stored: true, previousAmount: 10n });
      expect(await store.bestVoucher(channelOf(0))).to.deep.equal(voucher(0, 11n, 4));
    });

    it("never stores a zero amount", async () => {
      expect(await store.saveVoucherIfHigher(voucher(0, 0n))).to.deep.equal({ stored: false, previousAmount: 0n });
      expect(await store.bestVoucher(channelOf(0))).to.equal(undefined);
    });

    it("compares amounts as numbers, not as text, up to 2^256 - 1", async () => {
      const steps = [9n, 10n, 99n, 100n, 255n, 256n, 1n << 64n, (1n << 255n) - 1n, 1n << 255n, MAX_UINT256];
      for (const amount of steps) {
        expect(await store.saveVoucherIfHigher(voucher(0, amount))).to.include({ stored: true });
      }
      for (const amount of steps) {
        expect(await store.saveVoucherIfHigher(voucher(0, amount))).to.deep.equal({ stored: false, previousAmount: MAX_UINT256 });
      }
      expect((await store.bestVoucher(channelOf(0)))?.amount).to.equal(MAX_UINT256);
    });

    it("treats channel ids and signatures case-insensitively and returns them lower-cased", async () => {
      const upper = `0x${"AB".repeat(32)}` as Hex;
      await store.saveVoucherIfHigher({ channelId: upper, amount: 5n, signature: `0x${"CD".repeat(65)}` });
      expect(await store.saveVoucherIfHigher({ channelId: upper.toLowerCase() as Hex, amount: 5n, signature: signatureOf(1) })).to.deep.equal({
        stored: false,
        previousAmount: 5n,
      });
      expect(await store.bestVoucher(upper)).to.deep.equal({ channelId: upper.toLowerCase(), amount: 5n, signature: `0x${"cd".repeat(65)}` });
    });

    it("keeps channels apart and lists every best voucher", async () => {
      await Promise.all([store.saveVoucherIfHigher(voucher(1, 5n)), store.saveVoucherIfHigher(voucher(0, 8n))]);
      await store.saveVoucherIfHigher(voucher(1, 6n));
      expect(await store.bestVouchers()).to.deep.equal([voucher(0, 8n), voucher(1, 6n)]);
    });

    it("in one commit, reports only the highest (first of equals) as stored, the others as beaten by it", async () => {
      await store.saveVoucherIfHigher(voucher(0, 4n, 100));
      const amounts = [5n, 9n, 3n, 9n, 7n, 4n];
      const results = await Promise.all(amounts.map((amount, i) => store.saveVoucherIfHigher(voucher(0, amount, i))));
      expect(results).to.deep.equal([
        { stored: false, previousAmount: 9n },
        { stored: true, previousAmount: 4n },
        { stored: false, previousAmount: 9n },
        { stored: false, previousAmount: 9n },
        { stored: false, previousAmount: 9n },
        { stored: false, previousAmount: 9n },
      ]);
      expect(await store.bestVoucher(channelOf(0))).to.deep.equal(voucher(0, 9n, 1));
    });

    it("a commit where nothing beats the stored best reports the stored best", async () => {
      await store.saveVoucherIfHigher(voucher(0, 50n));
      const results = await Promise.all([3n, 50n, 20n].map((amount) => store.saveVoucherIfHigher(voucher(0, amount, 2))));
      expect(results).to.deep.equal(Array(3).fill({ stored: false, previousAmount: 50n }));
      expect(await store.bestVoucher(channelOf(0))).to.deep.equal(voucher(0, 50n));
    });

    it("many concurrent saves for one channel, with duplicates and out of order: the maximum wins, each counted once, none lost", async () => {
      const amounts: bigint[] = [];
      for (let i = 1; i <= 300; i++) amounts.push(BigInt(i) * 1_000_003n, BigInt(i) * 1_000_003n);
      // A fixed shuffle (deterministic) so a failure reproduces.
      let seed = 42;
      for (let i = amounts.length - 1; i > 0; i--) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const j = seed % (i + 1);
        [amounts[i], amounts[j]] = [amounts[j], amounts[i]];
      }
      const results: { amount: bigint; result: SaveVoucherResult }[] = [];
      // Waves of concurrent saves, some awaited and some left in flight while the next wave starts.
      const inFlight: Promise<void>[] = [];
      for (let start = 0; start < amounts.length; start += 25) {
        const wave = amounts.slice(start, start + 25).map((amount, i) =>
          store.saveVoucherIfHigher(voucher(0, amount, start + i)).then((result) => void results.push({ amount, result })),
        );
        inFlight.push(...wave);
        if (start % 50 === 0) await Promise.all(wave);
      }
      await Promise.all(inFlight);
      const max = 300n * 1_000_003n;
      expect(results).to.have.length(amounts.length);
      expect((await store.bestVoucher(channelOf(0)))?.amount).to.equal(max);
      const stored = results.filter((r) => r.result.stored);
      expect(new Set(stored.map((r) => r.amount)).size, "a voucher counted twice").to.equal(stored.length);
      const increments = stored.reduce((sum, r) => sum + (r.amount - r.result.previousAmount), 0n);
      expect(increments, "increments must add up to the best amount").to.equal(max);
      for (const r of results.filter((r) => !r.result.stored)) expect(r.result.previousAmount >= r.amount).to.equal(true);
    });

    it(`property: whatever the order of arrival, the best is the maximum and stored amounts strictly increase`, async () => {
      const arrival = fc.record({
        channel: fc.integer({ min: 0, max: 2 }),
        amount: fc.oneof(fc.bigInt({ min: 0n, max: 20n }), fc.bigInt({ min: 0n, max: MAX_UINT256 })),
      });
      // Ticks: the vouchers of one tick arrive concurrently, a tick starts when the previous settled
      // or (when `overlap`) while it is still in flight.
      const tick = fc.record({ vouchers: fc.array(arrival, { minLength: 1, maxLength: 10 }), overlap: fc.boolean() });
      await fc.assert(
        fc.asyncProperty(fc.array(tick, { minLength: 1, maxLength: 6 }), async (ticks) => {
          const fresh = await open();
          try {
            const storedLog = new Map<number, SaveVoucherResult[]>();
            const storedAmounts = new Map<number, bigint[]>();
            const sent: { channel: number; amount: bigint; signature: number }[] = [];
            let pending: Promise<void>[] = [];
            for (const { vouchers, overlap } of ticks) {
              if (!overlap) {
                await Promise.all(pending);
                pending = [];
              }
              for (const { channel, amount } of vouchers) {
                const signature = sent.length;
                sent.push({ channel, amount, signature });
                pending.push(
                  fresh.store.saveVoucherIfHigher(voucher(channel, amount, signature)).then((result) => {
                    if (result.stored) {
                      storedLog.set(channel, [...(storedLog.get(channel) ?? []), result]);
                      storedAmounts.set(channel, [...(storedAmounts.get(channel) ?? []), amount]);
                      expect(result.previousAmount < amount).to.equal(true);
                    } else {
                      expect(result.previousAmount >= amount).to.equal(true);
                    }
                  }),
                );
              }
            }
            await Promise.all(pending);
            for (let channel = 0; channel <= 2; channel++) {
              const mine = sent.filter((s) => s.channel === channel);
              const max = mine.reduce((m, s) => (s.amount > m ? s.amount : m), 0n);
              const best = await fresh.store.bestVoucher(channelOf(channel));
              if (max === 0n) {
                expect(best).to.equal(undefined);
                continue;
              }
              const firstOfMax = mine.find((s) => s.amount === max)!;
              expect(best).to.deep.equal(voucher(channel, max, firstOfMax.signature));
              const amounts = storedAmounts.get(channel) ?? [];
              const log = storedLog.get(channel) ?? [];
              amounts.forEach((amount, i) => {
                expect(log[i].previousAmount).to.equal(i === 0 ? 0n : amounts[i - 1]);
                if (i > 0) expect(amount > amounts[i - 1]).to.equal(true);
              });
              expect(amounts.at(-1)).to.equal(max);
            }
          } finally {
            await fresh.dispose();
          }
        }),
        { numRuns: options.propertyRuns },
      );
    });
  });

  describe("keying by deployment", () => {
    const chainB: Deployment = { chainId: 8453n, contract: TEST_DEPLOYMENT.contract };
    const contractB: Deployment = { chainId: TEST_DEPLOYMENT.chainId, contract: hex(0x45, 20) };

    it("keeps one channel id on two chains and two contracts apart, in every table", async () => {
      const record = payerRecordOf(0);
      await store.saveVoucherIfHigher(voucher(0, 100n, 1));
      await store.saveChannel(configOf(0));
      await store.setMeta("lastBlock", "7");
      await store.savePayerChannel(record);
      await store.recordSigned(record.channelId, 9n, signatureOf(9));
      for (const deployment of [chainB, contractB]) {
        const other = harness.backend.forDeployment(deployment);
        expect(await other.bestVoucher(channelOf(0))).to.equal(undefined);
        expect(await other.bestVouchers()).to.deep.equal([]);
        expect(await other.unclaimedVouchers()).to.deep.equal([]);
        expect(await other.channel(computeChannelId(configOf(0)))).to.equal(undefined);
        expect(await other.getMeta("lastBlock")).to.equal(undefined);
        expect(await other.payerChannel(record.channelId)).to.equal(undefined);
        expect(await other.payerChannels()).to.deep.equal([]);
        // The same id on the other deployment starts from nothing and does not move this one's best.
        expect(await other.saveVoucherIfHigher(voucher(0, 5n, 2))).to.deep.equal({ stored: true, previousAmount: 0n });
        await other.savePayerChannel({ ...record, ...deployment });
        // Its signed amount starts from 0, not from this deployment's 9.
        await other.recordSigned(record.channelId, 1n, signatureOf(1));
        expect((await other.payerChannel(record.channelId))?.signedAmount).to.equal(1n);
      }
      expect(await store.bestVoucher(channelOf(0))).to.deep.equal(voucher(0, 100n, 1));
      expect((await store.payerChannel(record.channelId))?.signedAmount).to.equal(9n);
      expect((await harness.backend.forDeployment(chainB).bestVoucher(channelOf(0)))?.amount).to.equal(5n);
    });

    it("treats the contract address case-insensitively and returns it lower-cased", async () => {
      const upper = harness.backend.forDeployment({ chainId: TEST_DEPLOYMENT.chainId, contract: `0x${"AB".repeat(20)}` });
      const lower = harness.backend.forDeployment({ chainId: TEST_DEPLOYMENT.chainId, contract: `0x${"ab".repeat(20)}` });
      expect(upper.deployment.contract).to.equal(`0x${"ab".repeat(20)}`);
      await upper.saveVoucherIfHigher(voucher(0, 3n));
      expect((await lower.bestVoucher(channelOf(0)))?.amount).to.equal(3n);
    });

    it("refuses a malformed deployment", () => {
      expect(() => harness.backend.forDeployment({ chainId: -1n, contract: TEST_DEPLOYMENT.contract })).to.throw().with.property("code", "INVALID_ARGUMENT");
      expect(() => harness.backend.forDeployment({ chainId: 1n, contract: "0x12" })).to.throw().with.property("code", "INVALID_ARGUMENT");
    });
  });

  describe("unclaimed value", () => {
    it("lists the channels whose best voucher is above what was recorded as claimed, and only those", async () => {
      for (let channel = 0; channel < 5; channel++) await store.saveVoucherIfHigher(voucher(channel, 100n, channel));
      await store.recordClaimed(channelOf(1), 100n); // fully claimed
      await store.recordClaimed(channelOf(2), 40n); // partly claimed
      await store.recordClaimed(channelOf(3), 10n, true); // finished: nothing can be claimed any more
      await store.recordClaimed(channelOf(9), 50n); // no voucher stored: nothing unclaimed
      expect(await store.unclaimedVouchers()).to.deep.equal([
        { ...voucher(0, 100n, 0), claimed: 0n },
        { ...voucher(2, 100n, 2), claimed: 40n },
        { ...voucher(4, 100n, 4), claimed: 0n },
      ]);
      // A better voucher on a claimed channel brings it back; a lower claim never lowers the record.
      await store.saveVoucherIfHigher(voucher(1, 150n, 7));
      await store.recordClaimed(channelOf(2), 20n);
      // finished is never undone
      await store.recordClaimed(channelOf(3), 10n, false);
      await store.saveVoucherIfHigher(voucher(3, 200n, 8));
      expect((await store.unclaimedVouchers()).map((v) => [v.channelId, v.amount, v.claimed])).to.deep.equal([
        [channelOf(0), 100n, 0n],
        [channelOf(1), 150n, 100n],
        [channelOf(2), 100n, 40n],
        [channelOf(4), 100n, 0n],
      ]);
    });

    it("property: the unclaimed set is exactly the channels with best > max(claimed) and not finished", async () => {
      const step = fc.oneof(
        fc.record({ kind: fc.constant("save" as const), channel: fc.integer({ min: 0, max: 3 }), amount: fc.bigInt({ min: 1n, max: 50n }) }),
        fc.record({ kind: fc.constant("claim" as const), channel: fc.integer({ min: 0, max: 3 }), amount: fc.bigInt({ min: 0n, max: 50n }), finished: fc.boolean() }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(step, { maxLength: 20 }), async (steps) => {
          const fresh = await open();
          try {
            const best = new Map<number, bigint>();
            const claimed = new Map<number, bigint>();
            const finished = new Set<number>();
            for (const s of steps) {
              if (s.kind === "save") {
                await fresh.store.saveVoucherIfHigher(voucher(s.channel, s.amount));
                if (s.amount > (best.get(s.channel) ?? 0n)) best.set(s.channel, s.amount);
              } else {
                await fresh.store.recordClaimed(channelOf(s.channel), s.amount, s.finished);
                if (s.amount > (claimed.get(s.channel) ?? 0n)) claimed.set(s.channel, s.amount);
                if (s.finished) finished.add(s.channel);
              }
            }
            const expected = [...best]
              .filter(([channel, amount]) => !finished.has(channel) && amount > (claimed.get(channel) ?? 0n))
              .map(([channel, amount]) => [channelOf(channel), amount, claimed.get(channel) ?? 0n])
              .sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1));
            expect((await fresh.store.unclaimedVouchers()).map((v) => [v.channelId, v.amount, v.claimed])).to.deep.equal(expected);
          } finally {
            await fresh.dispose();
          }
        }),
        { numRuns: Math.max(20, Math.floor(options.propertyRuns / 4)) },
      );
    });
  });

  describe("charged requests (one ledger for every process)", () => {
    const charge = (channel: number, amount: bigint, price: bigint, signature = Number(amount % 100_000n)) =>
      store.chargeVoucher(voucher(channel, amount, signature), price);

    it("charges a first voucher that covers the price, stores it and records it as served", async () => {
      expect(await charge(0, 10n, 10n)).to.deep.equal({ charged: true, stored: true, best: 10n, served: 10n });
      expect((await store.bestVoucher(channelOf(0)))?.amount).to.equal(10n);
      expect(await store.chargeLedger(channelOf(0))).to.deep.equal({ served: 10n, floor: 10n, used: [] });
    });

    it("a voucher that adds less than the price is refused and nothing is written", async () => {
      await charge(0, 10n, 10n);
      const before = await harness.snapshot();
      expect(await charge(0, 15n, 10n)).to.deep.equal({ charged: false, refusal: "INSUFFICIENT_PAYMENT", best: 10n, served: 10n });
      expect(await harness.snapshot()).to.equal(before);
    });

    it("a replayed voucher buys nothing, before and after the ledger folds it into its floor", async () => {
      await charge(0, 30n, 10n); // out of order: 30 arrives first, 10 and 20 ride on its surplus
      expect(await charge(0, 10n, 10n)).to.deep.include({ charged: true, stored: false, best: 30n, served: 20n });
      const before = await harness.snapshot();
      expect(await charge(0, 10n, 10n)).to.deep.equal({ charged: false, refusal: "NOT_INCREASING", best: 30n, served: 20n });
      expect(await charge(0, 30n, 10n)).to.deep.include({ charged: false, refusal: "NOT_INCREASING" });
      expect(await harness.snapshot()).to.equal(before);
      expect(await charge(0, 20n, 10n)).to.deep.equal({ charged: true, stored: false, best: 30n, served: 30n });
      expect(await store.chargeLedger(channelOf(0))).to.deep.equal({ served: 30n, floor: 30n, used: [] });
      for (const amount of [10n, 20n, 30n]) expect(await charge(0, amount, 10n)).to.deep.include({ charged: false, refusal: "NOT_INCREASING" });
    });

    it("issue 12.4: of two concurrent vouchers B + price and B + price + 1, the refused one is not stored and costs nothing", async () => {
      const price = 10n;
      await charge(0, 100n, 100n); // B = 100, all of it served
      const [low, high] = await Promise.all([charge(0, 100n + price, price), charge(0, 100n + price + 1n, price)]);
      expect(low).to.deep.equal({ charged: true, stored: true, best: 110n, served: 110n });
      expect(high).to.deep.equal({ charged: false, refusal: "INSUFFICIENT_PAYMENT", best: 110n, served: 110n });
      expect((await store.bestVoucher(channelOf(0)))?.amount, "the refused voucher was stored").to.equal(110n);
      // In the other order of arrival the higher one pays, and the lower one buys nothing more.
      const [high2, low2] = await Promise.all([charge(1, 11n, price), charge(1, 10n, price)]);
      expect(high2).to.deep.include({ charged: true, stored: true, best: 11n, served: 10n });
      expect(low2).to.deep.equal({ charged: false, refusal: "NOT_INCREASING", best: 11n, served: 10n });
      expect((await store.bestVoucher(channelOf(1)))?.amount).to.equal(11n);
    });

    it("vouchers saved without a charge buy no request, before or after the first charge", async () => {
      await store.saveVoucherIfHigher(voucher(0, 50n));
      expect(await charge(0, 40n, 10n)).to.deep.include({ charged: false, refusal: "NOT_INCREASING", served: 50n });
      expect(await charge(0, 60n, 10n)).to.deep.equal({ charged: true, stored: true, best: 60n, served: 60n });
      await store.saveVoucherIfHigher(voucher(0, 90n));
      expect(await store.chargeLedger(channelOf(0))).to.deep.include({ served: 90n });
      expect(await charge(0, 95n, 10n)).to.deep.include({ charged: false, refusal: "INSUFFICIENT_PAYMENT" });
      expect(await charge(0, 100n, 10n)).to.deep.include({ charged: true, served: 100n });
    });

    it("keeps the ledgers of one channel id on two deployments apart", async () => {
      const other = harness.backend.forDeployment({ chainId: 8453n, contract: TEST_DEPLOYMENT.contract });
      expect(await charge(0, 10n, 10n)).to.deep.include({ charged: true });
      expect(await other.chargeLedger(channelOf(0))).to.equal(undefined);
      expect(await other.chargeVoucher(voucher(0, 10n), 10n)).to.deep.equal({ charged: true, stored: true, best: 10n, served: 10n });
      expect(await charge(0, 10n, 10n)).to.deep.include({ charged: false, refusal: "NOT_INCREASING" });
      expect(await store.chargeLedger(channelOf(0))).to.deep.equal({ served: 10n, floor: 10n, used: [] });
    });

    it("prepaid credit: the best voucher presented again with the next token buys a request while its credit lasts; off by default", async () => {
      const chain = chainFor(0, 30n);
      expect(await store.chargeVoucher(voucher(0, 30n, 7), 10n, tokenOf(chain, 1))).to.deep.equal({ charged: true, stored: true, best: 30n, served: 10n });
      // Without a token the same bytes are a replay; a spent token, a forged one and one of another chain too.
      expect(await store.chargeVoucher(voucher(0, 30n, 7), 10n)).to.deep.equal({ charged: false, refusal: "NOT_INCREASING", best: 30n, served: 10n });
      expect(await store.chargeVoucher(voucher(0, 30n, 7), 10n, tokenOf(chain, 1))).to.deep.equal({ charged: false, refusal: "NOT_INCREASING", best: 30n, served: 10n });
      const forged = { prepaid: { ...tokenOf(chain, 2).prepaid, token: chainFor(9, 9n).tokens[1] } };
      expect(await store.chargeVoucher(voucher(0, 30n, 7), 10n, forged)).to.deep.include({ charged: false, refusal: "NOT_INCREASING" });
      expect(await store.chargeVoucher(voucher(0, 30n, 7), 10n, tokenOf(chainFor(0, 31n), 2))).to.deep.include({ charged: false, refusal: "NOT_INCREASING" });
      expect(await store.chargeVoucher(voucher(0, 30n, 7), 10n, tokenOf(chain, 2))).to.deep.equal({ charged: true, stored: false, best: 30n, served: 20n });
      expect(await store.chargeVoucher(voucher(0, 30n, 7), 10n, tokenOf(chain, 3))).to.deep.equal({ charged: true, stored: false, best: 30n, served: 30n });
      // The credit is spent: nothing more, and the ledger is one folded row without its chain.
      expect(await store.chargeVoucher(voucher(0, 30n, 7), 10n, tokenOf(chain, 4))).to.deep.equal({ charged: false, refusal: "NOT_INCREASING", best: 30n, served: 30n });
      expect(await store.chargeLedger(channelOf(0))).to.deep.equal({ served: 30n, floor: 30n, used: [] });
      // A voucher below the best is not re-presentable; a price above the credit left is refused.
      const next = chainFor(0, 60n);
      expect(await store.chargeVoucher(voucher(0, 60n, 8), 10n, tokenOf(next, 1))).to.deep.include({ charged: true, stored: true, served: 40n });
      expect(await store.chargeVoucher(voucher(0, 30n, 7), 10n, tokenOf(chain, 4))).to.deep.include({ charged: false, refusal: "NOT_INCREASING" });
      expect(await store.chargeVoucher(voucher(0, 60n, 8), 25n, tokenOf(next, 2))).to.deep.include({ charged: false, refusal: "NOT_INCREASING", served: 40n });
      expect((await store.chargeLedger(channelOf(0)))?.prepaid).to.deep.include({ anchor: next.anchor, top: 1, used: [1] });
      expect(await store.chargeVoucher(voucher(0, 60n, 8), 20n, tokenOf(next, 2))).to.deep.equal({ charged: true, stored: false, best: 60n, served: 60n });
      // A best stored by a plain save has no credit: it buys nothing, presented any number of times.
      await store.saveVoucherIfHigher(voucher(1, 50n, 9));
      expect(await store.chargeVoucher(voucher(1, 50n, 9), 10n, tokenOf(chainFor(1, 50n), 1))).to.deep.include({ charged: false, refusal: "NOT_INCREASING", served: 50n });
    });

    it("prepaid credit: tokens out of order within the window each buy once; a token too far ahead or behind, or of a superseded voucher, buys nothing", async () => {
      const chain = chainFor(0, 1_000n);
      expect(await store.chargeVoucher(voucher(0, 1_000n, 1), 1n, tokenOf(chain, 3))).to.deep.include({ charged: true, stored: true });
      for (const index of [1, 2, 5, 4]) expect(await store.chargeVoucher(voucher(0, 1_000n, 1), 1n, tokenOf(chain, index))).to.deep.include({ charged: true, stored: false });
      for (const index of [1, 3, 5]) expect(await store.chargeVoucher(voucher(0, 1_000n, 1), 1n, tokenOf(chain, index))).to.deep.include({ charged: false, refusal: "NOT_INCREASING" });
      expect(await store.chargeVoucher(voucher(0, 1_000n, 1), 1n, tokenOf(chain, 5 + PREPAID_TOKEN_WINDOW + 1))).to.deep.include({ charged: false, refusal: "NOT_INCREASING" });
      expect(await store.chargeVoucher(voucher(0, 1_000n, 1), 1n, tokenOf(chain, 5 + PREPAID_TOKEN_WINDOW))).to.deep.include({ charged: true, stored: false });
      // The top is now 69: token 5 is 64 behind, beyond the window, though never taken.
      expect(await store.chargeVoucher(voucher(0, 1_000n, 1), 1n, tokenOf(chain, 6))).to.deep.include({ charged: true, stored: false });
      expect(await store.chargeVoucher(voucher(0, 1_000n, 1), 1n, tokenOf(chain, 5))).to.deep.include({ charged: false, refusal: "NOT_INCREASING" });
      const ledger = await store.chargeLedger(channelOf(0));
      expect(ledger?.served).to.equal(7n);
      expect(ledger?.prepaid?.top).to.equal(69);
      expect(ledger?.prepaid?.used.every((i) => i > 69 - PREPAID_TOKEN_WINDOW)).to.equal(true);
      // A higher voucher without a token ends the chain: the old voucher's next tokens buy nothing.
      expect(await store.chargeVoucher(voucher(0, 1_001n, 2), 1n)).to.deep.include({ charged: true, stored: true });
      expect(await store.chargeVoucher(voucher(0, 1_000n, 1), 1n, tokenOf(chain, 70))).to.deep.include({ charged: false, refusal: "NOT_INCREASING" });
      expect(await store.chargeVoucher(voucher(0, 1_001n, 2), 1n, tokenOf(chain, 70))).to.deep.include({ charged: false, refusal: "NOT_INCREASING" });
      expect((await store.chargeLedger(channelOf(0)))?.prepaid).to.equal(undefined);
    });

    it("prepaid credit: a malformed token is INVALID_ARGUMENT and writes nothing", async () => {
      const { prepaid } = tokenOf(chainFor(0, 30n), 1);
      for (const bad of [{ ...prepaid, index: 0 }, { ...prepaid, index: 1.5 }, { ...prepaid, token: prepaid.token.toUpperCase().replace("0X", "0x") }, { ...prepaid, anchor: "0x12" }, "token"]) {
        await expectCode(store.chargeVoucher(voucher(0, 30n, 7), 10n, { prepaid: bad as never }), "INVALID_ARGUMENT");
      }
      expect(await store.bestVoucher(channelOf(0))).to.equal(undefined);
      expect(await store.chargeLedger(channelOf(0))).to.equal(undefined);
    });

    it("prepaid credit: concurrent presentations of one voucher are served exactly as far as it pays", async () => {
      const chain = chainFor(2, 100n);
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => store.chargeVoucher(voucher(2, 100n, 3), 10n, tokenOf(chain, i + 1))));
      expect(results.filter((r) => r.charged).length).to.equal(10);
      expect(results.filter((r) => r.charged && r.stored).length).to.equal(1);
      expect(await store.chargeLedger(channelOf(2))).to.deep.equal({ served: 100n, floor: 100n, used: [] });
    });

    it(`keeps at most ${USED_AMOUNTS_KEPT} used amounts above the floor; the lowest folds into it`, async () => {
      await charge(0, 5_000n, 1n);
      const count = USED_AMOUNTS_KEPT + 76;
      const amounts = Array.from({ length: count }, (_, i) => BigInt(i + 1));
      const results = await Promise.all(amounts.map((amount) => charge(0, amount, 1n)));
      expect(results.every((r) => r.charged)).to.equal(true);
      const ledger = await store.chargeLedger(channelOf(0));
      expect(ledger?.served).to.equal(BigInt(count + 1));
      expect(ledger?.used.length).to.equal(USED_AMOUNTS_KEPT);
      // USED_AMOUNTS_KEPT kept: 5000 and the highest USED_AMOUNTS_KEPT - 1 of 1..count; the rest is the floor.
      expect(ledger?.floor).to.equal(BigInt(count - USED_AMOUNTS_KEPT + 1));
      for (const amount of [1n, BigInt(count - USED_AMOUNTS_KEPT + 1), BigInt(count), 5_000n]) {
        expect(await charge(0, amount, 1n)).to.deep.include({ charged: false, refusal: "NOT_INCREASING" });
      }
      expect(await charge(0, BigInt(count + 1), 1n)).to.deep.include({ charged: true, stored: false });
    });

    it("property: concurrent charges, duplicates, out-of-order and re-presented (prepaid) vouchers serve exactly what was paid, and refusals write nothing", async () => {
      // prepaid: none (a plain charge), next (the chain's next token), replay (a token already taken) or
      // forged (a token of the right anchor that does not hash to it).
      const arrival = fc.record({
        channel: fc.integer({ min: 0, max: 2 }),
        amount: fc.bigInt({ min: 0n, max: 40n }),
        price: fc.bigInt({ min: 1n, max: 6n }),
        prepaid: fc.constantFrom("none", "none", "next", "next", "next", "replay", "forged"),
      });
      const tick = fc.record({ charges: fc.array(arrival, { minLength: 1, maxLength: 10 }), overlap: fc.boolean(), plainSave: fc.option(arrival, { nil: undefined }) });
      await fc.assert(
        fc.asyncProperty(fc.array(tick, { minLength: 1, maxLength: 8 }), async (ticks) => {
          const fresh = await open();
          try {
            // The reference model: the spec of ChargeResult applied in call order (a commit applies its
            // charges in arrival order, then its plain saves). `chain` is the bound chain: the amount of
            // the voucher it belongs to and the next token index to present.
            type Model = { best: bigint; served: bigint; floor: bigint; used: Set<bigint>; hasLedger: boolean; chain?: { amount: bigint; next: number } };
            const model = new Map<number, Model>();
            const state = (channel: number) => {
              let s = model.get(channel);
              if (s === undefined) model.set(channel, (s = { best: 0n, served: 0n, floor: 0n, used: new Set(), hasLedger: false }));
              return s;
            };
            const forged = (token: PrepaidToken): PrepaidToken => ({ ...token, token: `0x${"ab".repeat(32)}` as Hex });
            const chargeInModel = (channel: number, amount: bigint, price: bigint, mode: string): { result: ChargeResult; token?: PrepaidToken } => {
              const s = state(channel);
              // Until a first charge succeeds, everything held counts as served.
              if (!s.hasLedger) Object.assign(s, { served: s.best, floor: s.best, used: new Set(), chain: undefined });
              if (mode !== "none" && amount === s.best && s.best > 0n) {
                // The best presented again pays from its credit with the next token of its chain.
                const chain = s.chain ?? { amount, next: 1 };
                const next = tokenOf(chainFor(channel, chain.amount), chain.next).prepaid;
                const token = mode === "next" ? next : mode === "replay" && chain.next > 1 ? tokenOf(chainFor(channel, chain.amount), chain.next - 1).prepaid : forged(next);
                if (mode !== "next" || s.chain === undefined || s.served + price > s.best) {
                  return { result: { charged: false, refusal: "NOT_INCREASING", best: s.best, served: s.served }, token };
                }
                s.served += price;
                s.chain = { amount: chain.amount, next: chain.next + 1 };
                if (s.served === s.best) Object.assign(s, { floor: s.best, used: new Set(), chain: undefined });
                return { result: { charged: true, stored: false, best: s.best, served: s.served }, token };
              }
              // A plain charge; a token goes with it (the first of the voucher's own chain, or a forged one).
              const first = tokenOf(chainFor(channel, amount), 1).prepaid;
              const token = mode === "none" ? undefined : mode === "forged" ? forged(first) : first;
              if (amount <= s.floor || s.used.has(amount)) return { result: { charged: false, refusal: "NOT_INCREASING", best: s.best, served: s.served }, token };
              const after = amount > s.best ? amount : s.best;
              if (s.served + price > after) {
                return { result: { charged: false, refusal: amount > s.best ? "INSUFFICIENT_PAYMENT" : "NOT_INCREASING", best: s.best, served: s.served }, token };
              }
              const stored = amount > s.best;
              s.hasLedger = true;
              s.best = after;
              s.served += price;
              s.used.add(amount);
              // A new best binds its own chain when its token is good; a lower voucher leaves the chain.
              if (stored) s.chain = token !== undefined && mode !== "forged" ? { amount, next: 2 } : undefined;
              if (s.served === s.best) Object.assign(s, { floor: s.best, used: new Set(), chain: undefined });
              return { result: { charged: true, stored, best: after, served: s.served }, token };
            };
            let pending: Promise<void>[] = [];
            let n = 0;
            for (const { charges, overlap, plainSave } of ticks) {
              if (!overlap) {
                await Promise.all(pending);
                pending = [];
              }
              // Predict while queueing: calls of this turn form one commit, charges first.
              const expected = charges.map(({ channel, amount, price, prepaid }) => chargeInModel(channel, amount, price, prepaid));
              charges.forEach(({ channel, amount }, i) => {
                const price = charges[i].price;
                const signature = n++;
                const { result: predicted, token } = expected[i];
                pending.push(
                  fresh.store.chargeVoucher(voucher(channel, amount, signature), price, token === undefined ? {} : { prepaid: token }).then((result) => {
                    expect(result).to.deep.equal(predicted);
                  }),
                );
              });
              if (plainSave !== undefined) {
                const s = state(plainSave.channel);
                if (plainSave.amount > s.best) {
                  if (s.hasLedger) s.served += plainSave.amount - s.best;
                  s.best = plainSave.amount;
                  s.chain = undefined; // the new best has no chain
                }
                pending.push(fresh.store.saveVoucherIfHigher(voucher(plainSave.channel, plainSave.amount, n++)).then(() => undefined));
              }
              // Each tick is its own commit: let this one flush before the next is queued. A store whose
              // commit is asynchronous (PostgreSQL) merges the ticks queued while one is in flight, and a
              // merged commit applies all its charges before its plain saves: a tick with a plain save is
              // therefore awaited, so the charges of later ticks are not moved before it.
              await new Promise((resolve) => setImmediate(resolve));
              if (plainSave !== undefined) {
                await Promise.all(pending);
                pending = [];
              }
            }
            await Promise.all(pending);
            for (const [channel, s] of model) {
              expect((await fresh.store.bestVoucher(channelOf(channel)))?.amount ?? 0n).to.equal(s.best);
              const ledger = await fresh.store.chargeLedger(channelOf(channel));
              if (!s.hasLedger) expect(ledger).to.equal(undefined);
              else expect(ledger?.served).to.equal(s.served);
              expect(ledger === undefined || ledger.served <= s.best, "served more than was paid").to.equal(true);
            }
          } finally {
            await fresh.dispose();
          }
        }),
        { numRuns: options.propertyRuns },
      );
    });
  });

  describe("payee channels and meta", () => {
    it("remembers a channel config by its id, idempotently", async () => {
      const config = configOf(3);
      await store.saveChannel(config);
      await store.saveChannel(config);
      expect(await store.channel(computeChannelId(config))).to.deep.equal(config);
      expect(await store.channel(channelOf(3))).to.equal(undefined);
    });

    it("keeps meta values and overwrites them", async () => {
      expect(await store.getMeta("lastBlock")).to.equal(undefined);
      await store.setMeta("lastBlock", "100");
      await store.setMeta("lastBlock", "101");
      expect(await store.getMeta("lastBlock")).to.equal("101");
    });
  });

  describe("payer channels", () => {
    it("saves a record and raises the signed amount, strictly", async () => {
      const record = payerRecordOf(0);
      await store.savePayerChannel(record);
      expect(await store.payerChannel(record.channelId)).to.deep.equal(record);
      await store.recordSigned(record.channelId, 5n, signatureOf(5));
      await expectCode(store.recordSigned(record.channelId, 5n, signatureOf(6)), "NOT_INCREASING");
      await expectCode(store.recordSigned(record.channelId, 4n, signatureOf(4)), "NOT_INCREASING");
      await store.recordSigned(record.channelId, MAX_UINT256, signatureOf(7));
      expect(await store.payerChannel(record.channelId)).to.deep.equal({ ...record, signedAmount: MAX_UINT256, signature: signatureOf(7) });
      expect(await store.payerChannels()).to.have.length(1);
    });

    it("applies concurrent recordSigned calls in call order", async () => {
      const record = payerRecordOf(0);
      await store.savePayerChannel(record);
      const outcomes = await Promise.allSettled([3n, 5n, 4n, 6n].map((amount) => store.recordSigned(record.channelId, amount, signatureOf(Number(amount)))));
      expect(outcomes.map((o) => o.status)).to.deep.equal(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
      expect((await store.payerChannel(record.channelId))?.signedAmount).to.equal(6n);
    });

    it("saving a record again never lowers what was signed; a contradicting record is refused", async () => {
      const record = payerRecordOf(1);
      await store.savePayerChannel(record);
      await store.recordSigned(record.channelId, 10n, signatureOf(10));
      await store.savePayerChannel(record);
      expect((await store.payerChannel(record.channelId))?.signedAmount).to.equal(10n);
      await expectCode(store.savePayerChannel({ ...record, contract: hex(0x99, 20) }), "INVALID_ARGUMENT");
      await expectCode(store.savePayerChannel({ ...record, sessionKey: hex(0x98, 32) }), "STORE");
      expect((await store.payerChannel(record.channelId))?.contract).to.equal(record.contract);
    });
  });

  describe("refused input", () => {
    for (const { name, code, call } of badCalls()) {
      it(`${name}: ${code}, store unchanged`, async () => {
        await store.saveVoucherIfHigher(voucher(0, 100n));
        await store.savePayerChannel(payerRecordOf(0));
        await store.recordSigned(payerRecordOf(0).channelId, 50n, signatureOf(50));
        await store.setMeta("k", "v");
        const before = await harness.snapshot();
        await expectCode(call(store), code);
        expect(await harness.snapshot()).to.equal(before);
      });
    }

    it("a refused payer write does not undo the others of its commit", async () => {
      const record = payerRecordOf(0);
      await store.savePayerChannel(record);
      const [low, good, save] = await Promise.allSettled([
        store.recordSigned(record.channelId, 0n, signatureOf(0)),
        store.recordSigned(record.channelId, 2n, signatureOf(2)),
        store.saveVoucherIfHigher(voucher(0, 3n)),
      ]);
      expect([low.status, good.status, save.status]).to.deep.equal(["rejected", "fulfilled", "fulfilled"]);
      expect((await store.payerChannel(record.channelId))?.signedAmount).to.equal(2n);
      expect((await store.bestVoucher(channelOf(0)))?.amount).to.equal(3n);
    });

    it("a closed store refuses writes", async () => {
      await store.close();
      await expectCode(store.saveVoucherIfHigher(voucher(0, 1n)), "STORE");
    });
  });
}

/** The deployment of a test chain fixture, as stores key it. */
export function deploymentOf(d: { chainId: bigint; contract: Address }): Deployment {
  return { chainId: d.chainId, contract: d.contract };
}
