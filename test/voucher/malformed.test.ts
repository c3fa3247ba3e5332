import { expect } from "chai";
import fc from "fast-check";
import { Wallet } from "ethers";
import { BadSignatureError, MalformedVoucherError } from "../../src/errors.ts";
import { VoucherVerifier, decodeVoucher, encodeVoucher, signVoucher, type Voucher } from "../../src/voucher.ts";
import { CURVE_ORDER, highSTwin, withV } from "./signatures.ts";

type Hex = `0x${string}`;

const DOMAIN = { chainId: 31337n, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Hex };
const KEY: Hex = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const SIGNER = new Wallet(KEY).address as Hex;
const MAX_UINT256 = (1n << 256n) - 1n;
const RUNS = process.env.TRICKLE_DEEP === "1" ? 100_000 : 10_000;

// A few genuine vouchers to mutate: small, large and extreme amounts on two channels.
const ORIGINALS: Voucher[] = [
  signVoucher(DOMAIN, `0x${"11".repeat(32)}`, 1n, KEY),
  signVoucher(DOMAIN, `0x${"11".repeat(32)}`, 10n ** 18n, KEY),
  signVoucher(DOMAIN, `0x${"a7".repeat(32)}`, MAX_UINT256, KEY),
  signVoucher(DOMAIN, `0x${"a7".repeat(32)}`, 0n, KEY),
];

const bytesHex = (bytes: Uint8Array) => `0x${Buffer.from(bytes).toString("hex")}` as Hex;
const flipByte = (hex: Hex, index: number, mask: number): Hex => {
  const bytes = Buffer.from(hex.slice(2), "hex");
  bytes[index % bytes.length] ^= mask;
  return bytesHex(bytes);
};

/** Every way to spoil a genuine voucher: each result differs from every original in at least one byte or rule. */
const mutation = fc.oneof(
  // signature bytes: r, s or v
  fc.record({
    kind: fc.constant("signature byte" as const),
    index: fc.nat(64),
    mask: fc.integer({ min: 1, max: 255 }),
  }),
  // signature length: truncated or extended
  fc.record({
    kind: fc.constant("signature length" as const),
    length: fc.oneof(fc.nat(64), fc.integer({ min: 66, max: 200 })),
    fill: fc.uint8Array({ maxLength: 200 }),
  }),
  // signature spelling: a non-hex or uppercase character, a missing prefix
  fc.record({
    kind: fc.constant("signature text" as const),
    index: fc.nat(131),
    char: fc.constantFrom("g", "G", "X", " ", "\n", "é", "A", "F", "0x"),
  }),
  // v: anything but 27 and 28
  fc.record({
    kind: fc.constant("v" as const),
    v: fc.integer({ min: 0, max: 255 }).filter((v) => v !== 27 && v !== 28),
  }),
  fc.record({ kind: fc.constant("high s" as const) }),
  // r or s out of range
  fc.record({
    kind: fc.constant("r or s" as const),
    which: fc.constantFrom(0, 1),
    value: fc.oneof(
      fc.constant(0n),
      fc.bigInt({ min: CURVE_ORDER, max: MAX_UINT256 }),
      fc.bigInt({ min: CURVE_ORDER / 2n + 1n, max: MAX_UINT256 }),
    ),
  }),
  // amount: another uint256 (a genuine signature over another amount) or not a uint256 at all
  fc.record({
    kind: fc.constant("amount" as const),
    delta: fc.bigInt({ min: -(1n << 80n), max: 1n << 80n }).filter((d) => d !== 0n),
  }),
  fc.record({
    kind: fc.constant("amount type" as const),
    value: fc.oneof(
      fc.bigInt({ min: -(1n << 300n), max: -1n }),
      fc.bigInt({ min: MAX_UINT256 + 1n, max: 1n << 300n }),
      fc.double(),
      fc.integer(),
      fc.string(),
      fc.constant(undefined),
      fc.constant(null),
    ),
  }),
  // channel id: bytes, length, spelling
  fc.record({ kind: fc.constant("channel byte" as const), index: fc.nat(31), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({
    kind: fc.constant("channel text" as const),
    value: fc.oneof(
      fc.string(),
      fc
        .uint8Array({ maxLength: 40 })
        .filter((b) => b.length !== 32)
        .map(bytesHex),
    ),
  }),
  // the wire string: one character changed, or cut
  fc.record({
    kind: fc.constant("wire char" as const),
    index: fc.nat(171),
    char: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= .".split("")),
  }),
  fc.record({ kind: fc.constant("wire length" as const), length: fc.nat(300).filter((l) => l !== 172) }),
  // not a voucher at all
  fc.record({ kind: fc.constant("garbage" as const), value: fc.anything() }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function spoil(original: Voucher, m: Mutation): { voucher?: unknown; wire?: string } {
  const sig = original.signature;
  switch (m.kind) {
    case "signature byte":
      return { voucher: { ...original, signature: flipByte(sig, m.index, m.mask) } };
    case "signature length": {
      const bytes = Buffer.alloc(m.length);
      Buffer.from(sig.slice(2), "hex").copy(bytes);
      if (m.length > 65) Buffer.from(m.fill).copy(bytes, 65, 0, m.length - 65);
      return { voucher: { ...original, signature: bytesHex(bytes) } };
    }
    case "signature text": {
      const index = m.char === "0x" ? 0 : m.index;
      const text = m.char === "0x" ? sig.slice(2) : `${sig.slice(0, index)}${m.char}${sig.slice(index + 1)}`;
      // Replacing a digit by itself is no mutation: uppercase A/F over an "a"/"f" still changes the spelling.
      return { voucher: { ...original, signature: text === sig ? `${sig} ` : text } };
    }
    case "v":
      return { voucher: { ...original, signature: withV(sig, m.v) } };
    case "high s":
      return { voucher: { ...original, signature: highSTwin(sig) } };
    case "r or s": {
      const word = m.value.toString(16).padStart(64, "0");
      const text = m.which === 0 ? `0x${word}${sig.slice(66)}` : `${sig.slice(0, 66)}${word}${sig.slice(130)}`;
      return { voucher: { ...original, signature: text } };
    }
    case "amount":
      return { voucher: { ...original, amount: original.amount + m.delta } };
    case "amount type":
      return { voucher: { ...original, amount: m.value } };
    case "channel byte":
      return { voucher: { ...original, channelId: flipByte(original.channelId, m.index, m.mask) } };
    case "channel text":
      return { voucher: { ...original, channelId: m.value } };
    case "wire char": {
      const wire = encodeVoucher(original);
      const spoiled = `${wire.slice(0, m.index)}${m.char}${wire.slice(m.index + 1)}`;
      return { wire: spoiled === wire ? `${wire}${m.char}` : spoiled };
    }
    case "wire length":
      return { wire: encodeVoucher(original).padEnd(m.length, "A").slice(0, m.length) };
    case "garbage":
      return { voucher: m.value };
  }
}

describe("voucher: random malformed vouchers", () => {
  it(`${RUNS.toLocaleString("en-US")} spoiled vouchers: none is accepted, each fails with MALFORMED or BAD_SIGNATURE`, () => {
    const verifier = new VoucherVerifier(DOMAIN);
    for (const original of ORIGINALS) verifier.verify(original, SIGNER); // keys cached: the fast path is under test
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(fc.constantFrom(...ORIGINALS), mutation, (original, m) => {
        const { voucher, wire } = spoil(original, m);
        seen.set(m.kind, (seen.get(m.kind) ?? 0) + 1);
        let error: unknown;
        try {
          verifier.verify((wire === undefined ? voucher : decodeVoucher(wire)) as Voucher, SIGNER);
        } catch (caught) {
          error = caught;
        }
        expect(error, `accepted after "${m.kind}"`).to.not.equal(undefined);
        expect(error instanceof MalformedVoucherError || error instanceof BadSignatureError, String(error)).to.equal(
          true,
        );
      }),
      { numRuns: RUNS },
    );
    expect(seen.size, "every kind of mutation was drawn").to.equal(13);
    for (const original of ORIGINALS) verifier.verify(original, SIGNER); // and the originals still pass
  });
});
