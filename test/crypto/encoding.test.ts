// The browser-safe base64 and hex codecs agree with Node's Buffer on every input, and the strict base64
// decoder accepts exactly the strings the encoder writes.
import { expect } from "chai";
import fc from "fast-check";
import { fromBase64, parseHexInto, toBase64, toHex } from "../../src/crypto/encoding.ts";

describe("encoding", () => {
  it("toBase64 equals Buffer's base64 and fromBase64 inverts it", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = toBase64(bytes);
        expect(text).to.equal(Buffer.from(bytes).toString("base64"));
        expect(fromBase64(text)).to.deep.equal(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it("fromBase64 accepts a string only when it is the canonical encoding of its bytes", () => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ ".split("");
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 24 }).map((chars) => chars.join("")), (text) => {
        const decoded = fromBase64(text);
        const canonical = text.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text) && Buffer.from(text, "base64").toString("base64") === text;
        expect(decoded !== undefined).to.equal(canonical);
        if (decoded !== undefined) expect(Buffer.from(decoded).toString("base64")).to.equal(text);
      }),
      { numRuns: 5000 },
    );
  });

  it("fromBase64 refuses stray padding bits, misplaced padding and non-strings", () => {
    expect(fromBase64("QR==")).to.equal(undefined); // "QQ==" is the canonical spelling of "A"
    expect(fromBase64("QUI=")).to.deep.equal(new Uint8Array([0x41, 0x42]));
    expect(fromBase64("QUJ=")).to.equal(undefined);
    expect(fromBase64("Q=Q=")).to.equal(undefined);
    expect(fromBase64("====")).to.equal(undefined);
    expect(fromBase64("QUJD\n")).to.equal(undefined);
    expect(fromBase64(42)).to.equal(undefined);
  });

  it("toHex and parseHexInto round-trip and equal Buffer's hex", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
        const hex = toHex(bytes);
        expect(hex).to.equal(`0x${Buffer.from(bytes).toString("hex")}`);
        const out = new Uint8Array(bytes.length);
        expect(parseHexInto(hex, out, 0, bytes.length, true)).to.equal(true);
        expect(out).to.deep.equal(bytes);
      }),
    );
  });
});
