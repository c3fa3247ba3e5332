import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { Address } from "../src/channel.ts";
import { deployPaymentChannels } from "../scripts/lib/deploy.ts";
import { buildContracts } from "../scripts/lib/build-contracts.ts";
import { TaskContext } from "./lib/context.ts";
import { configuredKey, KEY_VARIABLES } from "./lib/keys.ts";
import { runTask, table } from "./lib/output.ts";
import { MissingKeyError } from "../src/errors.ts";

export default async function deploy(args: { dataDir: string }, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runTask(async () => {
    const context = await TaskContext.create(hre, { dataDir: args.dataDir, contract: "" });
    const key = await configuredKey(hre, "deployer");
    if (key === undefined && !context.local) {
      throw new MissingKeyError(
        `no deployer key for network "${context.networkName}": run \`npx hardhat keystore set ${KEY_VARIABLES.deployer}\` or set the environment variable`,
      );
    }
    // With a configured key, the deployment is sent from it; otherwise from the local chain's account #0.
    const connection = key === undefined ? context.connection : await hre.network.create({ override: { accounts: [key] } });
    await buildContracts(hre);
    const result = await deployPaymentChannels(connection);
    context.saveDeployment(result.address as Address, result.blockNumber);
    console.log(result.alreadyDeployed ? "PaymentChannels is already deployed" : "PaymentChannels deployed");
    console.log(
      table([
        ["network", `${context.networkName} (chain id ${context.chainId})`],
        ["contract", result.address],
        ["transaction", result.transactionHash ?? "-"],
        ["gas used", result.gasUsed.toString()],
        ["deployment block", result.blockNumber?.toString() ?? "unknown (the node keeps no history)"],
        ["recorded in", context.deploymentFile],
      ]),
    );
  });
}
