// Rewrites the part of a Markdown file between `<!-- <name>:begin ... -->` and `<!-- <name>:end -->`, so that
// figures and embedded files a reader sees are written by a script, never typed by hand.
import { readFile, writeFile } from "node:fs/promises";

/** The text between the markers named `name` in `markdown`, or `undefined` when they are missing. */
export function readBlock(markdown: string, name: string): string | undefined {
  const begin = new RegExp(`<!-- ${name}:begin[^>]*-->\\n`).exec(markdown);
  const end = markdown.indexOf(`<!-- ${name}:end -->`);
  if (begin === null || end < begin.index) return undefined;
  return markdown.slice(begin.index + begin[0].length, end);
}

/** Replaces the block `name` of the file with `content` (a trailing newline is added when missing). */
export async function writeBlock(file: string, name: string, content: string): Promise<boolean> {
  const markdown = await readFile(file, "utf8");
  const begin = new RegExp(`<!-- ${name}:begin[^>]*-->\\n`).exec(markdown);
  const end = markdown.indexOf(`<!-- ${name}:end -->`);
  if (begin === null || end < begin.index) return false;
  const body = content.endsWith("\n") ? content : `${content}\n`;
  await writeFile(file, markdown.slice(0, begin.index + begin[0].length) + body + markdown.slice(end));
  return true;
}
