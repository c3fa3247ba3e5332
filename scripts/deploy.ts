// `npm run deploy` (in-process network) or `npx hardhat run scripts/deploy.ts --network localhost`:
// deploys PaymentChannels at its deterministic CREATE2 address and says where it is.
import { network } from "hardhat";
import { deployPaymentChannels } from "./lib/deploy.ts";

const connection = await network.create();
const deployment = await deployPaymentChannels(connection);

console.log(`PaymentChannels ${deployment.alreadyDeployed ? "already deployed" : "deployed"}`);
console.log(`  network   ${connection.networkName}`);
console.log(`  chain id  ${deployment.chainId}`);
console.log(`  address   ${deployment.address}`);
if (deployment.transactionHash !== undefined) {
  console.log(`  tx        ${deployment.transactionHash}`);
  console.log(`  gas used  ${deployment.gasUsed}`);
}
