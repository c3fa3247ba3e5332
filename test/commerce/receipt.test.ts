// Receipts: the digest equals viem's generic EIP-712 hashing, a signature verifies offline with the payee's
// address alone, and any change to a field, the domain or the signer is refused with BAD_RECEIPT.
import { expect } from "chai";
import fc from "fast-check";
import { hashTypedData } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Address, Hex } from "../../src/channel.ts";
import { BadReceiptError } from "../../src/commerce/errors.ts";
import {
  RECEIPT_TYPES,
  receiptDigest,
  receiptDomain,
  receiptFromJson,
  receiptToJson,
  recoverReceiptSigner,
  signReceipt,
  verifyReceipt,
  type ReceiptFields,
} from "../../src/commerce/receipt.ts";
import { signVoucher, recoverVoucherSigner } from "../../src/voucher.ts";
import { DOMAIN, PAYEE, RECEIPT_KEY } from "./fixture.ts";

const hex = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => `0x${Buffer.from(b).toString("hex")}` as Hex);
const uint = (bits: bigint) => fc.bigInt({ min: 0n, max: (1n << bits) - 1n });
const fieldsArbitrary: fc.Arbitrary<ReceiptFields> = fc.record({
  kind: fc.constantFrom("purchase" as const, "period" as const),
  key: fc.string({ minLength: 1, maxLength: 40 }),
  item: fc.string({ minLength: 1, maxLength: 40 }),
  payer: hex(20) as fc.Arbitrary<Address>,
  channelId: hex(32),
  token: hex(20) as fc.Arbitrary<Address>,
  price: uint(256n),
  cumulativeAmount: uint(256n),
  validFrom: uint(64n),
  validUntil: uint(64n),
  issuedAt: uint(64n),
});

const sample: ReceiptFields = {
  kind: "purchase",
  key: "order-1",
  item: "coins-100",
  payer: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
  channelId: `0x${"ab".repeat(32)}`,
  token: "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
  price: 990_000n,
  cumulativeAmount: 990_000n,
  validFrom: 0n,
  validUntil: 0n,
  issuedAt: 1_800_000_000n,
};

describe("commerce receipts", function () {
  it("property: the digest is viem's hashTypedData, and a signed receipt recovers to the payee", function () {
    fc.assert(
      fc.property(fieldsArbitrary, fc.bigInt({ min: 1n, max: 2n ** 64n }), (fields, chainId) => {
        const domain = { chainId, verifyingContract: DOMAIN.verifyingContract };
        const expected = hashTypedData({ domain: receiptDomain(domain), types: RECEIPT_TYPES, primaryType: "Receipt", message: fields });
        expect(receiptDigest(domain, fields)).to.equal(expected);
        const receipt = signReceipt(domain, fields, RECEIPT_KEY);
        expect(recoverReceiptSigner(domain, receipt)).to.equal(PAYEE.toLowerCase());
        verifyReceipt(domain, receipt, PAYEE);
        expect(receiptFromJson(JSON.parse(JSON.stringify(receiptToJson(receipt))))).to.deep.equal(receipt);
      }),
      { numRuns: 300 },
    );
  });

  it("signs what viem's signTypedData signs, byte for byte", async function () {
    const account = privateKeyToAccount(RECEIPT_KEY);
    const viemSignature = await account.signTypedData({ domain: receiptDomain(DOMAIN), types: RECEIPT_TYPES, primaryType: "Receipt", message: sample });
    expect(signReceipt(DOMAIN, sample, RECEIPT_KEY).signature).to.equal(viemSignature);
  });

  it("property: any changed field, another domain or another signer is refused", function () {
    const receipt = signReceipt(DOMAIN, sample, RECEIPT_KEY);
    const changes: Partial<ReceiptFields>[] = [
      { kind: "period" },
      { key: "order-2" },
      { item: "gems-10" },
      { payer: "0x0000000000000000000000000000000000000001" },
      { channelId: `0x${"cd".repeat(32)}` },
      { token: "0x0000000000000000000000000000000000000002" },
      { price: 1n },
      { cumulativeAmount: 1n },
      { validFrom: 1n },
      { validUntil: 1n },
      { issuedAt: 1n },
    ];
    for (const change of changes) {
      expect(() => verifyReceipt(DOMAIN, { ...receipt, ...change }, PAYEE), JSON.stringify(change, (_, v) => (typeof v === "bigint" ? v.toString() : v))).to.throw(BadReceiptError);
    }
    expect(() => verifyReceipt({ ...DOMAIN, chainId: 1n }, receipt, PAYEE)).to.throw(BadReceiptError);
    expect(() => verifyReceipt({ ...DOMAIN, verifyingContract: "0x0000000000000000000000000000000000000003" }, receipt, PAYEE)).to.throw(BadReceiptError);
    expect(() => verifyReceipt(DOMAIN, receipt, "0x0000000000000000000000000000000000000004")).to.throw(BadReceiptError);
  });

  it("refuses malformed receipts and signatures with BAD_RECEIPT, and a voucher signature never passes as a receipt", function () {
    const receipt = signReceipt(DOMAIN, sample, RECEIPT_KEY);
    const bad: unknown[] = [
      { ...receipt, signature: "0x1234" },
      { ...receipt, signature: `${receipt.signature.slice(0, 130)}1d` },
      { ...receipt, price: -1n },
      { ...receipt, validFrom: 1n << 64n },
      { ...receipt, key: "" },
      { ...receipt, key: "x".repeat(257) },
      { ...receipt, kind: "gift" },
      { ...receipt, payer: "0x12" },
    ];
    for (const b of bad) expect(() => verifyReceipt(DOMAIN, b as typeof receipt, PAYEE)).to.throw(BadReceiptError);
    // High-s twin of a valid signature: refused, so a receipt has one signature.
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${receipt.signature.slice(66, 130)}`);
    const v = receipt.signature.endsWith("1b") ? "1c" : "1b";
    const twin = `${receipt.signature.slice(0, 66)}${(n - s).toString(16).padStart(64, "0")}${v}` as Hex;
    expect(() => verifyReceipt(DOMAIN, { ...receipt, signature: twin }, PAYEE)).to.throw(BadReceiptError);
    // The same key signing a voucher of the same chain and contract: domains differ, so it does not verify.
    const voucher = signVoucher(DOMAIN, sample.channelId, sample.price, RECEIPT_KEY);
    expect(recoverVoucherSigner(DOMAIN, voucher).toLowerCase()).to.equal(PAYEE.toLowerCase());
    expect(() => verifyReceipt(DOMAIN, { ...receipt, signature: voucher.signature }, PAYEE)).to.throw(BadReceiptError);
    for (const json of [null, 3, { ...receiptToJson(receipt), price: "1.5" }, { ...receiptToJson(receipt), kind: 1 }]) {
      expect(() => receiptFromJson(json)).to.throw(BadReceiptError);
    }
  });
});
