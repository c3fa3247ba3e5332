// `trickle/commerce` loads in plain Node without Hardhat and resolves no Node built-in module, so a
// browser bundle of the payer's side needs no polyfill; the Node-only parts have their own entry points.
// The package exports the built files (dist/); these checks load the sources they are built from
// (test/package/consumer.test.ts checks the built package).
import { expect } from "chai";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { builtPathOf, PACKAGE_ENTRIES } from "../../scripts/lib/package-entries.ts";

const run = promisify(execFile);
const root = new URL("../../", import.meta.url);

const probe = (entry: string) => `
import { registerHooks } from "node:module";
const resolved = [];
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); resolved.push(r.url.startsWith("node:") ? r.url + " from " + context.parentURL : r.url); return r; } });
const m = await import(${JSON.stringify(entry)});
console.log(JSON.stringify({ exports: Object.keys(m), resolved }));
`;

/** The source file of a package entry point, as a URL plain Node can import. */
function sourceOf(subpath: string): string {
  const entry = PACKAGE_ENTRIES.find((e) => e.subpath === subpath);
  if (entry === undefined) throw new Error(`no package entry ${subpath}`);
  return new URL(entry.source, root).href;
}

async function load(entry: string): Promise<{ exports: string[]; resolved: string[] }> {
  const { stdout } = await run(process.execPath, ["--input-type=module", "--no-warnings", "-e", probe(entry)], { cwd: root });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as { exports: string[]; resolved: string[] };
}

describe("trickle/commerce entry points", function () {
  this.timeout(60_000);

  it("are declared in package.json, built from the commerce sources", async function () {
    const pkg = JSON.parse(await readFile(new URL("package.json", root), "utf8")) as { exports: Record<string, unknown>; scripts: Record<string, string> };
    const sources = {
      "./commerce": "src/commerce/index.ts",
      "./commerce/sqlite": "src/commerce/store-sqlite.ts",
      "./commerce/postgres": "src/commerce/store-postgres.ts",
      "./commerce/http": "src/commerce/http.ts",
    };
    for (const [subpath, source] of Object.entries(sources)) {
      const entry = PACKAGE_ENTRIES.find((e) => e.subpath === subpath);
      expect(entry?.source, subpath).to.equal(source);
      expect(pkg.exports[subpath], subpath).to.deep.equal({ types: builtPathOf(entry!, ".d.ts"), import: builtPathOf(entry!, ".js") });
    }
    expect(Object.keys(pkg.scripts)).to.include.members(["demo:subscription", "demo:store", "bench:commerce"]);
  });

  it("trickle/commerce loads without Hardhat and without any node: module", async function () {
    const { exports, resolved } = await load(sourceOf("./commerce"));
    expect(exports).to.include.members(["Seller", "Subscriber", "Buyer", "Plans", "Catalog", "verifyReceipt", "signReceipt", "MemoryCommerceStore", "httpCounter", "exportLedger", "RenewalRefusedError"]);
    // The SDK's own modules import no built-in; in Node, the native secp256k1 loader (reached at run time
    // through process.getBuiltinModule, absent in browsers, where @noble/curves is used) does.
    expect(resolved.filter((url) => url.startsWith("node:") && url.includes("/src/"))).to.deep.equal([]);
    expect(resolved.filter((url) => /\/node_modules\/(hardhat|@nomicfoundation|ethers)\/|\/typechain-types\//.test(url))).to.deep.equal([]);
  });

  it("trickle/commerce/sqlite, trickle/commerce/postgres and trickle/commerce/http load in plain node", async function () {
    expect((await load(sourceOf("./commerce/sqlite"))).exports).to.include("SqliteCommerceStore");
    expect((await load(sourceOf("./commerce/postgres"))).exports).to.include.members(["PostgresCommerceStore", "POSTGRES_COMMERCE_SCHEMA_VERSION"]);
    expect((await load(sourceOf("./commerce/http"))).exports).to.include.members(["commerceApi", "withTier", "withPurchase"]);
  });
});
