// The donor SDK: caps checked before signing (nothing signed or recorded above them), receipts verified,
// yearly statements in JSON and CSV. Property: whatever the sequence of tips, no cap is ever exceeded.
import { expect } from "chai";
import fc from "fast-check";
import { privateKeyToAccount } from "viem/accounts";
import type { Address, Hex } from "../../src/channel.ts";
import {
  DonationCapExceededError,
  Donor,
  ReceiptInvalidError,
  TipInvalidError,
  amountOf,
  receiptTypedData,
  recoverTallySigner,
  statementToCsv,
  statementToJson,
  tallyTotal,
  type BudgetConfig,
  type TipReceipt,
} from "../../src/donations/index.ts";
import { expectRejection } from "./rejection.ts";

const donorAccount = privateKeyToAccount(`0x${"11".repeat(32)}`);
const creatorAccounts = [privateKeyToAccount(`0x${"22".repeat(32)}`), privateKeyToAccount(`0x${"33".repeat(32)}`)];
const [alice, bob] = creatorAccounts.map((account) => account.address) as [Address, Address];
const domain = { chainId: 31337n, verifyingContract: "0x00000000000000000000000000000000000000aa" as Address };
const config: BudgetConfig = {
  donor: donorAccount.address, token: "0x0000000000000000000000000000000000000000", signer: donorAccount.address,
  closeDelay: 86_400n, salt: `0x${"01".repeat(32)}` as Hex,
};
const JAN_1_2026 = 1_767_225_600n;
const DAY = 86_400n;

function donor(caps = {}, clock = { now: JAN_1_2026 }, deposit = 1_000n): Donor {
  return new Donor({ signer: donorAccount, config, deposit, domain, caps, now: () => clock.now });
}

async function receiptFor(index: number, d: Donor, amount: bigint, cumulative: bigint, time: bigint): Promise<TipReceipt> {
  const account = creatorAccounts[index]!;
  const fields = { budgetId: d.budgetId, donor: config.donor, creator: account.address, amount, cumulative, time };
  return { ...fields, signature: await account.signTypedData(receiptTypedData(domain, fields)) };
}

describe("donations: Donor", () => {
  it("signs a growing tally the budget signer can be recovered from", async () => {
    const d = donor();
    const first = await d.tip(alice, 5n);
    const second = await d.tip(bob, 7n);
    const third = await d.tip(alice, 1n);
    expect(third.signed.tally).to.deep.equal({ creators: [alice, bob], amounts: [6n, 7n] });
    expect(third.signed.total).to.equal(13n);
    for (const tip of [first, second, third]) {
      expect(await recoverTallySigner(domain, tip.signed)).to.equal(donorAccount.address);
    }
    expect(d.given).to.equal(13n);
    expect(d.givenTo(alice)).to.equal(6n);
  });

  it("refuses tips above each cap and the deposit with DONATION_CAP_EXCEEDED, signing and recording nothing", async () => {
    const clock = { now: JAN_1_2026 };
    const d = donor({ perCreator: 10n, perDay: 15n, total: 25n }, clock, 100n);
    await d.tip(alice, 10n);
    await expectRejection(d.tip(alice, 1n), DonationCapExceededError, "per-creator");
    await d.tip(bob, 5n);
    await expectRejection(d.tip(bob, 1n), DonationCapExceededError, "daily");
    clock.now += DAY;
    const carol = "0x00000000000000000000000000000000000000c3" as Address;
    await d.tip(carol, 9n);
    await d.tip(carol, 1n);
    expect(d.given).to.equal(25n);
    await expectRejection(d.tip("0x00000000000000000000000000000000000000d4", 1n), DonationCapExceededError, "total");
    const small = donor({}, clock, 3n);
    await expectRejection(small.tip(alice, 4n), DonationCapExceededError, "deposit");
    small.setDeposit(4n);
    await small.tip(alice, 4n);
    expect(() => small.setDeposit(1n)).to.throw(TipInvalidError);
    expect(tallyTotal(d.tally)).to.equal(25n);
  });

  it("refuses a bad tip or a signer that is not the budget's with TIP_INVALID", async () => {
    const d = donor();
    for (const [creator, amount] of [[alice, 0n], [alice, -1n], ["0x12" as Address, 1n], ["0x0000000000000000000000000000000000000000" as Address, 1n]] as const) {
      await expectRejection(d.tip(creator, amount), TipInvalidError);
    }
    expect(() => new Donor({ signer: creatorAccounts[0]!, config, deposit: 1n, domain })).to.throw(TipInvalidError);
    expect(d.given).to.equal(0n);
  });

  it("never exceeds a cap whatever the tips (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ creator: fc.integer({ min: 0, max: 1 }), amount: fc.bigInt({ min: 1n, max: 40n }), days: fc.integer({ min: 0, max: 2 }) }), { maxLength: 25 }),
        async (tips) => {
          const clock = { now: JAN_1_2026 };
          const d = donor({ perCreator: 60n, perDay: 50n, total: 90n }, clock, 80n);
          const perDay = new Map<bigint, bigint>();
          for (const tip of tips) {
            clock.now += BigInt(tip.days) * DAY;
            const creator = tip.creator === 0 ? alice : bob;
            try {
              await d.tip(creator, tip.amount);
              perDay.set(clock.now / DAY, (perDay.get(clock.now / DAY) ?? 0n) + tip.amount);
            } catch (error) {
              expect(error).to.be.instanceOf(DonationCapExceededError);
            }
          }
          expect(d.given <= 80n).to.equal(true);
          expect(amountOf(d.tally, alice) <= 60n && amountOf(d.tally, bob) <= 60n).to.equal(true);
          for (const spent of perDay.values()) expect(spent <= 50n).to.equal(true);
          expect(tallyTotal(d.tally)).to.equal(d.given);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("keeps the creator's receipts and refuses one that is forged, for another budget, or matches no tip", async () => {
    const d = donor();
    const tip = await d.tip(alice, 5n);
    await d.tip(alice, 3n);
    const good = await receiptFor(0, d, 5n, 5n, tip.time);
    await d.recordReceipt(good);
    await expectRejection(d.recordReceipt(good), ReceiptInvalidError, "no tip");
    const forged = { ...(await receiptFor(1, d, 3n, 8n, tip.time)), creator: alice };
    await expectRejection(d.recordReceipt(forged), ReceiptInvalidError, "not signed");
    await expectRejection(d.recordReceipt({ ...good, budgetId: `0x${"ff".repeat(32)}` }), ReceiptInvalidError, "another budget");
    await expectRejection(d.recordReceipt({ ...good, signature: "0x1234" }), ReceiptInvalidError);
    await d.recordReceipt(await receiptFor(0, d, 3n, 8n, tip.time));
    expect(d.statement(2026).unreceipted).to.equal(0);
  });

  it("writes a yearly statement as JSON and CSV, with only that year's tips", async () => {
    const clock = { now: JAN_1_2026 - DAY };
    const d = donor({}, clock);
    await d.tip(alice, 9n); // 2025
    clock.now = JAN_1_2026 + 10n;
    const tip = await d.tip(alice, 4n);
    await d.tip(bob, 6n);
    await d.recordReceipt(await receiptFor(0, d, 4n, 13n, tip.time));
    const statement = d.statement(2026);
    expect(statement.total).to.equal(10n);
    expect(statement.totals).to.deep.equal([{ creator: alice, amount: 4n }, { creator: bob, amount: 6n }]);
    expect(statement.unreceipted).to.equal(1);
    const json = JSON.parse(statementToJson(statement));
    expect(json).to.include({ year: 2026, total: "10", unreceipted: 1 });
    expect(json.tips.map((t: { amount: string }) => t.amount)).to.deep.equal(["4", "6"]);
    expect(json.tips[0].date).to.equal("2026-01-01T00:00:10.000Z");
    const csv = statementToCsv(statement).trim().split("\n");
    expect(csv[0]).to.equal("date,budget_id,creator,amount,receipt_signature");
    expect(csv).to.have.length(3);
    expect(csv[1]!.split(",")).to.have.length(5);
    expect(csv[1]!.split(",")[4]).to.match(/^0x[0-9a-f]{130}$/);
    expect(csv[2]!.endsWith(",")).to.equal(true);
    expect(d.statement(2025).total).to.equal(9n);
  });
});

describe("donations: localSigner", () => {
  it("signs typed data byte for byte like a viem account, and recovers what viem recovers", async () => {
    const { localSigner, recoverTypedDataSigner, tallyTypedData } = await import("../../src/donations/index.ts");
    const signer = localSigner(`0x${"11".repeat(32)}`);
    expect(signer.address).to.equal(donorAccount.address);
    const typed = tallyTypedData(domain, `0x${"ab".repeat(32)}`, { creators: [alice, bob], amounts: [1n, 2n] });
    const signature = await signer.signTypedData(typed);
    expect(signature).to.equal(await donorAccount.signTypedData(typed));
    expect(recoverTypedDataSigner(typed, signature)).to.equal(donorAccount.address);
    // A high-s twin, a bad v and a short signature are refused, as OpenZeppelin's ECDSA refuses them.
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${signature.slice(66, 130)}`);
    const twin = `${signature.slice(0, 66)}${(n - s).toString(16).padStart(64, "0")}${signature.endsWith("1b") ? "1c" : "1b"}` as Hex;
    expect(recoverTypedDataSigner(typed, twin)).to.equal(undefined);
    expect(recoverTypedDataSigner(typed, `${signature.slice(0, 130)}1d` as Hex)).to.equal(undefined);
    expect(recoverTypedDataSigner(typed, "0x1234")).to.equal(undefined);
  });
});
