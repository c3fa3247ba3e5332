// What the donation SDK reads from and sends to TipJar, and an ethers implementation of it.
import { Contract, type ContractRunner, type EventLog, type Log } from "ethers";
import type { Address, Hex } from "../channel.ts";
import { checkMaxBlockRange, windowsBackward } from "../chain/windows.ts";
import { InvalidArgumentError } from "../errors.ts";
import { tallyHash, type BudgetConfig, type Tally } from "./tally.ts";

/** A budget's on-chain state, as `TipJar.budgets(id)` returns it. */
export interface BudgetState {
  deposit: bigint;
  settled: bigint;
  closesAt: bigint;
  status: number;
}

/** One entry of `TipJar.settleMany`. */
export interface Settlement {
  config: BudgetConfig;
  settledTally: Tally;
  tally: Tally;
  signature: Hex;
}

export interface TipJarReader {
  budget(id: Hex): Promise<BudgetState>;
  settledTallyHash(id: Hex): Promise<Hex>;
  /**
   * The tally a budget settled last, read back from the settling transaction's calldata (the contract stores
   * only its hash); undefined when it cannot be found (for example, settled through another contract).
   */
  settledTally?(id: Hex, hash: Hex): Promise<Tally | undefined>;
  balance(token: Address, account: Address): Promise<bigint>;
}

export interface TipJarWriter extends TipJarReader {
  /** Settles `settlements` and collects the sender's balance of `token` to `to`; only collects when there is none. */
  settleManyAndCollect(settlements: Settlement[], token: Address, to: Address): Promise<{ hash: Hex; gasUsed: bigint }>;
}

const CONFIG = "(address donor,address token,address signer,uint64 closeDelay,bytes32 salt)";
const TALLY = "(address[] creators,uint256[] amounts)";
const SETTLEMENT = `(${CONFIG} config,${TALLY} settledTally,${TALLY} tally,bytes signature)`;

/** The TipJar functions the SDK calls, human-readable. */
export const TIP_JAR_ABI = [
  "function budgets(bytes32) view returns (uint104 deposit, uint104 settled, uint40 closesAt, uint8 status)",
  "function settledTallies(bytes32) view returns (bytes32)",
  "function balances(address token, address account) view returns (uint256)",
  `function open(${CONFIG} config, uint256 amount) payable returns (bytes32)`,
  `function settleMany(${SETTLEMENT}[] settlements)`,
  `function settleManyAndCollect(${SETTLEMENT}[] settlements, address token, address to)`,
  "function collect(address token, address to)",
  `function settle(${SETTLEMENT} settlement)`,
  "event TallySettled(bytes32 indexed budgetId, uint256 settled, bytes32 tallyHash)",
] as const;

/** Where {@link ethersTipJar} looks for logs, as the channel adapters do (see `src/chain/windows.ts`). */
export interface TipJarLogOptions {
  /** The TipJar's deployment block: log queries start there. Default 0. */
  fromBlock?: bigint;
  /** Blocks per `eth_getLogs` call, for providers that refuse wide ranges. Default 1,000. */
  maxBlockRange?: bigint;
}

/** A {@link TipJarWriter} over ethers: `runner` is a signer to send, a provider to read only. */
export function ethersTipJar(address: Address, runner: ContractRunner, options: TipJarLogOptions = {}): TipJarWriter {
  const contract = new Contract(address, TIP_JAR_ABI, runner);
  const fromBlock = options.fromBlock ?? 0n;
  if (typeof fromBlock !== "bigint" || fromBlock < 0n) throw new InvalidArgumentError("fromBlock must be a non-negative bigint", { fromBlock });
  const maxBlockRange = checkMaxBlockRange(options.maxBlockRange);
  const call = (name: string, ...args: unknown[]): Promise<unknown> => contract.getFunction(name)(...args) as Promise<unknown>;
  return {
    async budget(id) {
      const [deposit, settled, closesAt, status] = (await call("budgets", id)) as [bigint, bigint, bigint, bigint];
      return { deposit, settled, closesAt, status: Number(status) };
    },
    async settledTallyHash(id) {
      return (await call("settledTallies", id)) as Hex;
    },
    async settledTally(id, hash) {
      const provider = runner.provider;
      if (provider === null || provider === undefined) throw new InvalidArgumentError("the runner has no provider to read logs from");
      // Newest window first: the settlement sought is the last one with this hash, usually recent.
      const head = BigInt(await provider.getBlockNumber());
      let last: EventLog | Log | undefined;
      for (const [from, to] of windowsBackward(fromBlock, head, maxBlockRange)) {
        // The newest window ends at "latest": a settlement mined after the head was read is still seen.
        const logs = await contract.queryFilter(contract.filters.TallySettled!(id), Number(from), to === head ? "latest" : Number(to));
        last = [...logs].reverse().find((log) => "args" in log && log.args[2] === hash);
        if (last !== undefined) break;
      }
      if (last === undefined) return undefined;
      const tx = await last.getTransaction();
      const parsed = contract.interface.parseTransaction({ data: tx.data, value: tx.value });
      if (parsed === null || tx.to?.toLowerCase() !== address.toLowerCase()) return undefined;
      const entries = (parsed.name === "settle" ? [parsed.args[0]] : parsed.args[0]) as {
        tally: { creators: string[]; amounts: bigint[] };
      }[];
      for (const entry of entries) {
        const tally: Tally = { creators: [...entry.tally.creators] as Address[], amounts: [...entry.tally.amounts] };
        if (tallyHash(tally) === hash) return tally;
      }
      return undefined;
    },
    async balance(token, account) {
      return (await call("balances", token, account)) as bigint;
    },
    async settleManyAndCollect(settlements, token, to) {
      const sent = (settlements.length === 0
        ? await call("collect", token, to)
        : await call("settleManyAndCollect", settlements, token, to)) as { hash: Hex; wait(): Promise<{ gasUsed: bigint } | null> };
      const receipt = await sent.wait();
      return { hash: sent.hash, gasUsed: receipt?.gasUsed ?? 0n };
    },
  };
}
