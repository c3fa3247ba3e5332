// `npm run readme:examples`: writes each file of examples/ into README.md between its markers.
import { readFile } from "node:fs/promises";
import { EXAMPLES, exampleBlock } from "./lib/examples.ts";
import { writeBlock } from "./lib/readme-block.ts";

const root = new URL("../", import.meta.url);
for (const example of EXAMPLES) {
  const source = await readFile(new URL(example.file, root), "utf8");
  const written = await writeBlock(new URL("README.md", root).pathname, `example:${example.name}`, exampleBlock(source));
  console.log(written ? `README.md: ${example.file} embedded` : `README.md has no example:${example.name} markers`);
}
