// A fresh in-process chain with PaymentChannels and an EIP-2612 test token, and chain adapters for any of
// its accounts through viem or ethers, so every SDK scenario runs the same way through both.
import { network } from "hardhat";
import { ETH, type Address, type Hex } from "../../src/channel.ts";
import type { ChainWriter } from "../../src/chain/adapter.ts";
import { viemChain } from "../../src/chain/viem.ts";
import { ethersChain } from "../../src/chain/ethers.ts";

export type AdapterKind = "viem" | "ethers";
export const ADAPTERS: AdapterKind[] = ["viem", "ethers"];

type Connection = Awaited<ReturnType<typeof network.create>>;

export interface Deployment {
  kind: AdapterKind;
  connection: Connection;
  contract: Address;
  token: Address;
  chainId: bigint;
  /** Account addresses: [deployer, payer, payee, other, ...]. */
  accounts: Address[];
  /** A chain adapter that sends from `accounts[index]`, through this deployment's adapter kind. */
  writer(index: number): Promise<ChainWriter>;
  /** A read-only adapter (no wallet). */
  reader(): ChainWriter;
  mint(to: Address, amount: bigint): Promise<void>;
  balance(account: Address, token: Address): Promise<bigint>;
  /** Advances chain time by `seconds` and mines a block. */
  increaseTime(seconds: bigint): Promise<void>;
}

export async function deploy(kind: AdapterKind): Promise<Deployment> {
  const connection = await network.create();
  const { ethers, viem, networkHelpers } = connection;
  const signers = await ethers.getSigners();
  const channels = await ethers.deployContract("PaymentChannels");
  const testToken = await ethers.deployContract("TestToken");
  const contract = (await channels.getAddress()) as Address;
  const token = (await testToken.getAddress()) as Address;
  const chainId = (await ethers.provider.getNetwork()).chainId;
  const publicClient = await viem.getPublicClient();
  const walletClients = await viem.getWalletClients();

  return {
    kind,
    connection,
    contract,
    token,
    chainId,
    accounts: signers.map((s) => s.address as Address),
    async writer(index) {
      if (kind === "viem") return viemChain({ publicClient, walletClient: walletClients[index], contract });
      return ethersChain({ runner: signers[index], contract });
    },
    reader() {
      if (kind === "viem") return viemChain({ publicClient, contract });
      return ethersChain({ runner: ethers.provider, contract });
    },
    async mint(to, amount) {
      await (await testToken.getFunction("mint")(to, amount)).wait();
    },
    async balance(account, asset) {
      if (asset === ETH) return ethers.provider.getBalance(account);
      return (await testToken.getFunction("balanceOf")(account)) as bigint;
    },
    async increaseTime(seconds) {
      await networkHelpers.time.increase(seconds);
    },
  };
}

/** A salt from a small number, so tests can open many channels with one config. */
export function salt(n: number | bigint): Hex {
  return `0x${BigInt(n).toString(16).padStart(64, "0")}`;
}
