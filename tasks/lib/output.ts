// How the tasks talk to the operator: amounts in token units, aligned tables, and failures as one line
// with a stable code (`Error UNKNOWN_CHANNEL: ...`) and exit status 1, instead of a stack trace.
import type { PublicClient, Transport, Chain } from "viem";
import { ETH, type Address, type Hex } from "../../src/channel.ts";
import { InvalidArgumentError, TrickleError } from "../../src/errors.ts";
import * as units from "../../src/units.ts";
import { ETH_TOKEN, type Token } from "../../src/units.ts";

/** A channel's token as the tasks print and read amounts in it: symbol, decimals, address. */
export type TokenUnits = Token;

const ERC20_METADATA_ABI = [
  { type: "function", name: "decimals", stateMutability: "view", inputs: [], outputs: [{ name: "", type: "uint8" }] },
  { type: "function", name: "symbol", stateMutability: "view", inputs: [], outputs: [{ name: "", type: "string" }] },
] as const;

/** The symbol and decimals of a channel's token, read from the ERC-20 (ETH: 18). */
export async function tokenUnits(publicClient: PublicClient<Transport, Chain>, token: Address): Promise<TokenUnits> {
  if (token.toLowerCase() === ETH) return ETH_TOKEN;
  const [decimals, symbol] = await Promise.all([
    publicClient.readContract({ address: token, abi: ERC20_METADATA_ABI, functionName: "decimals" }),
    publicClient.readContract({ address: token, abi: ERC20_METADATA_ABI, functionName: "symbol" }).catch(() => "tokens"),
  ]);
  // A symbol with whitespace (or none) could not be written after an amount: print "tokens" instead.
  const printable = /^[^\s\d.][^\s]{0,31}$/.test(symbol) ? symbol : "tokens";
  return units.defineToken({ symbol: printable, decimals: Number(decimals), address: token });
}

/** "0.05 USDC": exact, with the token's decimals and symbol. */
export function formatAmount(amount: bigint, token: TokenUnits): string {
  return units.formatAmount(amount, token);
}

/**
 * `--amount 0.05` or `--amount "0.05 USDC"` in the channel's token, to base units, exactly. More decimals
 * than the token has is AMOUNT_TOO_PRECISE, another symbol UNKNOWN_TOKEN, anything else AMOUNT_MALFORMED;
 * nothing is rounded.
 */
export function parseAmount(text: string, token: TokenUnits, option: string): bigint {
  try {
    return units.parseAmount(text, token).units;
  } catch (error) {
    if (error instanceof units.AmountTooPreciseError) throw new units.AmountTooPreciseError(`--${option}: ${error.message}`, error.details);
    if (error instanceof units.UnknownTokenError) throw new units.UnknownTokenError(`--${option}: ${error.message}`, error.details);
    if (error instanceof units.AmountMalformedError) {
      throw new units.AmountMalformedError(`--${option} must be an amount of ${token.symbol} such as "1.5" or "1.5 ${token.symbol}", got "${text}"`, error.details);
    }
    throw error;
  }
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
