// Scripts and tasks that read the PaymentChannels artifact compile the contracts first, so a fresh clone's
// first `npm run demo` or `npx hardhat trickle:deploy` works instead of failing with HHE1000 (artifact not
// found), and says what it is doing instead of staring silently for a minute. The build is incremental:
// once compiled, it only checks that nothing changed. Solidity tests are not compiled: only tests need them.
import { existsSync } from "node:fs";
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

/**
 * Drops solc warnings about dependencies' code (OpenZeppelin's transient storage, ...) from the build's
 * output: nobody running the demo can act on them. Hardhat prints each diagnostic as a block ending in a
 * blank line, whose `-->` line gives the file; anything else (our own warnings, errors) is kept.
 */
export function withoutDependencyWarnings(output: string): string {
  return output
    .split(/\n\n/)
    .filter((block) => !(/^\s*Warning: /.test(block) && /-->\s+(\.\/)?node_modules\//.test(block)))
    .join("\n\n");
}

export async function buildContracts(hre: HardhatRuntimeEnvironment): Promise<void> {
  // Checked on disk: asking the artifact manager now would make it remember that the artifact is missing.
  const artifact = path.join(hre.config.paths.artifacts, "contracts", "PaymentChannels.sol", "PaymentChannels.json");
  if (!existsSync(artifact)) {
    // stderr: trickle:pay keeps stdout for the voucher alone.
    console.error("Compiling the contracts (first run in this checkout: about a minute)...");
  }
  // Hardhat prints diagnostics itself: hold its output back, then print it without dependency warnings.
  let captured = "";
  const writes = { out: process.stdout.write, err: process.stderr.write };
  const capture = (chunk: string | Uint8Array): boolean => {
    captured += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  try {
    await hre.tasks.getTask("build").run({ quiet: true, noTests: true });
  } finally {
    process.stdout.write = writes.out;
    process.stderr.write = writes.err;
    const kept = withoutDependencyWarnings(captured);
    if (kept.trim() !== "") process.stderr.write(kept.endsWith("\n") ? kept : `${kept}\n`);
  }
}
