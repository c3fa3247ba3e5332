import { expect } from "chai";
import fc from "fast-check";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Wallet } from "ethers";
import { defaultSecp256k1Backend, loadSecp256k1Backend, nobleBackend } from "../../src/crypto/secp256k1.ts";
import { BadSignatureError } from "../../src/errors.ts";
import {
  VoucherVerifier,
  recoverVoucherSignerWith,
  signVoucherWith,
  voucherCryptoBackend,
  type VoucherDomain,
} from "../../src/voucher.ts";
import { CURVE_ORDER, flipV } from "./signatures.ts";

type Hex = `0x${string}`;

const DOMAIN: VoucherDomain = { chainId: 8453n, verifyingContract: "0x00000000000000000000000000000000C0FFEE00" };
const native = loadSecp256k1Backend();
const toHex = (bytes: Uint8Array) => `0x${Buffer.from(bytes).toString("hex")}` as Hex;

const privateKey = fc
  .bigInt({ min: 1n, max: CURVE_ORDER - 1n })
  .map((k) => `0x${k.toString(16).padStart(64, "0")}` as Hex);
const channelId = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex);
const amount = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n });

describe("voucher: secp256k1 backends", () => {
  it("loads the native binding on this platform and uses it by default", () => {
    expect(native.name).to.equal("native");
    expect(defaultSecp256k1Backend.name).to.equal("native");
    expect(voucherCryptoBackend).to.equal("native");
  });

  it("falls back to noble when the native binding cannot load", () => {
    const backend = loadSecp256k1Backend(() => {
      throw new Error("Cannot find module 'secp256k1/bindings'");
    });
    expect(backend.name).to.equal("noble");
  });

  it("uses noble for the whole SDK when TRICKLE_SECP256K1=noble, and its vouchers are the native ones", () => {
    const script = [
      'const m = await import("./src/voucher.ts");',
      'const d = { chainId: 1n, verifyingContract: "0x0000000000000000000000000000000000000001" };',
      'console.log(m.voucherCryptoBackend, m.signVoucher(d, "0x" + "00".repeat(32), 5n, "0x" + "11".repeat(32)).signature);',
    ].join("\n");
    const run = (env: NodeJS.ProcessEnv) =>
      execFileSync(process.execPath, ["--input-type=module", "-e", script], {
        cwd: fileURLToPath(new URL("../..", import.meta.url)),
        env: { ...process.env, ...env },
      })
        .toString()
        .trim()
        .split(" ");
    const [fallbackName, fallbackSignature] = run({ TRICKLE_SECP256K1: "noble" });
    const [defaultName, defaultSignature] = run({ TRICKLE_SECP256K1: "" });
    expect([fallbackName, defaultName]).to.deep.equal(["noble", "native"]);
    expect(fallbackSignature).to.match(/^0x[0-9a-f]{130}$/);
    expect(fallbackSignature).to.equal(defaultSignature);
  });

  it("falls back to noble when the binding loads but signs wrongly (self-test)", () => {
    const require = createRequire(import.meta.url);
    const real = require("secp256k1/bindings") as {
      ecdsaSign: (m: Uint8Array, k: Uint8Array) => { signature: Uint8Array; recid: number };
    };
    const broken = {
      ...real,
      ecdsaSign: (message: Uint8Array, key: Uint8Array) => {
        const out = real.ecdsaSign(message, key);
        return { signature: out.signature.map((b, i) => (i === 5 ? b ^ 1 : b)), recid: out.recid };
      },
    };
    expect(loadSecp256k1Backend(() => broken).name).to.equal("noble");
  });

  it("native and noble sign identically and each verifies the other's vouchers (random keys and amounts)", () => {
    const nativeVerifier = new VoucherVerifier(DOMAIN, { backend: native });
    const nobleVerifier = new VoucherVerifier(DOMAIN, { backend: nobleBackend });
    expect(nobleVerifier.backend).to.equal("noble");
    fc.assert(
      fc.property(privateKey, channelId, amount, (key, id, value) => {
        const signer = new Wallet(key).address as Hex;
        const fromNative = signVoucherWith(native, DOMAIN, id, value, key);
        const fromNoble = signVoucherWith(nobleBackend, DOMAIN, id, value, key);
        expect(fromNoble).to.deep.equal(fromNative);
        expect(recoverVoucherSignerWith(native, DOMAIN, fromNoble)).to.equal(signer);
        expect(recoverVoucherSignerWith(nobleBackend, DOMAIN, fromNative)).to.equal(signer);
        nativeVerifier.verify(fromNoble, signer);
        nobleVerifier.verify(fromNative, signer);
        const flipped = { ...fromNative, signature: flipV(fromNative.signature) };
        expect(() => nativeVerifier.verify(flipped, signer)).to.throw(BadSignatureError);
        expect(() => nobleVerifier.verify(flipped, signer)).to.throw(BadSignatureError);
      }),
      { numRuns: process.env.TRICKLE_DEEP === "1" ? 2_000 : 80 },
    );
  });

  it("native and noble recover the same key, or none, from arbitrary in-range signatures", () => {
    const scalar = fc.bigInt({ min: 1n, max: CURVE_ORDER - 1n });
    // Small x values: many are not on the curve, so the "no key recovers" branch is exercised too.
    const r = fc.oneof(scalar, fc.bigInt({ min: 1n, max: 64n }));
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        r,
        scalar,
        fc.constantFrom(0 as const, 1 as const),
        (digest, rValue, sValue, recovery) => {
          const signature = Buffer.from(
            rValue.toString(16).padStart(64, "0") + sValue.toString(16).padStart(64, "0"),
            "hex",
          );
          const a = native.recover(digest, signature, recovery);
          const b = nobleBackend.recover(digest, signature, recovery);
          expect(a === undefined ? undefined : toHex(a)).to.equal(b === undefined ? undefined : toHex(b));
        },
      ),
      { numRuns: 200 },
    );
    // x = 5 is not the x of any secp256k1 point: nothing recovers in either backend.
    const offCurve = Buffer.from(5n.toString(16).padStart(64, "0") + 7n.toString(16).padStart(64, "0"), "hex");
    expect(native.recover(new Uint8Array(32), offCurve, 0)).to.equal(undefined);
    expect(nobleBackend.recover(new Uint8Array(32), offCurve, 0)).to.equal(undefined);
  });
});
