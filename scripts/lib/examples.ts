// The README's code examples are files under examples/, embedded between `<!-- example:<name>:begin -->`
// markers by `npm run readme:examples`; the consumer test copies the same files into an app that installs
// the packed package, type-checks them strictly and runs them, so the README cannot show code that fails.

export const EXAMPLES = [
  { name: "sdk", file: "examples/sdk.ts" },
  { name: "http", file: "examples/http.ts" },
] as const;

/** The README block of an example: the file, verbatim, in a TypeScript fence. */
export function exampleBlock(source: string): string {
  return `\`\`\`ts\n${source.endsWith("\n") ? source : `${source}\n`}\`\`\`\n`;
}
