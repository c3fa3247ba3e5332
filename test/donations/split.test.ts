// The split SDK: the salt SplitPayee checks, the shares it pays (property-tested), lists it would refuse.
import { expect } from "chai";
import fc from "fast-check";
import type { Address, Hex } from "../../src/channel.ts";
import { MAX_SPLIT_RECIPIENTS, SplitListInvalidError, splitChannelConfig, splitSalt, splitShares, type SplitList } from "../../src/donations/index.ts";

const address = (i: number): Address => `0x${(i + 1).toString(16).padStart(40, "0")}`;
const NONCE: Hex = `0x${"00".repeat(32)}`;

describe("donations: split lists", () => {
  it("shares sum to what arrived, no recipient after the first gets above its exact share, the first never below", () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: (1n << 96n) - 1n }), { minLength: 1, maxLength: 20 }).filter((w) => w.some((x) => x > 0n)),
        fc.bigInt({ min: 0n, max: (1n << 104n) - 1n }),
        (weights, arrived) => {
          const list: SplitList = { recipients: weights.map((_, i) => address(i)), weights, nonce: NONCE };
          const shares = splitShares(list, arrived);
          const total = weights.reduce((a, b) => a + b, 0n);
          expect(shares.reduce((a, b) => a + b, 0n)).to.equal(arrived);
          shares.forEach((share, i) => {
            expect(share >= 0n).to.equal(true);
            if (i === 0) expect(share * total >= arrived * weights[0]!).to.equal(true);
            else expect(share * total <= arrived * weights[i]!).to.equal(true);
          });
          // The first recipient's extra is below one unit per other recipient.
          expect(shares[0]! * total - arrived * weights[0]! < BigInt(weights.length) * total).to.equal(true);
        },
      ),
    );
  });

  it("commits the channel to the list through its salt", () => {
    const list: SplitList = { recipients: [address(1), address(2)], weights: [1n, 3n], nonce: NONCE };
    const config = splitChannelConfig({
      payer: address(9), token: address(0), signer: address(9), closeDelay: 3600n, splitPayee: address(7), list,
    });
    expect(config.payee).to.equal(address(7));
    expect(config.salt).to.equal(splitSalt(list));
    expect(splitSalt({ ...list, weights: [3n, 1n] })).not.to.equal(config.salt);
  });

  it("refuses every list SplitPayee would refuse, with SPLIT_LIST_INVALID", () => {
    const bad: SplitList[] = [
      { recipients: [], weights: [], nonce: NONCE },
      { recipients: [address(1)], weights: [1n, 2n], nonce: NONCE },
      { recipients: [address(1), address(2)], weights: [0n, 0n], nonce: NONCE },
      { recipients: [address(1)], weights: [1n << 96n], nonce: NONCE },
      { recipients: ["0x1234" as Address], weights: [1n], nonce: NONCE },
      { recipients: Array.from({ length: MAX_SPLIT_RECIPIENTS + 1 }, (_, i) => address(i)), weights: Array(MAX_SPLIT_RECIPIENTS + 1).fill(1n), nonce: NONCE },
    ];
    for (const list of bad) {
      expect(() => splitSalt(list)).to.throw(SplitListInvalidError).with.property("code", "SPLIT_LIST_INVALID");
      expect(() => splitShares(list, 10n)).to.throw(SplitListInvalidError);
    }
  });
});
