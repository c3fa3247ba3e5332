// What `npm run demo:web` starts, also used by the Chromium test: a `hardhat node` child process with
// PaymentChannels deployed on it, and the paid site in front of it.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createPublicClient, createWalletClient, http, type Abi } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Address, Hex } from "../../src/channel.ts";
import { HARDHAT_KEYS, startHardhatNode, type HardhatNode } from "./hardhat-node.ts";
import { startWebSite, type WebSite, type WebSiteOptions } from "./web-site.ts";

// Compiled by the caller: `npm run demo:web` builds the contracts first, `hardhat test` before any test.
const ARTIFACT = path.resolve("artifacts", "contracts", "PaymentChannels.sol", "PaymentChannels.json");
const TIP_JAR_ARTIFACT = path.resolve("artifacts", "contracts", "donations", "TipJar.sol", "TipJar.json");

export interface WebDemo {
  node: HardhatNode;
  site: WebSite;
  contract: Address;
  chainId: bigint;
  /** The TipJar the reader's tips go through, deployed next to PaymentChannels. */
  tipJar: Address;
  /** The funded account the reader's wallet uses (Hardhat's account #1). */
  readerAccount: Address;
  stop(): Promise<void>;
}

async function deploy(node: HardhatNode, file = ARTIFACT): Promise<Address> {
  const artifact = JSON.parse(await readFile(file, "utf8")) as { abi: Abi; bytecode: Hex };
  const transport = http(node.url);
  const deployer = createWalletClient({ account: privateKeyToAccount(HARDHAT_KEYS[0]), transport });
  const publicClient = createPublicClient({ transport, pollingInterval: 100 });
  const hash = await deployer.deployContract({ abi: artifact.abi, bytecode: artifact.bytecode, chain: null });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.contractAddress === null || receipt.contractAddress === undefined) throw new Error(`${path.basename(file, ".json")} was not deployed`);
  return receipt.contractAddress as Address;
}

export async function startWebDemo(options: Partial<Omit<WebSiteOptions, "rpcUrl" | "chainId" | "contract" | "payeeKey">> & { log?: (line: string) => void } = {}): Promise<WebDemo> {
  const log = options.log ?? (() => undefined);
  log("Starting a local chain (hardhat node)...");
  const node = await startHardhatNode();
  try {
    const chainId = BigInt(await node.rpc<string>("eth_chainId"));
    const contract = await deploy(node);
    log(`PaymentChannels deployed at ${contract} on chain ${chainId}`);
    const tipJar = await deploy(node, TIP_JAR_ARTIFACT);
    log(`TipJar deployed at ${tipJar}`);
    const readerAccount = privateKeyToAccount(HARDHAT_KEYS[1]).address;
    const site = await startWebSite({ ...options, rpcUrl: node.url, chainId, contract, payeeKey: HARDHAT_KEYS[2], tipJar, authorKey: HARDHAT_KEYS[3], demoAccount: readerAccount });
    return {
      node,
      site,
      contract,
      chainId,
      tipJar,
      readerAccount,
      async stop() {
        await site.stop();
        await node.stop();
      },
    };
  } catch (error) {
    await node.stop();
    throw error;
  }
}
