// Shared by the tests of the docs' example files: each doc shows its examples verbatim (a ```ts block
// titled with the file's path), and the tests run the files against the sources the package is built
// from, so they need no build: every `trickle` entry point resolves to its source file.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { PACKAGE_ENTRIES, specifierOf } from "../scripts/lib/package-entries.ts";

export const root = new URL("../", import.meta.url);

const sources = Object.fromEntries(PACKAGE_ENTRIES.map((entry) => [specifierOf(entry), new URL(entry.source, root).href]));

/** A `--import` for node that resolves every `trickle` entry point to its source file. */
export const TRICKLE_FROM_SOURCES = `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from "node:module";
const sources = ${JSON.stringify(sources)};
registerHooks({ resolve: (specifier, context, next) => (specifier in sources ? { url: sources[specifier], shortCircuit: true } : next(specifier, context)) });
`)}`;

/** Runs an example file to its end and resolves with what it printed. */
export async function runExample(file: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--no-warnings", "--import", TRICKLE_FROM_SOURCES, file], { cwd: root, timeout: 120_000 });
  return stdout;
}

/** Expects `doc` to show exactly `files`, in this order, each exactly as the file is. */
export async function expectShownVerbatim(doc: string, files: string[]): Promise<void> {
  const text = await readFile(new URL(doc, root), "utf8");
  const blocks = [...text.matchAll(/```ts title=(\S+)\n([\s\S]*?)```/g)];
  expect(blocks.map((b) => b[1])).to.deep.equal(files);
  for (const [, file, code] of blocks) expect(code, file).to.equal(await readFile(new URL(file!, root), "utf8"));
}
