// The README shows the example files exactly (the consumer test runs those files).
import { expect } from "chai";
import { readFile } from "node:fs/promises";
import { EXAMPLES, exampleBlock } from "../../scripts/lib/examples.ts";
import { readBlock } from "../../scripts/lib/readme-block.ts";

const root = new URL("../../", import.meta.url);

describe("README examples", () => {
  for (const example of EXAMPLES) {
    it(`the README's ${example.name} example is ${example.file} (npm run readme:examples rewrites it)`, async () => {
      const readme = await readFile(new URL("README.md", root), "utf8");
      const source = await readFile(new URL(example.file, root), "utf8");
      expect(readBlock(readme, `example:${example.name}`)).to.equal(exampleBlock(source));
    });
  }
});
