import { expect } from "chai";
import fc from "fast-check";
import { TypedDataEncoder, Wallet } from "ethers";
import { hashTypedData } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { BadSignatureError, InvalidArgumentError, MalformedVoucherError } from "../../src/errors.ts";
import {
  VOUCHER_TYPES,
  VOUCHER_WIRE_LENGTH,
  VoucherVerifier,
  assertVoucherShape,
  decodeVoucher,
  domainSeparator,
  eip712Domain,
  encodeVoucher,
  recoverVoucherSigner,
  signVoucher,
  verifyVoucher,
  voucherDigest,
  type Voucher,
  type VoucherDomain,
} from "../../src/voucher.ts";
import { CURVE_ORDER, flipV, highSTwin, replaceSignatureWord, withV } from "./signatures.ts";

type Hex = `0x${string}`;

const DOMAIN: VoucherDomain = { chainId: 31337n, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };
const KEY: Hex = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const OTHER_KEY: Hex = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const SIGNER = new Wallet(KEY).address as Hex;
const CHANNEL: Hex = "0x7b1c0c4f3c8d1e6f3a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071";
const MAX_UINT256 = (1n << 256n) - 1n;

const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `0x${Buffer.from(b).toString("hex")}` as Hex);
const uint256 = fc.bigInt({ min: 0n, max: MAX_UINT256 });
const address = fc
  .uint8Array({ minLength: 20, maxLength: 20 })
  .map((b) => `0x${Buffer.from(b).toString("hex")}` as Hex);
const domainArb = fc.record({ chainId: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }), verifyingContract: address });

function rejectionOf(action: () => unknown): "MALFORMED" | "BAD_SIGNATURE" | "accepted" {
  try {
    action();
    return "accepted";
  } catch (error) {
    if (error instanceof MalformedVoucherError) return "MALFORMED";
    if (error instanceof BadSignatureError) return "BAD_SIGNATURE";
    throw error;
  }
}

describe("voucher: EIP-712 digest", () => {
  it("exposes the contract's types and domain", () => {
    expect(VOUCHER_TYPES).to.deep.equal({
      Voucher: [
        { name: "channelId", type: "bytes32" },
        { name: "amount", type: "uint256" },
      ],
    });
    expect(Object.isFrozen(VOUCHER_TYPES.Voucher)).to.equal(true);
    expect(eip712Domain(DOMAIN)).to.deep.equal({ name: "Trickle", version: "1", ...DOMAIN });
    expect(domainSeparator(DOMAIN)).to.equal(TypedDataEncoder.hashDomain(eip712Domain(DOMAIN)));
  });

  it("equals ethers' TypedDataEncoder and viem's hashTypedData on random domains, channels and amounts", () => {
    fc.assert(
      fc.property(domainArb, hex32, uint256, (domain, channelId, amount) => {
        const digest = voucherDigest(domain, channelId, amount);
        const message = { channelId, amount };
        expect(digest).to.equal(TypedDataEncoder.hash(eip712Domain(domain), VOUCHER_TYPES, message));
        expect(digest).to.equal(
          hashTypedData({ domain: eip712Domain(domain), types: VOUCHER_TYPES, primaryType: "Voucher", message }),
        );
      }),
      { numRuns: 300 },
    );
  });

  it("refuses bad arguments with InvalidArgumentError", () => {
    const bad: [string, () => unknown][] = [
      ["short channel id", () => voucherDigest(DOMAIN, "0x1234", 1n)],
      ["non-hex channel id", () => voucherDigest(DOMAIN, `0x${"zz".repeat(32)}`, 1n)],
      ["negative amount", () => voucherDigest(DOMAIN, CHANNEL, -1n)],
      ["amount over 2^256-1", () => voucherDigest(DOMAIN, CHANNEL, MAX_UINT256 + 1n)],
      ["number amount", () => voucherDigest(DOMAIN, CHANNEL, 1 as unknown as bigint)],
      ["number chain id", () => voucherDigest({ ...DOMAIN, chainId: 31337 as unknown as bigint }, CHANNEL, 1n)],
      ["short contract", () => voucherDigest({ ...DOMAIN, verifyingContract: "0x1234" }, CHANNEL, 1n)],
      ["zero private key", () => signVoucher(DOMAIN, CHANNEL, 1n, `0x${"00".repeat(32)}`)],
      ["private key = n", () => signVoucher(DOMAIN, CHANNEL, 1n, `0x${CURVE_ORDER.toString(16)}`)],
      ["short private key", () => signVoucher(DOMAIN, CHANNEL, 1n, "0x01")],
    ];
    for (const [name, action] of bad) expect(action, name).to.throw(InvalidArgumentError);
  });
});

describe("voucher: signing", () => {
  it("is byte-identical to ethers' and viem's signTypedData, lowercase, v 27/28, low s", async () => {
    const wallet = new Wallet(KEY);
    const account = privateKeyToAccount(KEY);
    await fc.assert(
      fc.asyncProperty(domainArb, hex32, uint256, async (domain, channelId, amount) => {
        const voucher = signVoucher(domain, channelId, amount, KEY);
        const message = { channelId, amount };
        expect(voucher.signature).to.equal(await wallet.signTypedData(eip712Domain(domain), VOUCHER_TYPES, message));
        expect(voucher.signature).to.equal(
          await account.signTypedData({
            domain: eip712Domain(domain),
            types: VOUCHER_TYPES,
            primaryType: "Voucher",
            message,
          }),
        );
        expect(voucher.signature).to.match(/^0x[0-9a-f]{128}(1b|1c)$/);
        expect(BigInt(`0x${voucher.signature.slice(66, 130)}`) <= CURVE_ORDER / 2n).to.equal(true);
        expect(recoverVoucherSigner(domain, voucher)).to.equal(SIGNER);
      }),
      { numRuns: 100 },
    );
  });

  it("returns the channel id in lowercase whatever the caller's case", () => {
    const voucher = signVoucher(DOMAIN, CHANNEL.toUpperCase().replace("0X", "0x") as Hex, 5n, KEY);
    expect(voucher.channelId).to.equal(CHANNEL);
    expect(voucher).to.deep.equal(signVoucher(DOMAIN, CHANNEL, 5n, KEY));
  });
});

describe("voucher: VoucherVerifier", () => {
  const voucher = signVoucher(DOMAIN, CHANNEL, 1_000n, KEY);

  it("accepts the signer's voucher, again from the cached key, and under any address case", () => {
    const verifier = new VoucherVerifier(DOMAIN);
    verifier.verify(voucher, SIGNER);
    verifier.verify(voucher, SIGNER);
    verifier.verify(voucher, SIGNER.toLowerCase() as Hex);
    verifier.verify(signVoucher(DOMAIN, CHANNEL, 1_001n, KEY), SIGNER);
  });

  it("refuses a flipped v even after the signer's key is cached (ecdsaVerify alone would accept it)", () => {
    const verifier = new VoucherVerifier(DOMAIN);
    verifier.verify(voucher, SIGNER);
    const flipped = { ...voucher, signature: flipV(voucher.signature) };
    expect(rejectionOf(() => verifier.verify(flipped, SIGNER))).to.equal("BAD_SIGNATURE");
    expect(rejectionOf(() => new VoucherVerifier(DOMAIN).verify(flipped, SIGNER))).to.equal("BAD_SIGNATURE");
    verifier.verify(voucher, SIGNER); // the cache was not poisoned
  });

  it("refuses another signer, chain, contract, channel and amount with BadSignatureError", () => {
    const verifier = new VoucherVerifier(DOMAIN);
    const cases: Voucher[] = [
      signVoucher(DOMAIN, CHANNEL, 1_000n, OTHER_KEY),
      { ...signVoucher({ ...DOMAIN, chainId: 1n }, CHANNEL, 1_000n, KEY), channelId: CHANNEL },
      signVoucher({ ...DOMAIN, verifyingContract: "0x0000000000000000000000000000000000000001" }, CHANNEL, 1_000n, KEY),
      { ...signVoucher(DOMAIN, `0x${"00".repeat(32)}`, 1_000n, KEY), channelId: CHANNEL },
      { ...voucher, amount: 1_001n },
    ];
    for (const bad of cases) expect(rejectionOf(() => verifier.verify(bad, SIGNER))).to.equal("BAD_SIGNATURE");
  });

  it("still verifies with a one-entry cache across many signers", () => {
    const verifier = new VoucherVerifier(DOMAIN, { maxCachedSigners: 1 });
    const keys: Hex[] = [KEY, OTHER_KEY, KEY, OTHER_KEY];
    for (const key of keys) verifier.verify(signVoucher(DOMAIN, CHANNEL, 7n, key), new Wallet(key).address as Hex);
    expect(rejectionOf(() => verifier.verify(signVoucher(DOMAIN, CHANNEL, 7n, OTHER_KEY), SIGNER))).to.equal(
      "BAD_SIGNATURE",
    );
  });

  it("refuses a malformed signer address with InvalidArgumentError", () => {
    expect(() => new VoucherVerifier(DOMAIN).verify(voucher, "0x1234")).to.throw(InvalidArgumentError);
  });
});

describe("voucher: shape", () => {
  const voucher = signVoucher(DOMAIN, CHANNEL, 1_000n, KEY);
  const malformed: [string, unknown][] = [
    ["null", null],
    ["a string", encodeVoucher(voucher)],
    ["an array", [voucher.channelId, voucher.amount, voucher.signature]],
    ["uppercase channel id", { ...voucher, channelId: voucher.channelId.toUpperCase().replace("0X", "0x") }],
    ["channel id without 0x", { ...voucher, channelId: voucher.channelId.slice(2) }],
    ["31-byte channel id", { ...voucher, channelId: voucher.channelId.slice(0, -2) }],
    ["number amount", { ...voucher, amount: 1000 }],
    ["fractional amount", { ...voucher, amount: 1000.5 }],
    ["string amount", { ...voucher, amount: "1000" }],
    ["negative amount", { ...voucher, amount: -1n }],
    ["amount 2^256", { ...voucher, amount: MAX_UINT256 + 1n }],
    ["missing amount", { channelId: voucher.channelId, signature: voucher.signature }],
    ["uppercase signature", { ...voucher, signature: voucher.signature.toUpperCase().replace("0X", "0x") }],
    ["64-byte signature", { ...voucher, signature: voucher.signature.slice(0, 130) }],
    ["66-byte signature", { ...voucher, signature: `${voucher.signature}00` }],
    ["empty signature", { ...voucher, signature: "0x" }],
    ["v = 0", { ...voucher, signature: withV(voucher.signature, 0) }],
    ["v = 1", { ...voucher, signature: withV(voucher.signature, 1) }],
    ["v = 29", { ...voucher, signature: withV(voucher.signature, 29) }],
    ["high s", { ...voucher, signature: highSTwin(voucher.signature) }],
    ["r = 0", { ...voucher, signature: replaceSignatureWord(voucher.signature, "r", 0n) }],
    ["r = n", { ...voucher, signature: replaceSignatureWord(voucher.signature, "r", CURVE_ORDER) }],
    ["s = 0", { ...voucher, signature: replaceSignatureWord(voucher.signature, "s", 0n) }],
    ["s = n", { ...voucher, signature: replaceSignatureWord(voucher.signature, "s", CURVE_ORDER) }],
    ["s = n/2 + 1", { ...voucher, signature: replaceSignatureWord(voucher.signature, "s", CURVE_ORDER / 2n + 1n) }],
  ];

  it("accepts a signed voucher and amounts 0 and 2^256-1", () => {
    assertVoucherShape(voucher);
    assertVoucherShape({ ...voucher, amount: 0n });
    assertVoucherShape({ ...voucher, amount: MAX_UINT256 });
    assertVoucherShape({ ...voucher, signature: replaceSignatureWord(voucher.signature, "s", CURVE_ORDER / 2n) });
  });

  for (const [name, value] of malformed) {
    it(`refuses ${name} with MalformedVoucherError, in assertVoucherShape, verify and recover`, () => {
      expect(() => assertVoucherShape(value)).to.throw(MalformedVoucherError);
      expect(rejectionOf(() => new VoucherVerifier(DOMAIN).verify(value as Voucher, SIGNER))).to.equal("MALFORMED");
      expect(() => recoverVoucherSigner(DOMAIN, value as Voucher)).to.throw(MalformedVoucherError);
    });
  }
});

describe("voucher: wire format", () => {
  it("round-trips any well-formed voucher in exactly 172 base64url characters", () => {
    fc.assert(
      fc.property(hex32, uint256, (channelId, amount) => {
        const voucher = signVoucher(DOMAIN, channelId, amount, KEY);
        const wire = encodeVoucher(voucher);
        expect(wire).to.have.length(VOUCHER_WIRE_LENGTH);
        expect(wire).to.match(/^[A-Za-z0-9_-]+$/);
        expect(decodeVoucher(wire)).to.deep.equal(voucher);
        expect(encodeVoucher(decodeVoucher(wire))).to.equal(wire);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses anything but the exact format with MalformedVoucherError", () => {
    const voucher = signVoucher(DOMAIN, CHANNEL, 1_000n, KEY);
    const wire = encodeVoucher(voucher);
    const bytes = Buffer.from(wire, "base64url");
    const bad = [
      "",
      wire.slice(0, -1),
      `${wire}A`,
      `${wire.slice(0, -1)}=`,
      `${wire.slice(0, -1)}+`,
      `${wire.slice(0, -1)}/`,
      ` ${wire.slice(1)}`,
      `${wire.slice(0, -1)}é`,
      Buffer.from(bytes).toString("base64"), // standard base64 of the same bytes uses + or / somewhere or pads
      Buffer.concat([bytes.subarray(0, 128), Buffer.from([29])]).toString("base64url"), // v = 29
      Buffer.from(Buffer.from(highSTwin(voucher.signature).slice(2), "hex")).toString("base64url"),
    ];
    for (const text of bad) {
      if (text === wire) continue; // base64 of these bytes may coincide with base64url
      expect(() => decodeVoucher(text), JSON.stringify(text)).to.throw(MalformedVoucherError);
    }
    expect(() => decodeVoucher(42 as unknown as string)).to.throw(MalformedVoucherError);
    expect(() => encodeVoucher({ ...voucher, signature: withV(voucher.signature, 0) })).to.throw(MalformedVoucherError);
  });
});

describe("voucher: verifyVoucher", () => {
  it("verifies like a VoucherVerifier of the same domain, and validates the domain", () => {
    const voucher = signVoucher(DOMAIN, CHANNEL, 42n, KEY);
    verifyVoucher(DOMAIN, voucher, SIGNER);
    verifyVoucher({ ...DOMAIN, verifyingContract: DOMAIN.verifyingContract.toLowerCase() as Hex }, voucher, SIGNER);
    expect(rejectionOf(() => verifyVoucher(DOMAIN, { ...voucher, amount: 43n }, SIGNER))).to.equal("BAD_SIGNATURE");
    expect(rejectionOf(() => verifyVoucher({ ...DOMAIN, chainId: 1n }, voucher, SIGNER))).to.equal("BAD_SIGNATURE");
    expect(() => verifyVoucher({ ...DOMAIN, chainId: 31337 as unknown as bigint }, voucher, SIGNER)).to.throw(
      InvalidArgumentError,
    );
  });
});
