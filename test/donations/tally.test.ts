// Tallies (property-tested): a tip always yields a tally that extends the last one, raises the total by the
// tip and the creator's amount by the tip; anything that lowers or drops a creator does not extend.
import { expect } from "chai";
import fc from "fast-check";
import type { Address } from "../../src/channel.ts";
import { EMPTY_TALLY, addTip, amountOf, extendsTally, tallyHash, tallyTotal, type Tally } from "../../src/donations/index.ts";

const creators: Address[] = Array.from({ length: 6 }, (_, i) => `0x${(i + 1).toString(16).padStart(40, "0")}` as Address);
const tips = fc.array(fc.record({ creator: fc.integer({ min: 0, max: 5 }), amount: fc.bigInt({ min: 1n, max: 10n ** 20n }) }), { maxLength: 30 });

describe("donations: tallies", () => {
  it("every tip extends the tally, adds exactly its amount, and changes the hash", () => {
    fc.assert(
      fc.property(tips, (sequence) => {
        let tally: Tally = EMPTY_TALLY;
        for (const { creator, amount } of sequence) {
          const next = addTip(tally, creators[creator]!, amount);
          expect(extendsTally(tally, next)).to.equal(true);
          expect(tallyTotal(next)).to.equal(tallyTotal(tally) + amount);
          expect(amountOf(next, creators[creator]!)).to.equal(amountOf(tally, creators[creator]!) + amount);
          expect(tallyHash(next)).not.to.equal(tallyHash(tally));
          expect(extendsTally(next, tally)).to.equal(false); // never backwards
          tally = next;
        }
      }),
    );
  });

  it("a tally that lowers, reorders or drops a creator does not extend", () => {
    fc.assert(
      fc.property(tips.filter((s) => s.length > 0), fc.nat(), (sequence, pick) => {
        const tally = sequence.reduce((t, { creator, amount }) => addTip(t, creators[creator]!, amount), EMPTY_TALLY);
        const i = pick % tally.creators.length;
        const lowered = { creators: tally.creators, amounts: tally.amounts.map((a, j) => (j === i ? a - 1n : a)) };
        expect(extendsTally(tally, lowered)).to.equal(false);
        const dropped = { creators: tally.creators.filter((_, j) => j !== i), amounts: tally.amounts.filter((_, j) => j !== i) };
        expect(extendsTally(tally, dropped)).to.equal(false);
        if (tally.creators.length > 1) {
          const swapped = { creators: [...tally.creators].reverse(), amounts: [...tally.amounts].reverse() };
          expect(extendsTally(tally, swapped)).to.equal(tally.creators.every((c, j) => c === swapped.creators[j]));
        }
      }),
    );
  });

  it("hashes the empty tally to zero, as the contract stores it", () => {
    expect(tallyHash(EMPTY_TALLY)).to.equal(`0x${"00".repeat(32)}`);
  });
});
