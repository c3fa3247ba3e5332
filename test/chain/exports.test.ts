// The package's entry points (scripts/lib/package-entries.ts) are the ones package.json exports, and each
// one's source loads in plain Node (type stripping, no Hardhat loader) without pulling in Hardhat, its
// plugins or the generated typechain-types/. test/package/consumer.test.ts checks the built package.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { builtPathOf, OTHER_EXPORTS, PACKAGE_ENTRIES } from "../../scripts/lib/package-entries.ts";

const run = promisify(execFile);
const root = new URL("../../", import.meta.url);

// Records every module URL the entry point resolves, then prints them with the entry's export names.
const probe = (entry: string) => `
import { registerHooks } from "node:module";
const resolved = [];
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); resolved.push(r.url); return r; } });
const m = await import(${JSON.stringify(entry)});
console.log(JSON.stringify({ exports: Object.keys(m), resolved }));
`;

describe("package entry points", () => {
  it("package.json exports exactly the listed entry points, each with types and import from dist/", async () => {
    const pkg = JSON.parse(await readFile(new URL("package.json", root), "utf8"));
    expect(pkg.type).to.equal("module");
    expect(Object.keys(pkg.exports).sort()).to.deep.equal([...PACKAGE_ENTRIES.map((e) => e.subpath), ...OTHER_EXPORTS].sort());
    for (const entry of PACKAGE_ENTRIES) {
      expect(pkg.exports[entry.subpath], entry.subpath).to.deep.equal({ types: builtPathOf(entry, ".d.ts"), import: builtPathOf(entry, ".js") });
    }
    // Every export ships: `files` covers dist/, where all of them point.
    expect(pkg.files).to.include("dist");
  });

  for (const entry of PACKAGE_ENTRIES) {
    it(`${entry.source} (${entry.subpath}) loads in plain node without Hardhat`, async () => {
      const url = new URL(entry.source, root).href;
      const { stdout } = await run(process.execPath, ["--input-type=module", "--no-warnings", "-e", probe(url)], { cwd: root });
      const { exports, resolved } = JSON.parse(stdout.trim().split("\n").at(-1)!) as { exports: string[]; resolved: string[] };
      expect(exports).to.include.members(entry.exports);
      const forbidden = resolved.filter((u) => /\/node_modules\/(hardhat|@nomicfoundation)\/|\/typechain-types\//.test(u));
      expect(forbidden).to.deep.equal([]);
      expect(resolved).to.include(url); // the hook saw the load it checks
    });
  }
});
