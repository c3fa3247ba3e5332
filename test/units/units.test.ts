import { expect } from "chai";
import fc from "fast-check";
import {
  AmountMalformedError,
  AmountTooPreciseError,
  defineToken,
  ETH_TOKEN,
  formatAmount,
  formatUnits,
  InvalidTokenError,
  parseAmount,
  parseUnits,
  tokenByAddress,
  tokenBySymbol,
  toUnits,
  UnknownTokenError,
  type Token,
} from "../../src/units.ts";

const USDC = defineToken({ symbol: "USDC", decimals: 6, address: "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48" });
const EURC = defineToken({ symbol: "EURC", decimals: 6, address: "0x1aBaEA1f7C830bD89Acc67eC4af516284b1bC33c" });
const MAX_UINT256 = (1n << 256n) - 1n;

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  return "returned";
}

describe("units", function () {
  it("reads and writes the examples people write", function () {
    expect(parseAmount("0.001 USDC", [USDC, ETH_TOKEN])).to.deep.equal({ units: 1000n, token: USDC });
    expect(parseAmount("4.99 USDC", USDC).units).to.equal(4_990_000n);
    expect(parseAmount("0.1 ETH", [USDC, ETH_TOKEN]).units).to.equal(10n ** 17n);
    expect(parseAmount("  12 usdc ", [USDC]).units).to.equal(12_000_000n);
    expect(parseAmount("3", USDC).units).to.equal(3_000_000n);
    expect(parseAmount("1.500000", USDC).units).to.equal(1_500_000n);
    expect(formatAmount(1000n, USDC)).to.equal("0.001 USDC");
    expect(formatAmount(4_900_000n, USDC, { minFractionDigits: 2 })).to.equal("4.90 USDC");
    expect(formatAmount(0n, ETH_TOKEN)).to.equal("0 ETH");
    expect(formatUnits(10n ** 18n + 1n, 18)).to.equal("1.000000000000000001");
    expect(formatUnits(42n, 0)).to.equal("42");
    expect(toUnits("0.25 USDC", USDC)).to.equal(250_000n);
    expect(toUnits(7n, USDC)).to.equal(7n);
    expect(tokenByAddress("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", [ETH_TOKEN, USDC])).to.equal(USDC);
  });

  it("refuses more precision than the token has, and never rounds", function () {
    const error = (() => {
      try {
        parseAmount("0.0000001 USDC", USDC);
      } catch (e) {
        return e;
      }
    })();
    expect(error).to.be.instanceOf(AmountTooPreciseError);
    expect((error as AmountTooPreciseError).code).to.equal("AMOUNT_TOO_PRECISE");
    expect(codeOf(() => parseUnits("1.5", 0))).to.equal("AMOUNT_TOO_PRECISE");
    // Trailing zeros carry no precision.
    expect(parseUnits("1.50000000", 6)).to.equal(1_500_000n);
  });

  it("refuses text that is not an amount", function () {
    for (const text of ["", " ", "-1", "+1", "1e3", ".5", "5.", "1,000", "0x10", "1 2 USDC", "NaN", "1.2.3", "1 USDC ETH", "x".repeat(500)]) {
      expect(codeOf(() => parseAmount(text, USDC)), text).to.equal("AMOUNT_MALFORMED");
    }
    expect(codeOf(() => parseUnits((MAX_UINT256 + 1n).toString(), 0))).to.equal("AMOUNT_MALFORMED");
    expect(parseUnits(MAX_UINT256.toString(), 0)).to.equal(MAX_UINT256);
    expect(codeOf(() => toUnits(-1n, USDC))).to.equal("AMOUNT_MALFORMED");
    expect(codeOf(() => formatUnits(-1n, 6))).to.equal("AMOUNT_MALFORMED");
    expect(() => parseAmount("1 ", USDC)).not.to.throw();
  });

  it("refuses a symbol that is not among the tokens, or a bare number when several tokens fit", function () {
    expect(codeOf(() => parseAmount("1 DAI", [USDC, ETH_TOKEN]))).to.equal("UNKNOWN_TOKEN");
    expect(codeOf(() => parseAmount("1 ETH", USDC))).to.equal("UNKNOWN_TOKEN");
    expect(codeOf(() => toUnits("1 ETH", USDC))).to.equal("UNKNOWN_TOKEN");
    expect(codeOf(() => parseAmount("1", [USDC, EURC]))).to.equal("UNKNOWN_TOKEN");
    const twins = [USDC, defineToken({ ...USDC, symbol: "usdc" })];
    expect(tokenBySymbol("USDC", twins)).to.equal(USDC);
    expect(codeOf(() => tokenBySymbol("Usdc", twins))).to.equal("UNKNOWN_TOKEN");
    expect(codeOf(() => tokenByAddress("0x0000000000000000000000000000000000000001", [USDC]))).to.equal("UNKNOWN_TOKEN");
    expect(new UnknownTokenError("x")).to.be.instanceOf(Error);
  });

  it("refuses an invalid token description", function () {
    const bad: Token[] = [
      { ...USDC, decimals: -1 },
      { ...USDC, decimals: 78 },
      { ...USDC, decimals: 1.5 },
      { ...USDC, symbol: "" },
      { ...USDC, symbol: "US DC" },
      { ...USDC, symbol: "1INCH" },
      { ...USDC, address: "0x1234" },
    ];
    for (const token of bad) {
      expect(() => defineToken(token), JSON.stringify(token)).to.throw(InvalidTokenError);
    }
    expect(Object.isFrozen(defineToken({ ...USDC }))).to.equal(true);
  });

  it("property: parse(format(units)) is units, for any decimals", function () {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_UINT256 }), fc.integer({ min: 0, max: 77 }), fc.integer({ min: 0, max: 80 }), (units, decimals, min) => {
        const token = defineToken({ symbol: "TKN", decimals, address: USDC.address });
        expect(parseAmount(formatAmount(units, token), token).units).to.equal(units);
        expect(parseAmount(formatAmount(units, token, { minFractionDigits: min }), token).units).to.equal(units);
      }),
      { numRuns: 2000 },
    );
  });

  it("property: format(parse(text)) is the canonical form of text (no leading or trailing zeros)", function () {
    const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: min, maxLength: max });
    fc.assert(
      fc.property(digits(1, 30), digits(0, 18), fc.integer({ min: 0, max: 40 }), (whole, fraction, decimals) => {
        const text = fraction === "" ? whole : `${whole}.${fraction}`;
        const canonicalFraction = fraction.replace(/0+$/, "");
        const canonical = BigInt(whole).toString() + (canonicalFraction === "" ? "" : `.${canonicalFraction}`);
        if (canonicalFraction.length > decimals) {
          expect(() => parseUnits(text, decimals)).to.throw(AmountTooPreciseError);
        } else {
          expect(formatUnits(parseUnits(text, decimals), decimals)).to.equal(canonical);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("property: arbitrary text either parses to a round-tripping amount or throws a typed error", function () {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        try {
          const { units, token } = parseAmount(text, [USDC, ETH_TOKEN]);
          expect(parseAmount(formatAmount(units, token), [USDC, ETH_TOKEN]).units).to.equal(units);
        } catch (error) {
          expect(error).to.satisfy((e: unknown) => e instanceof AmountMalformedError || e instanceof AmountTooPreciseError || e instanceof UnknownTokenError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
