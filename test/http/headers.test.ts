import { expect } from "chai";
import {
  decodePaymentPayload,
  decodePaymentReceipt,
  decodePaymentRequired,
  encodePaymentPayload,
  encodePaymentReceipt,
  encodePaymentRequired,
  MAX_PAYMENT_HEADER_BYTES,
  TRICKLE_SCHEME,
} from "../../src/http/headers.ts";
import type { PaymentPayload, PaymentRequirements } from "../../src/http/headers.ts";

const address = (byte: string) => `0x${byte.repeat(20)}` as const;
const payload: PaymentPayload = {
  scheme: TRICKLE_SCHEME,
  chainId: 31337n,
  contract: address("aa"),
  channelId: `0x${"11".repeat(32)}`,
  amount: (1n << 256n) - 1n,
  signature: `0x${"22".repeat(64)}1b`,
  config: { payer: address("01"), payee: address("02"), token: address("00"), signer: address("03"), closeDelay: 3600n, salt: `0x${"00".repeat(32)}` },
};

function base64Json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64");
}

function expectMalformed(run: () => unknown): void {
  expect(run).to.throw().with.property("code", "MALFORMED");
}

describe("http headers", () => {
  it("round-trips the three payloads with amounts as decimal strings", () => {
    const wire = encodePaymentPayload(payload);
    expect(JSON.parse(Buffer.from(wire, "base64").toString()).amount).to.equal(((1n << 256n) - 1n).toString());
    expect(decodePaymentPayload(wire)).to.deep.equal(payload);
    const requirements: PaymentRequirements = {
      scheme: TRICKLE_SCHEME, chainId: 1n, contract: address("aa"), payee: address("02"), token: address("00"),
      price: 10n, minDeposit: 10_000n, minCloseDelay: 3600n, error: "NOT_INCREASING", channelId: payload.channelId, cumulative: 5n,
    };
    expect(decodePaymentRequired(encodePaymentRequired(requirements))).to.deep.equal(requirements);
    const receipt = { channelId: payload.channelId, charged: 10n, cumulative: 30n, depositRemaining: 70n };
    expect(decodePaymentReceipt(encodePaymentReceipt(receipt))).to.deep.equal(receipt);
  });

  it("refuses anything off: size, base64, JSON, fields, numbers, hex lengths", () => {
    const plain = JSON.parse(Buffer.from(encodePaymentPayload(payload), "base64").toString());
    expectMalformed(() => decodePaymentPayload("A".repeat(MAX_PAYMENT_HEADER_BYTES + 4)));
    expectMalformed(() => decodePaymentPayload("not base64!"));
    expectMalformed(() => decodePaymentPayload(`${encodePaymentPayload(payload)}=`));
    expectMalformed(() => decodePaymentPayload(Buffer.from("{nope").toString("base64")));
    expectMalformed(() => decodePaymentPayload(base64Json([plain])));
    expectMalformed(() => decodePaymentPayload(base64Json({ ...plain, extra: 1 })));
    expectMalformed(() => decodePaymentPayload(base64Json({ ...plain, scheme: "exact" })));
    expectMalformed(() => decodePaymentPayload(base64Json({ ...plain, amount: 5 })));
    expectMalformed(() => decodePaymentPayload(base64Json({ ...plain, amount: "05" })));
    expectMalformed(() => decodePaymentPayload(base64Json({ ...plain, amount: "-5" })));
    expectMalformed(() => decodePaymentPayload(base64Json({ ...plain, amount: (1n << 256n).toString() })));
    expectMalformed(() => decodePaymentPayload(base64Json({ ...plain, signature: plain.signature.slice(0, -2) })));
    expectMalformed(() => decodePaymentPayload(base64Json({ ...plain, channelId: `0x${"zz".repeat(32)}` })));
    expectMalformed(() => decodePaymentPayload(base64Json({ ...plain, config: { ...plain.config, closeDelay: "99999999999" } })));
    expectMalformed(() => decodePaymentPayload(base64Json({ ...plain, config: { ...plain.config, extra: "1" } })));
    const { signature: _, ...missing } = plain;
    expectMalformed(() => decodePaymentPayload(base64Json(missing)));
  });

  it("carries several offers in accepts, backward compatibly: the first is the top-level offer, and anything off is refused", () => {
    const top = { token: address("00"), price: 10n, minDeposit: 10_000n };
    const usdc = { token: address("c6"), price: 5n, minDeposit: 5_000n };
    const requirements: PaymentRequirements = {
      scheme: TRICKLE_SCHEME, chainId: 1n, contract: address("aa"), payee: address("02"), ...top, minCloseDelay: 3600n, accepts: [top, usdc],
    };
    const wire = encodePaymentRequired(requirements);
    expect(decodePaymentRequired(wire)).to.deep.equal(requirements);
    // A reader of the top-level fields alone sees the first offer.
    expect(JSON.parse(Buffer.from(wire, "base64").toString())).to.include({ token: top.token, price: "10", minDeposit: "10000" });
    const plain = JSON.parse(Buffer.from(wire, "base64").toString());
    const json = (offer: typeof top) => ({ token: offer.token, price: offer.price.toString(), minDeposit: offer.minDeposit.toString() });
    expectMalformed(() => decodePaymentRequired(base64Json({ ...plain, accepts: [] })));
    expectMalformed(() => decodePaymentRequired(base64Json({ ...plain, accepts: json(top) })));
    expectMalformed(() => decodePaymentRequired(base64Json({ ...plain, accepts: [json(usdc), json(top)] })));
    expectMalformed(() => decodePaymentRequired(base64Json({ ...plain, accepts: [json(top), json(top)] })));
    expectMalformed(() => decodePaymentRequired(base64Json({ ...plain, accepts: [json(top), { ...json(usdc), extra: "1" }] })));
    expectMalformed(() => decodePaymentRequired(base64Json({ ...plain, accepts: [json(top), { ...json(usdc), price: 5 }] })));
    expectMalformed(() => decodePaymentRequired(base64Json({ ...plain, accepts: Array.from({ length: 17 }, (_, i) => (i === 0 ? json(top) : { ...json(usdc), token: address((i + 16).toString(16)) })) })));
  });

  it("says prepaid: true when the payee takes prepaid credit, and refuses any other value", () => {
    const requirements: PaymentRequirements = {
      scheme: TRICKLE_SCHEME, chainId: 1n, contract: address("aa"), payee: address("02"), token: address("00"), price: 10n, minDeposit: 10_000n, minCloseDelay: 3600n, prepaid: true,
    };
    const wire = encodePaymentRequired(requirements);
    expect(decodePaymentRequired(wire)).to.deep.equal(requirements);
    const plain = JSON.parse(Buffer.from(wire, "base64").toString());
    for (const prepaid of [false, "true", 1, null]) expectMalformed(() => decodePaymentRequired(base64Json({ ...plain, prepaid })));
  });

  it("writes the receipt's JSON with the generic encoder's exact bytes, and decodes hex fields of any case but the exact length", () => {
    const receipt = { channelId: payload.channelId, charged: 1n, cumulative: (1n << 256n) - 1n, depositRemaining: 0n };
    const generic = Buffer.from(JSON.stringify({ channelId: receipt.channelId, charged: "1", cumulative: receipt.cumulative.toString(), depositRemaining: "0" })).toString("base64");
    expect(encodePaymentReceipt(receipt)).to.equal(generic);
    const plain = JSON.parse(Buffer.from(encodePaymentPayload(payload), "base64").toString());
    expect(decodePaymentPayload(base64Json({ ...plain, channelId: plain.channelId.toUpperCase().replace("0X", "0x") })).channelId).to.equal(plain.channelId.toUpperCase().replace("0X", "0x"));
    for (const channelId of [`0X${"11".repeat(32)}`, `0x${"11".repeat(31)}1`, `0x${"11".repeat(31)}1\u00e9`, `0x${"1".repeat(63)}g`]) {
      expectMalformed(() => decodePaymentPayload(base64Json({ ...plain, channelId })));
    }
    // Base64 with stray characters or bits decodes to nothing, though a lenient decoder would accept it.
    const wire = encodePaymentPayload(payload);
    for (const bad of [`${wire.slice(0, 8)}\n${wire.slice(8, -1)}`, `${wire.slice(0, -4)}${wire.slice(-4).replace(/[A-Za-z0-9+/](?==*$)/, "B")}`]) {
      if (bad !== wire) expectMalformed(() => decodePaymentPayload(bad));
    }
  });

  it("bounds a payload below the header limit even with its config", () => {
    expect(encodePaymentPayload(payload).length).to.be.below(MAX_PAYMENT_HEADER_BYTES / 3);
  });
});
