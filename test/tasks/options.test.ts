// Task options parsed before anything is opened or sent.
import { expect } from "chai";
import { ETH } from "../../src/channel.ts";
import { parseTokens } from "../../tasks/lib/checks.ts";
import { redactUrl } from "../../tasks/lib/context.ts";
import { formatAmount, parseAmount } from "../../tasks/lib/output.ts";
import { ETH_TOKEN } from "../../src/units.ts";

function codeOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return (error as { code?: unknown }).code;
  }
  return undefined;
}

describe("task amounts (--amount, --total, --claim-threshold)", () => {
  const USDC = { symbol: "USDC", decimals: 6, address: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const };

  it("reads token units exactly, with or without the symbol, and prints them back with it", () => {
    expect(parseAmount("0.05", USDC, "amount")).to.equal(50_000n);
    expect(parseAmount("0.05 USDC", USDC, "amount")).to.equal(50_000n);
    expect(parseAmount("1.000000", USDC, "amount")).to.equal(1_000_000n);
    expect(parseAmount("0.1", ETH_TOKEN, "amount")).to.equal(100_000_000_000_000_000n);
    expect(parseAmount("0.000000000000000001 ETH", ETH_TOKEN, "amount")).to.equal(1n);
    expect(formatAmount(50_000n, USDC)).to.equal("0.05 USDC");
    expect(formatAmount(1n, ETH_TOKEN)).to.equal("0.000000000000000001 ETH");
    expect(formatAmount(parseAmount("123.456789", USDC, "amount"), USDC)).to.equal("123.456789 USDC");
  });

  it("refuses more precision than the token has, another symbol, and anything not a decimal, naming the option", () => {
    expect(codeOf(() => parseAmount("0.0000001", USDC, "amount"))).to.equal("AMOUNT_TOO_PRECISE");
    expect(codeOf(() => parseAmount("0.0000000000000000001", ETH_TOKEN, "total"))).to.equal("AMOUNT_TOO_PRECISE");
    expect(codeOf(() => parseAmount("0.05 ETH", USDC, "amount"))).to.equal("UNKNOWN_TOKEN");
    for (const bad of ["-1", "1e3", "1,5", "", ".5", "1.", "0x10", "1 2 USDC"]) {
      expect(codeOf(() => parseAmount(bad, USDC, "amount")), bad).to.equal("AMOUNT_MALFORMED");
    }
    try {
      parseAmount("0.0000001", USDC, "claim-threshold");
      expect.fail("no error");
    } catch (error) {
      expect((error as Error).message).to.match(/^--claim-threshold: /);
    }
  });
});

describe("trickle:accept --tokens", () => {
  it("is ETH only when empty, ETH and the listed ERC-20s otherwise, and refuses anything but addresses", () => {
    expect(parseTokens("")).to.equal(undefined);
    const a = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    const b = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
    expect(parseTokens(`${a}, ${b}`)).to.deep.equal([ETH, a, b]);
    for (const bad of ["0x12", `${a},`, "USDC", `${a};${b}`]) {
      let code: unknown;
      try {
        parseTokens(bad);
      } catch (error) {
        code = (error as { code?: unknown }).code;
      }
      expect(code, bad).to.equal("INVALID_ARGUMENT");
    }
  });
});

describe("TRICKLE_PAYEE_STORE_URL in the tasks' output", () => {
  it("is printed with its password masked, and never printed when it does not parse", () => {
    expect(redactUrl("postgresql://trickle:s3cret@10.0.0.1:5432/trickle?sslmode=require")).to.equal("postgresql://trickle:***@10.0.0.1:5432/trickle?sslmode=require");
    expect(redactUrl("postgresql://trickle@localhost/postgres?host=%2Ftmp%2Fx")).to.equal("postgresql://trickle@localhost/postgres?host=%2Ftmp%2Fx");
    expect(redactUrl("postgresql://u:p@ss@host/db")).to.not.contain("p@ss");
    expect(redactUrl("not a url with s3cret")).to.not.contain("s3cret");
  });
});
