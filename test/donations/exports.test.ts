// `trickle/donations` loads in plain Node without Hardhat, and its own modules import no Node built-in (it runs
// in browsers; viem and ethers pick their browser builds there through their package exports).
import { expect } from "chai";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = new URL("../../", import.meta.url);
// The source entry, not the package's self-reference: `trickle/donations` resolves to the built dist/ file.
const entry = new URL("src/donations/index.ts", root).href;
const probe = `
import { registerHooks } from "node:module";
const resolved = [];
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); resolved.push({ from: context.parentURL ?? "", url: r.url }); return r; } });
const m = await import("${entry}");
console.log(JSON.stringify({ exports: Object.keys(m), resolved }));
`;

describe("trickle/donations entry point", () => {
  it("exports the donor and creator sides and pulls in neither Hardhat nor a Node built-in", async () => {
    const { stdout } = await run(process.execPath, ["--input-type=module", "--no-warnings", "-e", probe], { cwd: root });
    const { exports, resolved } = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
      exports: string[];
      resolved: { from: string; url: string }[];
    };
    expect(exports).to.include.members(["Donor", "Creator", "splitSalt", "splitShares", "budgetId", "tallyHash", "ethersTipJar", "statementToCsv"]);
    const forbidden = resolved.filter(
      ({ from, url }) =>
        /\/node_modules\/(hardhat|@nomicfoundation)\/|\/typechain-types\//.test(url) || (from.includes("/src/") && url.startsWith("node:")),
    );
    expect(resolved.some(({ url }) => url.endsWith("/src/donations/creator.ts"))).to.equal(true);
    expect(forbidden).to.deep.equal([]);
  });
});
