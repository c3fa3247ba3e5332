// docs/commerce.md: every example is a file under docs/examples/commerce that this test runs, and the
// doc shows each file exactly as it is.
import { expect } from "chai";
import { expectShownVerbatim, runExample as example } from "../doc-examples.ts";

describe("docs/commerce.md examples", function () {
  this.timeout(150_000);

  it("shows each example file verbatim", async function () {
    await expectShownVerbatim("docs/commerce.md", ["docs/examples/commerce/units.ts", "docs/examples/commerce/shop.ts"]);
  });

  it("units.ts prints what its comments say", async function () {
    expect((await example("docs/examples/commerce/units.ts")).trim().split("\n")).to.deep.equal(["1000n", "4990000n", "4.99 USDC", "AMOUNT_TOO_PRECISE"]);
  });

  it("shop.ts subscribes with a trial, buys, verifies, restores and closes", async function () {
    const out = await example("docs/examples/commerce/shop.ts");
    expect(out).to.match(/trial until \d{4}-\d\d-\d\d, paid 0 ETH/);
    expect(out).to.contain("entitled to basic: true, to pro: false");
    expect(out).to.contain("next renewal: true");
    expect(out).to.contain("bought gems-100 for 0.002 ETH; restore finds 2 receipts");
    expect(out).to.contain("closed: the payee received 0.002000000000000001 ETH");
  });
});
