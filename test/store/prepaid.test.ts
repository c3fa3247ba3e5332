// The one-time tokens of prepaid credit (src/store/prepaid.ts): the chain links by keccak256, every
// token is taken at most once, nothing off the chain is ever taken, and the ledger column round-trips.
import { expect } from "chai";
import fc from "fast-check";
import type { Hex } from "../../src/channel.ts";
import { keccak256 } from "../../src/crypto/keccak.ts";
import { toHex } from "../../src/crypto/encoding.ts";
import { decodePrepaidToken, encodePrepaidToken } from "../../src/http/headers.ts";
import {
  decodeChain,
  encodeChain,
  isPrepaidToken,
  MAX_PREPAID_TOKENS,
  PREPAID_TOKEN_WINDOW,
  prepaidChain,
  startChain,
  takeToken,
  type PrepaidChain,
} from "../../src/store/prepaid.ts";

const hash = (hex: Hex): Hex => toHex(keccak256(Uint8Array.from(Buffer.from(hex.slice(2), "hex"))));

describe("prepaid tokens: the hash chain", () => {
  it("links each token to the one before it by keccak256, down to the anchor", () => {
    const seed = new Uint8Array(32).fill(3);
    const { anchor, tokens } = prepaidChain(seed, 5);
    expect(tokens).to.have.length(5);
    expect(tokens[4]).to.equal(toHex(seed));
    for (let i = 4; i >= 1; i--) expect(hash(tokens[i])).to.equal(tokens[i - 1]);
    expect(hash(tokens[0])).to.equal(anchor);
    expect(() => prepaidChain(new Uint8Array(31), 5)).to.throw(TypeError);
    for (const count of [0, 1.5, MAX_PREPAID_TOKENS + 1]) expect(() => prepaidChain(seed, count)).to.throw(TypeError);
  });

  it("property: any order of presentations takes each token of the chain at most once, within the window, and nothing else", () => {
    const { anchor, tokens } = prepaidChain(new Uint8Array(32).fill(9), 200);
    const presentation = fc.record({ index: fc.integer({ min: 1, max: 200 }), kind: fc.constantFrom("real", "real", "real", "forged", "otherAnchor") });
    fc.assert(
      fc.property(fc.array(presentation, { maxLength: 120 }), (presentations) => {
        let chain: PrepaidChain = startChain(anchor);
        const taken = new Set<number>();
        let top = 0;
        for (const { index, kind } of presentations) {
          const token = kind === "forged" ? hash(tokens[index - 1]) : tokens[index - 1];
          const next = takeToken(chain, { anchor: kind === "otherAnchor" ? hash(anchor) : anchor, index, token });
          // The reference: a real token not yet taken, at most a window ahead of the highest taken and
          // less than a window behind it.
          const expected = kind === "real" && !taken.has(index) && index - top <= PREPAID_TOKEN_WINDOW && top - index < PREPAID_TOKEN_WINDOW && index !== top;
          expect(next !== undefined, `${kind} token ${index} with top ${top}`).to.equal(expected);
          if (next !== undefined) {
            taken.add(index);
            top = Math.max(top, index);
            chain = next;
            expect(chain.used.length).to.be.at.most(PREPAID_TOKEN_WINDOW);
            expect(decodeChain(encodeChain(chain))).to.deep.equal(chain);
          }
        }
      }),
    );
  });

  it("the ledger column: round-trips, and refuses what it did not write", () => {
    const chain: PrepaidChain = { anchor: `0x${"aa".repeat(32)}`, top: 7, topToken: `0x${"bb".repeat(32)}`, used: [5, 7] };
    expect(decodeChain(encodeChain(chain))).to.deep.equal(chain);
    expect(decodeChain(encodeChain(undefined))).to.equal(undefined);
    expect(decodeChain(encodeChain({ ...chain, used: [] }))).to.deep.equal({ ...chain, used: [] });
    for (const bad of ["x", `${chain.anchor}:7:${chain.topToken}`, `${chain.anchor}:07:${chain.topToken}:`, `${chain.anchor.toUpperCase()}:7:${chain.topToken}:1`, `${encodeChain(chain)}:1`]) {
      expect(() => decodeChain(bad), bad).to.throw(TypeError);
    }
  });

  it("the PAYMENT-PREPAID header: round-trips, and is MALFORMED for anything off", () => {
    const token = { anchor: `0x${"aa".repeat(32)}` as Hex, index: 12, token: `0x${"bb".repeat(32)}` as Hex };
    expect(isPrepaidToken(token)).to.equal(true);
    expect(decodePrepaidToken(encodePrepaidToken(token))).to.deep.equal(token);
    const text = encodePrepaidToken(token);
    for (const bad of ["", text.toUpperCase(), text.replace(":12:", ":012:"), text.replace(":12:", ":0:"), text.replace(":12:", `:${MAX_PREPAID_TOKENS + 1}:`), `${text} `, text.replace("0xaa", "aa")]) {
      expect(() => decodePrepaidToken(bad), bad).to.throw().with.property("code", "MALFORMED");
    }
    expect(decodePrepaidToken(text.replace(":12:", `:${MAX_PREPAID_TOKENS}:`)).index).to.equal(MAX_PREPAID_TOKENS);
  });
});
