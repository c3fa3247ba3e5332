// How the tasks talk to the operator: amounts in token units, aligned tables, and failures as one line
// with a stable code (`Error UNKNOWN_CHANNEL: ...`) and exit status 1, instead of a stack trace.
import { formatUnits, parseUnits, type PublicClient, type Transport, type Chain } from "viem";
import { ETH, type Address, type Hex } from "../../src/channel.ts";
import { InvalidArgumentError, TrickleError } from "../../src/errors.ts";

export interface TokenUnits {
  symbol: string;
  decimals: number;
}

const ERC20_METADATA_ABI = [
  { type: "function", name: "decimals", stateMutability: "view", inputs: [], outputs: [{ name: "", type: "uint8" }] },
  { type: "function", name: "symbol", stateMutability: "view", inputs: [], outputs: [{ name: "", type: "string" }] },
] as const;

/** The symbol and decimals of a channel's token (ETH: 18). */
export async function tokenUnits(publicClient: PublicClient<Transport, Chain>, token: Address): Promise<TokenUnits> {
  if (token.toLowerCase() === ETH) return { symbol: "ETH", decimals: 18 };
  const [decimals, symbol] = await Promise.all([
    publicClient.readContract({ address: token, abi: ERC20_METADATA_ABI, functionName: "decimals" }),
    publicClient.readContract({ address: token, abi: ERC20_METADATA_ABI, functionName: "symbol" }).catch(() => "tokens"),
  ]);
  return { symbol, decimals };
}

export function formatAmount(amount: bigint, units: TokenUnits): string {
  return `${formatUnits(amount, units.decimals)} ${units.symbol}`;
}

/** `"1.5"` in token units, to base units; refuses negatives and more decimals than the token has. */
export function parseAmount(text: string, units: TokenUnits, option: string): bigint {
  if (!/^\d+(\.\d+)?$/.test(text)) throw new InvalidArgumentError(`--${option} must be a positive decimal amount of ${units.symbol}, got "${text}"`);
  const fraction = text.split(".")[1] ?? "";
  if (fraction.length > units.decimals) throw new InvalidArgumentError(`--${option} has more than ${units.decimals} decimals`);
  return parseUnits(text, units.decimals);
}

export function parseChannelId(text: string): Hex {
  if (!/^0x[0-9a-fA-F]{64}$/.test(text)) throw new InvalidArgumentError(`--channel must be a 32-byte channel id (0x + 64 hex digits), got "${text}"`);
  return text.toLowerCase() as Hex;
}

export function parseAddress(text: string, option: string): Address {
  if (!/^0x[0-9a-fA-F]{40}$/.test(text)) throw new InvalidArgumentError(`--${option} must be an address, got "${text}"`);
  return text as Address;
}

/** Two aligned columns. */
export function table(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join("\n");
}

/**
 * Runs a task body. A `TrickleError` becomes one line on stderr and exit status 1; anything else is
 * a bug or an outage, and keeps Hardhat's full report.
 */
export async function runTask(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (!(error instanceof TrickleError)) throw error;
    const revert = typeof error.details.error === "string" ? ` (${error.details.error})` : "";
    process.stderr.write(`Error ${error.code}: ${error.message.split("\n")[0]}${revert}\n`);
    process.exitCode = 1;
  }
}
