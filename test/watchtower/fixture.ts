// A PaymentChannels deployment on a `hardhat node` child process, with viem clients per account, for the
// watchtower tests. Vouchers are signed with viem here so the tests depend only on the chain adapter and
// the store, the two things the watchtower itself uses.
import { readFile } from "node:fs/promises";
import { createPublicClient, createWalletClient, http, type PublicClient, type Transport, type Chain } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { channelId, ETH, type Address, type ChannelConfig, type Hex } from "../../src/channel.ts";
import type { ChainWriter } from "../../src/chain/adapter.ts";
import { viemChain } from "../../src/chain/viem.ts";
import type { StoredVoucher } from "../../src/store/store.ts";
import { HARDHAT_KEYS, type HardhatNode } from "./hardhat-node.ts";

export interface Party {
  key: Hex;
  address: Address;
  chain: ChainWriter;
}

export interface Deployment {
  contract: Address;
  publicClient: PublicClient<Transport, Chain>;
  party(index: number): Party;
  balance(address: Address): Promise<bigint>;
  /** Signs a cumulative voucher with `key`, as the SDK's Payer would. */
  sign(key: Hex, channel: Hex, amount: bigint): Promise<StoredVoucher>;
  config(payer: Party, payee: Party, closeDelay: bigint, salt: number): ChannelConfig;
  /** Moves the node's clock forward and mines one block. */
  advance(seconds: bigint): Promise<void>;
}

export async function deploy(node: HardhatNode): Promise<Deployment> {
  const transport = http(node.url);
  // No block-number cache: the tests mine blocks faster than viem's default 4 s cache.
  const publicClient = createPublicClient({ chain: hardhat, transport, cacheTime: 0 });
  const artifact = JSON.parse(await readFile("artifacts/contracts/PaymentChannels.sol/PaymentChannels.json", "utf8")) as {
    bytecode: Hex;
  };
  const deployer = createWalletClient({ chain: hardhat, transport, account: privateKeyToAccount(HARDHAT_KEYS[0]) });
  const hash = await deployer.deployContract({ abi: [], bytecode: artifact.bytecode });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  const contract = receipt.contractAddress as Address;

  const party = (index: number): Party => {
    const account = privateKeyToAccount(HARDHAT_KEYS[index]);
    const walletClient = createWalletClient({ chain: hardhat, transport, account });
    return { key: HARDHAT_KEYS[index], address: account.address, chain: viemChain({ publicClient, walletClient, contract }) };
  };
  return {
    contract,
    publicClient,
    party,
    balance: (address) => publicClient.getBalance({ address }),
    async sign(key, channel, amount) {
      const signature = await privateKeyToAccount(key).signTypedData({
        domain: { name: "Trickle", version: "1", chainId: 31337, verifyingContract: contract },
        types: { Voucher: [{ name: "channelId", type: "bytes32" }, { name: "amount", type: "uint256" }] },
        primaryType: "Voucher",
        message: { channelId: channel, amount },
      });
      return { channelId: channel, amount, signature };
    },
    config(payer, payee, closeDelay, salt) {
      return {
        payer: payer.address,
        payee: payee.address,
        token: ETH,
        signer: payer.address,
        closeDelay,
        salt: `0x${salt.toString(16).padStart(64, "0")}`,
      };
    },
    async advance(seconds) {
      await node.rpc("evm_increaseTime", [Number(seconds)]);
      await node.rpc("evm_mine");
    },
  };
}

export { channelId };
