// Scripts and tasks that read the PaymentChannels artifact compile the contracts first, so a fresh clone's
// first `npm run demo` or `npx hardhat trickle:deploy` works instead of failing with HHE1000 (artifact not
// found), and says what it is doing instead of staring silently for a minute. The build is incremental:
// once compiled, it only checks that nothing changed. Solidity tests are not compiled: only tests need them.
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

export async function buildContracts(hre: HardhatRuntimeEnvironment): Promise<void> {
  if (!(await hre.artifacts.artifactExists("PaymentChannels"))) {
    // stderr: trickle:pay keeps stdout for the voucher alone.
    console.error("Compiling the contracts (first run in this checkout: about a minute)...");
  }
  await hre.tasks.getTask("build").run({ quiet: true, noTests: true });
}
