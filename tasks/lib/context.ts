// Everything a Trickle task needs from the network it runs on: viem clients over Hardhat's connection,
// the PaymentChannels deployment (checked to be there, on the chain it was set up for), the keys of the
// payer, payee and deployer, and the SQLite stores under the data dir.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { NetworkConnection } from "hardhat/types/network";
import {
  createPublicClient,
  createWalletClient,
  custom,
  defineChain,
  keccak256,
  toBytes,
  type Account,
  type Chain,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Address, Hex } from "../../src/channel.ts";
import { PAYMENT_CHANNELS_ABI } from "../../src/chain/abi.ts";
import type { ChainWriter } from "../../src/chain/adapter.ts";
import { viemChain } from "../../src/chain/viem.ts";
import { ContractNotFoundError, MissingKeyError, StoreNotFoundError, WrongChainError } from "../../src/errors.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import type { DeploymentStore } from "../../src/store/deployment.ts";
import { configuredKey, KEY_VARIABLES, LOCAL_ACCOUNT_INDEX, type Role } from "./keys.ts";
import { buildContracts } from "../../scripts/lib/build-contracts.ts";

/** Hardhat's chain id: the in-process network and `npx hardhat node`. */
export const HARDHAT_CHAIN_ID = 31337n;

const VOUCHER_TYPEHASH = keccak256(toBytes("Voucher(bytes32 channelId,uint256 amount)"));

/** What `trickle:deploy` writes to `<data dir>/deployment.json`. */
export interface DeploymentRecord {
  chainId: string;
  contract: Address;
  /** The block the contract was created in (decimal); log queries start there. Absent when unknown. */
  blockNumber?: string;
}

/** Options every task takes. */
export interface CommonTaskArguments {
  dataDir: string;
  contract: string;
}

export interface Wallet {
  role: Role;
  address: Address;
  walletClient: WalletClient<Transport, Chain, Account>;
  /** The SDK's chain adapter, sending from this wallet. */
  chain: ChainWriter;
}

export class TaskContext {
  readonly hre: HardhatRuntimeEnvironment;
  readonly connection: NetworkConnection;
  readonly networkName: string;
  readonly chainId: bigint;
  readonly viemChainDefinition: Chain;
  readonly publicClient: PublicClient<Transport, Chain>;
  readonly dataDir: string;
  readonly #contractOption: string;
  #contract: Address | undefined;

  private constructor(hre: HardhatRuntimeEnvironment, connection: NetworkConnection, chainId: bigint, args: CommonTaskArguments) {
    this.hre = hre;
    this.connection = connection;
    this.networkName = connection.networkName;
    this.chainId = chainId;
    this.viemChainDefinition = defineChain({
      id: Number(chainId),
      name: connection.networkName,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [] } },
    });
    // No block-number cache: a task's reads must see the transactions it just sent.
    this.publicClient = createPublicClient({ chain: this.viemChainDefinition, transport: custom(connection.provider), cacheTime: 0 });
    this.dataDir = path.resolve(args.dataDir !== "" ? args.dataDir : path.join(".trickle", connection.networkName));
    this.#contractOption = args.contract;
  }

  /** Connects to the network given with `--network`. */
  static async create(hre: HardhatRuntimeEnvironment, args: CommonTaskArguments): Promise<TaskContext> {
    const connection = await hre.network.getOrCreate();
    const chainId = BigInt((await connection.provider.request({ method: "eth_chainId" })) as string);
    return new TaskContext(hre, connection, chainId, args);
  }

  /** True on Hardhat's own chains, where roles without a configured key use the funded accounts. */
  get local(): boolean {
    return this.chainId === HARDHAT_CHAIN_ID;
  }

  get deploymentFile(): string {
    return path.join(this.dataDir, "deployment.json");
  }

  /** Records the deployment in the data dir, so later tasks find it and notice a wrong network. */
  saveDeployment(contract: Address, blockNumber: bigint | undefined): void {
    mkdirSync(this.dataDir, { recursive: true });
    const previous = this.#readDeployment();
    const known = blockNumber ?? (previous?.contract.toLowerCase() === contract.toLowerCase() && previous.blockNumber !== undefined ? BigInt(previous.blockNumber) : undefined);
    const record: DeploymentRecord = { chainId: this.chainId.toString(), contract, ...(known === undefined ? {} : { blockNumber: known.toString() }) };
    writeFileSync(this.deploymentFile, `${JSON.stringify(record, null, 2)}\n`);
  }

  #readDeployment(): DeploymentRecord | undefined {
    try {
      return JSON.parse(readFileSync(this.deploymentFile, "utf8")) as DeploymentRecord;
    } catch {
      return undefined;
    }
  }

  /**
   * The PaymentChannels address: `--contract`, else the data dir's deployment.json. Checked to be on
   * this chain id and to hold PaymentChannels, so a wrong `--network` fails here, before any signature.
   */
  async contract(): Promise<Address> {
    if (this.#contract !== undefined) return this.#contract;
    const record = this.#readDeployment();
    if (record !== undefined && BigInt(record.chainId) !== this.chainId) {
      throw new WrongChainError(
        `${this.dataDir} belongs to chain id ${record.chainId}, but network "${this.networkName}" is chain id ${this.chainId}: pick the matching --network or --data-dir`,
        { expected: record.chainId, actual: this.chainId.toString() },
      );
    }
    // Last resort: the deterministic CREATE2 address every trickle:deploy lands on.
    const contract = (this.#contractOption !== "" ? this.#contractOption : (record?.contract ?? (await this.#deterministicAddress()))) as Address;
    if (!/^0x[0-9a-fA-F]{40}$/.test(contract)) throw new ContractNotFoundError(`--contract ${contract} is not an address`);
    await this.#assertPaymentChannels(contract);
    this.#contract = contract;
    return contract;
  }

  /** The deployment block of `contract` from deployment.json, so log queries start there; 0 when unknown. */
  #fromBlock(contract: Address): bigint {
    const record = this.#readDeployment();
    if (record?.blockNumber === undefined || record.contract.toLowerCase() !== contract.toLowerCase()) return 0n;
    return BigInt(record.blockNumber);
  }

  async #deterministicAddress(): Promise<Address> {
    // Loaded only here: the deploy helper pulls in ethers and Ignition, which most tasks never need.
    const { paymentChannelsAddress } = await import("../../scripts/lib/deploy.ts");
    await buildContracts(this.hre);
    const artifact = await this.hre.artifacts.readArtifact("PaymentChannels");
    return paymentChannelsAddress(artifact.bytecode) as Address;
  }

  async #assertPaymentChannels(contract: Address): Promise<void> {
    const notFound = () =>
      new ContractNotFoundError(
        `no PaymentChannels contract at ${contract} on network "${this.networkName}" (chain id ${this.chainId}): wrong --network, or the node was restarted; run trickle:deploy`,
        { contract, chainId: this.chainId.toString() },
      );
    const code = await this.publicClient.getCode({ address: contract });
    if (code === undefined || code === "0x") throw notFound();
    const typehash = await this.publicClient
      .readContract({ address: contract, abi: PAYMENT_CHANNELS_ABI, functionName: "VOUCHER_TYPEHASH" })
      .catch(() => undefined);
    if (typehash !== VOUCHER_TYPEHASH) throw notFound();
  }

  /** The wallet of `role`: its configured key, or on a local chain the funded account reserved for it. */
  async wallet(role: Role): Promise<Wallet> {
    const contract = await this.contract();
    const key = await configuredKey(this.hre, role);
    let account: Account;
    if (key !== undefined) {
      account = privateKeyToAccount(key);
    } else if (this.local) {
      const accounts = (await this.connection.provider.request({ method: "eth_accounts" })) as Address[];
      const address = accounts[LOCAL_ACCOUNT_INDEX[role]];
      if (address === undefined) throw new MissingKeyError(`network "${this.networkName}" has no account #${LOCAL_ACCOUNT_INDEX[role]} for the ${role}`);
      account = { address, type: "json-rpc" };
    } else {
      throw new MissingKeyError(
        `no ${role} key for network "${this.networkName}": run \`npx hardhat keystore set ${KEY_VARIABLES[role]}\` or set the ${KEY_VARIABLES[role]} environment variable`,
      );
    }
    const walletClient = createWalletClient({ chain: this.viemChainDefinition, transport: custom(this.connection.provider), account });
    return { role, address: account.address, walletClient, chain: viemChain({ publicClient: this.publicClient, walletClient, contract, fromBlock: this.#fromBlock(contract) }) };
  }

  /** A read-only chain adapter for the deployment. */
  async reader(): Promise<ChainWriter> {
    const contract = await this.contract();
    return viemChain({ publicClient: this.publicClient, contract, fromBlock: this.#fromBlock(contract) });
  }

  /**
   * The store of `role` under the data dir, `payer.sqlite` (session keys, signed amounts) or `payee.sqlite`
   * (vouchers), as this deployment's view. A payee store is only created when `create` says so: a mistyped
   * `--data-dir` must fail, not start an empty store while the real one, with the vouchers to claim, sits
   * elsewhere. A file from before chain keying is this deployment's: the data dir belongs to one network
   * (deployment.json says which).
   */
  async openStore(role: "payer" | "payee", options: { create?: boolean } = {}): Promise<DeploymentStore> {
    const file = path.join(this.dataDir, `${role}.sqlite`);
    if (role === "payee" && options.create !== true && !existsSync(file)) {
      throw new StoreNotFoundError(`no payee store at ${file}: check --data-dir, or pass --create to start a new one there`, { file });
    }
    if (!existsSync(file) && role === "payee") console.log(`Created a new payee store at ${file}`);
    mkdirSync(this.dataDir, { recursive: true });
    const deployment = { chainId: this.chainId, contract: await this.contract() };
    return SqliteStore.open(file, { legacyDeployment: deployment }).forDeployment(deployment);
  }
}
