// `npm run bench:bundle`: the minified size of each browser-safe entry point as a browser dApp's bundler
// (esbuild, platform "browser") would ship it, raw and gzipped. Prints a table, writes
// bench/results/bundle.json and the README's bundle figures between the `bench:bundle` markers.
import { mkdir, writeFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { bundleForBrowser } from "./lib/browser-bundle.ts";
import { PACKAGE_ENTRIES, specifierOf } from "./lib/package-entries.ts";
import { writeBlock } from "./lib/readme-block.ts";

const root = new URL("../", import.meta.url).pathname;
const rows: { entry: string; minifiedBytes: number; gzipBytes: number }[] = [];
for (const entry of PACKAGE_ENTRIES.filter((e) => e.browserSafe)) {
  const bundle = await bundleForBrowser(entry.source, root);
  if (bundle.nodeBuiltins.length > 0) throw new Error(`${specifierOf(entry)} needs Node built-ins: ${bundle.nodeBuiltins.join(", ")}`);
  rows.push({ entry: specifierOf(entry), minifiedBytes: bundle.bytes, gzipBytes: gzipSync(bundle.code).length });
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const table = [
  "| entry point | minified | minified + gzip |",
  "|---|---:|---:|",
  ...rows.map((r) => `| \`${r.entry}\` | ${kb(r.minifiedBytes)} | ${kb(r.gzipBytes)} |`),
].join("\n");
console.log(table);

await mkdir(new URL("bench/results/", `file://${root}`), { recursive: true });
await writeFile(
  new URL("bench/results/bundle.json", `file://${root}`),
  `${JSON.stringify({ bundler: "esbuild", platform: "browser", minified: true, entries: rows }, null, 2)}\n`,
);
console.log("wrote bench/results/bundle.json");
if (await writeBlock(`${root}README.md`, "bench:bundle", table)) console.log("updated the bundle table of README.md");
else console.log("README.md has no bench:bundle markers: left as it is");
