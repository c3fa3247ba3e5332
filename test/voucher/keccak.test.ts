import { expect } from "chai";
import fc from "fast-check";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { keccak256 } from "../../src/crypto/keccak.ts";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

describe("keccak256 (unrolled)", () => {
  it("matches the known empty-input hash", () => {
    expect(hex(keccak256(new Uint8Array(0)))).to.equal(
      "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
    );
  });

  it("equals @noble/hashes on every length across three blocks, block edges included", () => {
    for (let length = 0; length <= 3 * 136 + 1; length++) {
      const input = Uint8Array.from({ length }, (_, i) => (i * 131 + length) & 0xff);
      expect(hex(keccak256(input)), `length ${length}`).to.equal(hex(keccak_256(input)));
    }
  });

  it("equals @noble/hashes on random inputs", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), (input) => {
        expect(hex(keccak256(input))).to.equal(hex(keccak_256(input)));
      }),
      { numRuns: 2_000 },
    );
  });

  it("reads a subarray at any offset without touching the rest", () => {
    const backing = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    const view = backing.subarray(7, 7 + 66);
    expect(hex(keccak256(view))).to.equal(hex(keccak_256(view.slice())));
    expect(backing[0]).to.equal(0);
    expect(backing[299]).to.equal(299 & 0xff);
  });
});
