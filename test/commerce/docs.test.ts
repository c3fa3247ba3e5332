// docs/commerce.md: every example is a file under docs/examples/commerce that this test runs, and the
// doc shows each file exactly as it is.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { PACKAGE_ENTRIES, specifierOf } from "../../scripts/lib/package-entries.ts";

const run = promisify(execFile);
const root = new URL("../../", import.meta.url);

// The package exports its build (dist/); the examples run against the sources it is built from, so the
// test needs no build: every `trickle` entry point resolves to its source file.
const sources = Object.fromEntries(PACKAGE_ENTRIES.map((entry) => [specifierOf(entry), new URL(entry.source, root).href]));
const toSources = `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from "node:module";
const sources = ${JSON.stringify(sources)};
registerHooks({ resolve: (specifier, context, next) => (specifier in sources ? { url: sources[specifier], shortCircuit: true } : next(specifier, context)) });
`)}`;

async function example(file: string): Promise<string> {
  const { stdout } = await run(process.execPath, ["--no-warnings", "--import", toSources, file], { cwd: root, timeout: 120_000 });
  return stdout;
}

describe("docs/commerce.md examples", function () {
  this.timeout(150_000);

  it("shows each example file verbatim", async function () {
    const doc = await readFile(new URL("docs/commerce.md", root), "utf8");
    const blocks = [...doc.matchAll(/```ts title=(\S+)\n([\s\S]*?)```/g)];
    expect(blocks.map((b) => b[1])).to.deep.equal(["docs/examples/commerce/units.ts", "docs/examples/commerce/shop.ts"]);
    for (const [, file, code] of blocks) expect(code, file).to.equal(await readFile(new URL(file!, root), "utf8"));
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
