// docs/http.md: every example is a file under docs/examples/http that this test runs, and the doc shows
// each file exactly as it is.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { PACKAGE_ENTRIES, specifierOf } from "../../scripts/lib/package-entries.ts";

const run = promisify(execFile);
const root = new URL("../../", import.meta.url);

// The examples run against the sources the package is built from: every `trickle` entry point resolves
// to its source file, so the test needs no build.
const sources = Object.fromEntries(PACKAGE_ENTRIES.map((entry) => [specifierOf(entry), new URL(entry.source, root).href]));
const toSources = `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from "node:module";
const sources = ${JSON.stringify(sources)};
registerHooks({ resolve: (specifier, context, next) => (specifier in sources ? { url: sources[specifier], shortCircuit: true } : next(specifier, context)) });
`)}`;

describe("docs/http.md examples", function () {
  this.timeout(150_000);

  it("shows each example file verbatim", async function () {
    const doc = await readFile(new URL("docs/http.md", root), "utf8");
    const blocks = [...doc.matchAll(/```ts title=(\S+)\n([\s\S]*?)```/g)];
    expect(blocks.map((b) => b[1])).to.deep.equal(["docs/examples/http/prepaid.ts"]);
    for (const [, file, code] of blocks) expect(code, file).to.equal(await readFile(new URL(file!, root), "utf8"));
  });

  it("prepaid.ts signs one voucher per 5 requests, sends the next token with each, and a copy is refused", async function () {
    const { stdout } = await run(process.execPath, ["--no-warnings", "--import", toSources, "docs/examples/http/prepaid.ts"], { cwd: root, timeout: 120_000 });
    expect(stdout.trim().split("\n")).to.deep.equal(["12 requests served, 3 vouchers signed", "token indices: 1 2 3 4 5 1 2 3 4 5 1 2", "the copy: 402 NOT_INCREASING"]);
  });
});
