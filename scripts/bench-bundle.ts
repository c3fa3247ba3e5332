// `npm run bench:bundle`: the minified size of each browser-safe entry point as a browser dApp's bundler
// (esbuild, platform "browser") would ship it, raw and gzipped, and the size of the npm tarball (after
// `npm run build`). Prints both, writes bench/results/bundle.json and the README's figures between the
// `bench:bundle` and `bench:tarball` markers.
import { execFileSync } from "node:child_process";
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

// The tarball of the current build: the package's own dist/ (npm run build writes it), without dependencies.
execFileSync(process.execPath, [`${root}scripts/build-package.ts`], { cwd: root, stdio: "ignore" });
const npmCli = process.env.npm_execpath;
const packJson =
  npmCli !== undefined && npmCli.endsWith(".js")
    ? execFileSync(process.execPath, [npmCli, "pack", "--dry-run", "--json"], { cwd: root, encoding: "utf8" })
    : execFileSync("npm", ["pack", "--dry-run", "--json"], { cwd: root, encoding: "utf8" });
const [packed] = JSON.parse(packJson) as { size: number; unpackedSize: number; entryCount: number }[];
const tarball = { packedBytes: packed.size, unpackedBytes: packed.unpackedSize, files: packed.entryCount };
const tarballLine = `The npm tarball is ${kb(tarball.packedBytes)} (${kb(tarball.unpackedBytes)} unpacked, ${tarball.files} files: \`dist/\` with source maps, the contract sources, this README).`;
console.log(tarballLine);

await mkdir(new URL("bench/results/", `file://${root}`), { recursive: true });
await writeFile(
  new URL("bench/results/bundle.json", `file://${root}`),
  `${JSON.stringify({ bundler: "esbuild", platform: "browser", minified: true, entries: rows, tarball }, null, 2)}\n`,
);
console.log("wrote bench/results/bundle.json");
if (await writeBlock(`${root}README.md`, "bench:bundle", table)) console.log("updated the bundle table of README.md");
else console.log("README.md has no bench:bundle markers: left as it is");
if (await writeBlock(`${root}README.md`, "bench:tarball", tarballLine)) console.log("updated the tarball size in README.md");
else console.log("README.md has no bench:tarball markers: left as it is");
