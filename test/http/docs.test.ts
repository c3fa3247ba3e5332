// docs/http.md: every example is a file under docs/examples/http that this test runs, and the doc shows
// each file exactly as it is.
import { expect } from "chai";
import { expectShownVerbatim, runExample } from "../doc-examples.ts";

describe("docs/http.md examples", function () {
  this.timeout(150_000);

  it("shows each example file verbatim", async function () {
    await expectShownVerbatim("docs/http.md", ["docs/examples/http/prepaid.ts"]);
  });

  it("prepaid.ts signs one voucher per 5 requests, sends the next token with each, and a copy is refused", async function () {
    const out = await runExample("docs/examples/http/prepaid.ts");
    expect(out.trim().split("\n")).to.deep.equal(["12 requests served, 3 vouchers signed", "token indices: 1 2 3 4 5 1 2 3 4 5 1 2", "the copy: 402 NOT_INCREASING"]);
  });
});
