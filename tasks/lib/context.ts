// Everything a Trickle task needs from the network it runs on: viem clients over Hardhat's connection,
// the PaymentChannels deployment (checked to be there, on the chain it was set up for), the keys of the
// payer, payee and deployer, and the stores: SQLite under the data dir, or for the payee a PostgreSQL
// database named by TRICKLE_PAYEE_STORE_URL.
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
import { ContractNotFoundError, InvalidArgumentError, MissingKeyError, StoreError, StoreNotFoundError, WrongChainError } from "../../src/errors.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import type { DeploymentStore } from "../../src/store/deployment.ts";
import { configuredKey, configuredValue, KEY_VARIABLES, LOCAL_ACCOUNT_INDEX, PAYEE_STORE_URL_VARIABLE, type Role } from "./keys.ts";
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
  /** The PostgreSQL schema of the payee store, when TRICKLE_PAYEE_STORE_URL names a database (payee tasks and status). */
  storeSchema?: string;
}

/** Where the payee's store lives: a SQLite file in the data dir, or a schema of a PostgreSQL database. */
export type PayeeStoreLocation =
  | { kind: "sqlite"; file: string }
  | { kind: "postgres"; url: string; schema: string; /** The URL without its password, for messages. */ shown: string };

/** A `postgres://` or `postgresql://` URL with its password masked, so it can be printed. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(an unparsable URL)";
  }
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
  readonly #storeSchema: string;
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
    this.#storeSchema = args.storeSchema ?? "trickle";
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
   * Where the payee store is: the PostgreSQL database of the `TRICKLE_PAYEE_STORE_URL` configuration
   * variable (environment or keystore, since the URL may hold a password: never a command-line option),
   * in the schema `--store-schema` (default `trickle`); else `payee.sqlite` in the data dir.
   */
  async payeeStoreLocation(): Promise<PayeeStoreLocation> {
    const url = await configuredValue(this.hre, PAYEE_STORE_URL_VARIABLE);
    if (url === undefined) return { kind: "sqlite", file: path.join(this.dataDir, "payee.sqlite") };
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw new InvalidArgumentError(`${PAYEE_STORE_URL_VARIABLE} must be a postgresql:// URL`, { url: redactUrl(url) });
    }
    return { kind: "postgres", url, schema: this.#storeSchema, shown: redactUrl(url) };
  }

  /** Where the payee store is, in words (for the tasks' output). */
  static describeLocation(location: PayeeStoreLocation): string {
    return location.kind === "sqlite" ? location.file : `PostgreSQL ${location.shown}, schema "${location.schema}"`;
  }

  /**
   * The store of `role`, as this deployment's view: the payer's is `payer.sqlite` under the data dir
   * (session keys, signed amounts); the payee's (vouchers) is where {@link payeeStoreLocation} says. A
   * payee store is only created when `create` says so: a mistyped `--data-dir`, URL or schema must fail,
   * not start an empty store while the real one, with the vouchers to claim, sits elsewhere. A SQLite
   * file from before chain keying is this deployment's: the data dir belongs to one network
   * (deployment.json says which).
   */
  async openStore(role: "payer" | "payee", options: { create?: boolean } = {}): Promise<DeploymentStore> {
    const deployment = { chainId: this.chainId, contract: await this.contract() };
    if (role === "payee") {
      const location = await this.payeeStoreLocation();
      if (location.kind === "postgres") return (await this.#openPostgres(location, options.create === true)).forDeployment(deployment);
    }
    const file = path.join(this.dataDir, `${role}.sqlite`);
    if (role === "payee" && options.create !== true && !existsSync(file)) {
      throw new StoreNotFoundError(`no payee store at ${file}: check --data-dir, or pass --create to start a new one there`, { file });
    }
    if (!existsSync(file) && role === "payee") console.log(`Created a new payee store at ${file}`);
    mkdirSync(this.dataDir, { recursive: true });
    return SqliteStore.open(file, { legacyDeployment: deployment }).forDeployment(deployment);
  }

  /** Opens the PostgreSQL payee store; `pg` is loaded only here, by the operators who use it. */
  async #openPostgres(location: Extract<PayeeStoreLocation, { kind: "postgres" }>, create: boolean) {
    const { PostgresStore } = await import("../../src/store/postgres.ts");
    try {
      return await PostgresStore.open(location.url, { schema: location.schema, create: false });
    } catch (error) {
      if (!(error instanceof StoreNotFoundError)) {
        if (!(error instanceof StoreError)) throw error;
        const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
        throw new StoreError(`${error.message} (${TaskContext.describeLocation(location)})${cause}`, error.details, { cause: error });
      }
      if (!create) {
        throw new StoreNotFoundError(
          `no payee store in ${TaskContext.describeLocation(location)}: check ${PAYEE_STORE_URL_VARIABLE} and --store-schema, or pass --create to start a new one there`,
          { schema: location.schema },
        );
      }
    }
    const store = await PostgresStore.open(location.url, { schema: location.schema, create: true });
    console.log(`Created a new payee store in ${TaskContext.describeLocation(location)}`);
    return store;
  }
}
