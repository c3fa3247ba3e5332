// The second half of `npm run build`, after `hardhat build` has compiled the contracts and written
// typechain-types/: refreshes the TypeChain copy in src/chain/typechain/, compiles src/ to dist/ (ESM, .d.ts,
// source maps) and copies the PaymentChannels artifact (ABI and bytecode) to dist/artifacts/.
import { execFileSync } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { expectedCopy, TYPECHAIN_FILES } from "./lib/typechain-copy.ts";

const root = new URL("../", import.meta.url);

for (const file of TYPECHAIN_FILES) {
  const target = new URL(`src/chain/typechain/${file}`, root);
  const wanted = await expectedCopy(root, file);
  const current = await readFile(target, "utf8").catch(() => undefined);
  if (current !== wanted) {
    await mkdir(dirname(fileURLToPath(target)), { recursive: true });
    await writeFile(target, wanted);
    console.log(`updated src/chain/typechain/${file} from typechain-types/`);
  }
}

console.log("Compiling src/ to dist/ (tsc -p tsconfig.build.json)");
await rm(new URL("dist/", root), { recursive: true, force: true });
const tsc = fileURLToPath(new URL("node_modules/typescript/bin/tsc", root));
execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });

const artifact = JSON.parse(await readFile(new URL("artifacts/contracts/PaymentChannels.sol/PaymentChannels.json", root), "utf8"));
await mkdir(new URL("dist/artifacts/", root), { recursive: true });
// The deployable parts only: Hardhat's build-info references and debug fields mean nothing outside the repository.
const { contractName, sourceName, abi, bytecode, deployedBytecode, linkReferences, deployedLinkReferences } = artifact;
await writeFile(
  new URL("dist/artifacts/PaymentChannels.json", root),
  `${JSON.stringify({ contractName, sourceName, abi, bytecode, deployedBytecode, linkReferences, deployedLinkReferences }, null, 2)}\n`,
);
console.log("dist/ written: JavaScript, declarations, source maps, artifacts/PaymentChannels.json");
