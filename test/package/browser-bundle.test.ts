// Every browser-safe entry point (scripts/lib/package-entries.ts) bundles for `platform: "browser"` without
// a Node built-in: no `node:*` or bare built-in import and no free `Buffer`, `process`, `setImmediate`, ...
import { expect } from "chai";
import { bundleForBrowser } from "../../scripts/lib/browser-bundle.ts";
import { PACKAGE_ENTRIES, specifierOf } from "../../scripts/lib/package-entries.ts";

const root = new URL("../../", import.meta.url).pathname;

describe("browser bundle", function () {
  this.timeout(60_000);

  for (const entry of PACKAGE_ENTRIES.filter((e) => e.browserSafe)) {
    it(`${specifierOf(entry)} bundles for the browser without Node built-ins`, async () => {
      const bundle = await bundleForBrowser(entry.source, root);
      expect(bundle.nodeBuiltins).to.deep.equal([]);
      expect(bundle.bytes).to.be.greaterThan(1000);
    });
  }

  it("the root bundle keeps what a dApp imports", async () => {
    const bundle = await bundleForBrowser("src/index.ts", root);
    // Exports survive minification under their own names.
    for (const name of ["Payer", "Payee", "signVoucher", "channelId"]) expect(bundle.code).to.match(new RegExp(`\\b${name}\\b`));
  });

  // The detector itself: a Node-only entry and a free Buffer are both reported.
  it("reports an imported built-in and a free Node global", async () => {
    const sqlite = await bundleForBrowser("src/store/sqlite.ts", root);
    expect(sqlite.nodeBuiltins.some((found) => found.startsWith("node:sqlite"))).to.equal(true);
    const globals = await bundleForBrowser("test/package/fixtures/node-globals.ts", root);
    expect(globals.nodeBuiltins).to.deep.equal(["global Buffer", "global setImmediate"]);
  });

  it("does not report a guarded globalThis.process read or a local named Buffer", async () => {
    const guarded = await bundleForBrowser("test/package/fixtures/guarded-globals.ts", root);
    expect(guarded.nodeBuiltins).to.deep.equal([]);
  });
});
