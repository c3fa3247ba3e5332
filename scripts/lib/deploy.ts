// Deploys PaymentChannels at its deterministic CREATE2 address through the Ignition module. Shared by
// scripts/deploy.ts, the benchmarks, the demo and the Hardhat tasks.
import { rm } from "node:fs/promises";
import path from "node:path";
import { AbiCoder, getCreate2Address, keccak256, zeroPadValue, type Provider } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";
import PaymentChannelsModule, { PAYMENT_CHANNELS_SALT } from "../../ignition/modules/PaymentChannels.ts";
import type { PaymentChannels } from "../../typechain-types/index.ts";

/** The CreateX factory (v0.1.0), at the same address on every chain it is deployed on. */
export const CREATEX_ADDRESS = "0xba5Ed099633D3B313e4D5F7bdc1305d3c28ba5Ed";

/** Hardhat's chain id: the in-process network and `npx hardhat node`. */
const HARDHAT_CHAIN_ID = 31337n;

export interface DeployPaymentChannelsResult {
  /** The contract, connected to the connection's first signer. */
  paymentChannels: PaymentChannels;
  address: string;
  chainId: bigint;
  /** Receipt gasUsed of the CreateX call that created the contract; 0n when it was already there. */
  gasUsed: bigint;
  /** Hash of that transaction, or undefined when it was already there. */
  transactionHash: string | undefined;
  /** True when the contract already existed at its address and nothing was sent. */
  alreadyDeployed: boolean;
  /**
   * The block the contract was created in: where log queries start (deployment.json keeps it). For an
   * existing deployment it is searched with historical `eth_getCode`; undefined when the node cannot
   * answer those (not an archive node).
   */
  blockNumber: bigint | undefined;
}

/** The first block at which `address` has code, by bisection over `eth_getCode` at past blocks. */
export async function findDeploymentBlock(provider: Provider, address: string): Promise<bigint | undefined> {
  try {
    let high = BigInt(await provider.getBlockNumber());
    if ((await provider.getCode(address, high)) === "0x") return undefined;
    let low = 0n;
    if ((await provider.getCode(address, low)) !== "0x") return 0n;
    // Invariant: no code at `low`, code at `high`.
    while (high - low > 1n) {
      const middle = (low + high) / 2n;
      if ((await provider.getCode(address, middle)) === "0x") low = middle;
      else high = middle;
    }
    return high;
  } catch {
    return undefined; // the node keeps no historical state
  }
}

/** The PaymentChannels init code: the artifact's bytecode (the constructor takes no arguments). */
export async function paymentChannelsInitCode(connection: NetworkConnection): Promise<string> {
  const factory = await connection.ethers.getContractFactory("PaymentChannels");
  return factory.bytecode;
}

/**
 * Where CreateX puts PaymentChannels on any chain. CreateX guards a salt whose first 20 bytes are
 * neither zero nor the caller by hashing it (`keccak256(abi.encode(salt))`), then runs CREATE2.
 * The result depends only on the salt and the compiled bytecode, so any change to the contract or to
 * the compiler settings moves the address.
 */
export function paymentChannelsAddress(initCode: string, salt: string = PAYMENT_CHANNELS_SALT): string {
  const guardedSalt = keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32"], [salt]));
  return getCreate2Address(CREATEX_ADDRESS, guardedSalt, keccak256(initCode));
}

export interface DeployPaymentChannelsOptions {
  /** Account that sends the deployment; the connection's first account by default. */
  defaultSender?: string;
}

/**
 * Deploys PaymentChannels with the Ignition module and the create2 strategy, or returns the existing
 * deployment when the address already has code (only this init code can produce code there).
 *
 * On Hardhat's chain id (in-process network, `npx hardhat node`) Ignition installs the CreateX factory
 * itself with its presigned transaction when it is missing. On any other chain CreateX must already be
 * deployed (it is on many public chains); this function stops before sending anything when it is not.
 */
export async function deployPaymentChannels(
  connection: NetworkConnection,
  options: DeployPaymentChannelsOptions = {},
): Promise<DeployPaymentChannelsResult> {
  const { ethers, ignition } = connection;
  const chainId = (await ethers.provider.getNetwork()).chainId;
  const address = paymentChannelsAddress(await paymentChannelsInitCode(connection));
  const connect = (): Promise<PaymentChannels> =>
    ethers.getContractAt("PaymentChannels", address) as unknown as Promise<PaymentChannels>;

  if ((await ethers.provider.getCode(address)) !== "0x") {
    return {
      paymentChannels: await connect(),
      address,
      chainId,
      gasUsed: 0n,
      transactionHash: undefined,
      alreadyDeployed: true,
      blockNumber: await findDeploymentBlock(ethers.provider, address),
    };
  }

  if (chainId !== HARDHAT_CHAIN_ID && (await ethers.provider.getCode(CREATEX_ADDRESS)) === "0x") {
    throw new Error(
      `The CreateX factory is not deployed at ${CREATEX_ADDRESS} on chain ${chainId}, so PaymentChannels cannot ` +
        "get its deterministic address there. Deploy CreateX first with its presigned transaction " +
        "(https://github.com/pcaversaccio/createx#new-deployments), or use a chain where it exists. Nothing was sent.",
    );
  }

  if (connection.networkConfig.type === "http" && chainId === HARDHAT_CHAIN_ID) {
    // A journal under ignition/deployments/ for a local node whose chain has no contract at the
    // address was written for an earlier run of the node: Ignition would trust it and deploy nothing.
    // Imported here, not at the top: Hardhat tasks load this module, and the global runtime environment
    // exists by the time a deployment runs.
    const { default: hre } = await import("hardhat");
    await rm(path.join(hre.config.paths.ignition, "deployments", `chain-${chainId}`), { recursive: true, force: true });
  }

  await ignition.deploy(PaymentChannelsModule, {
    strategy: "create2",
    strategyConfig: { salt: PAYMENT_CHANNELS_SALT },
    defaultSender: options.defaultSender,
  });

  // The deployment result carries no receipt: find the CreateX event that announced the contract.
  const logs = await ethers.provider.getLogs({
    address: CREATEX_ADDRESS,
    topics: [null, zeroPadValue(address, 32)],
    fromBlock: 0,
    toBlock: "latest",
  });
  const creation = logs.at(-1);
  if (creation === undefined || (await ethers.provider.getCode(address)) === "0x") {
    throw new Error(`PaymentChannels is not at its CREATE2 address ${address} on chain ${chainId} after deploying`);
  }
  const receipt = await ethers.provider.getTransactionReceipt(creation.transactionHash);
  if (receipt === null) throw new Error(`no receipt for ${creation.transactionHash}`);
  return {
    paymentChannels: await connect(),
    address,
    chainId,
    gasUsed: receipt.gasUsed,
    transactionHash: receipt.hash,
    alreadyDeployed: false,
    blockNumber: BigInt(receipt.blockNumber),
  };
}
