// The package's entry points load in plain Node (type stripping, no Hardhat loader), and none of them
// pulls in Hardhat, its plugins or the generated typechain-types.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = new URL("../../", import.meta.url);

// Records every module URL the entry point resolves, then prints them with the entry's export names.
const probe = (entry: string) => `
import { registerHooks } from "node:module";
const resolved = [];
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); resolved.push(r.url); return r; } });
const m = await import(${JSON.stringify(entry)});
console.log(JSON.stringify({ exports: Object.keys(m), resolved }));
`;

describe("package entry points", () => {
  it("are declared in package.json for the SDK's subpaths", async () => {
    const pkg = JSON.parse(await readFile(new URL("package.json", root), "utf8"));
    expect(Object.keys(pkg.exports)).to.include.members([".", "./store/sqlite", "./store/memory", "./chain/viem", "./chain/ethers", "./http"]);
    expect(pkg.type).to.equal("module");
  });

  const expected: Record<string, string[]> = {
    trickle: ["Payer", "Payee", "MemoryStore", "signVoucher", "VoucherVerifier", "channelId", "ContractRevertError", "PAYMENT_CHANNELS_ABI"],
    "trickle/store/memory": ["MemoryStore"],
    "trickle/store/sqlite": ["SqliteStore"],
    "trickle/store/postgres": ["PostgresStore", "PostgresLeaderLease"],
    "trickle/chain/viem": ["viemChain"],
    "trickle/chain/ethers": ["ethersChain"],
  };
  for (const [entry, names] of Object.entries(expected)) {
    it(`${entry} loads in plain node without Hardhat`, async () => {
      const { stdout } = await run(process.execPath, ["--input-type=module", "--no-warnings", "-e", probe(entry)], { cwd: root });
      const { exports, resolved } = JSON.parse(stdout.trim().split("\n").at(-1)!) as { exports: string[]; resolved: string[] };
      expect(exports).to.include.members(names);
      const forbidden = resolved.filter((url) => /\/node_modules\/(hardhat|@nomicfoundation)\/|\/typechain-types\//.test(url));
      expect(forbidden).to.deep.equal([]);
      expect(resolved.length).to.be.greaterThan(1);
    });
  }
});
