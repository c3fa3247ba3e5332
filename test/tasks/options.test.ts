// Task options parsed before anything is opened or sent.
import { expect } from "chai";
import { ETH } from "../../src/channel.ts";
import { parseTokens } from "../../tasks/lib/checks.ts";

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
