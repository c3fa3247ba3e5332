// The TypeChain files of `PaymentChannels` that ship in the package. `hardhat build` writes them to
// typechain-types/ (not committed, and not in the package); src/chain/typechain/ keeps a committed copy so
// that src/ compiles on its own, `trickle/chain/ethers` types its contract from inside the package, and a
// consumer gets the same types from `trickle/typechain`. `npm run build` refreshes the copy and
// test/chain/typechain.test.ts fails when it differs from what the compiler generates.
import { readFile } from "node:fs/promises";

export const TYPECHAIN_FILES = ["common.ts", "PaymentChannels.ts", "factories/PaymentChannels__factory.ts"] as const;

const HEADER = "// Copied from typechain-types/ by `npm run build` (scripts/lib/typechain-copy.ts): do not edit.\n";

/** What src/chain/typechain/<file> must contain for the current typechain-types/<file>. */
export async function expectedCopy(root: URL, file: string): Promise<string> {
  return HEADER + (await readFile(new URL(`typechain-types/${file}`, root), "utf8"));
}
