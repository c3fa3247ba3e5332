// Tasks that read the PaymentChannels artifact compile the contracts first, so a fresh clone's first
// `npx hardhat trickle:deploy` works instead of failing with HHE1000 (artifact not found). The build is
// incremental: once compiled, it only checks that nothing changed.
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

export async function buildContracts(hre: HardhatRuntimeEnvironment): Promise<void> {
  if (!(await hre.artifacts.artifactExists("PaymentChannels"))) {
    // stderr: trickle:pay keeps stdout for the voucher alone.
    console.error("Compiling the contracts (first run in this checkout: about a minute)...");
  }
  await hre.tasks.getTask("build").run({ quiet: true });
}
