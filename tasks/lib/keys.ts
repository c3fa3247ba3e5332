// Where the tasks' keys come from: Hardhat configuration variables, which resolve from an environment
// variable or the Hardhat keystore (`npx hardhat keystore set TRICKLE_PAYER_KEY`). Never from the command
// line, where keys would end up in shell history and process listings.
import { configVariable } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { Hex } from "../../src/channel.ts";
import { InvalidArgumentError } from "../../src/errors.ts";

/** The roles a task acts as, and the configuration variable holding each one's private key. */
export const KEY_VARIABLES = {
  deployer: "TRICKLE_DEPLOYER_KEY",
  payer: "TRICKLE_PAYER_KEY",
  payee: "TRICKLE_PAYEE_KEY",
} as const;

export type Role = keyof typeof KEY_VARIABLES;

/**
 * The payee store's PostgreSQL URL (`postgresql://user:password@host/db`); the payee tasks use
 * `payee.sqlite` in the data dir when it is not set. A configuration variable like the keys, since the
 * URL may carry a password.
 */
export const PAYEE_STORE_URL_VARIABLE = "TRICKLE_PAYEE_STORE_URL";

/** A Hardhat configuration variable's value (environment first, then the keystores), or undefined when not set. */
export async function configuredValue(hre: HardhatRuntimeEnvironment, name: string): Promise<string | undefined> {
  // The empty default makes "not configured" an answer instead of an error, and keeps the keystore
  // from prompting for a password it does not need.
  const variable = configVariable(name, { default: "" });
  const value: string = await hre.hooks.runHandlerChain(
    "configurationVariables",
    "fetchValue",
    [variable],
    async (_context, v) => process.env[v.name] ?? v.default ?? "",
  );
  return value === "" ? undefined : value;
}

/**
 * On Hardhat's own chains (in-process network, `npx hardhat node`) a role without a configured key uses
 * one of the chain's funded accounts, so a local session needs no setup.
 */
export const LOCAL_ACCOUNT_INDEX: Record<Role, number> = { deployer: 0, payer: 1, payee: 2 };

/**
 * The private key of `role`, or undefined when none is configured. Resolution follows Hardhat's: the
 * environment variable first, then the development keystore, then the production keystore (which asks
 * for its password only when it holds this key).
 */
export async function configuredKey(hre: HardhatRuntimeEnvironment, role: Role): Promise<Hex | undefined> {
  const value = await configuredValue(hre, KEY_VARIABLES[role]);
  if (value === undefined) return undefined;
  const key = value.startsWith("0x") ? value : `0x${value}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new InvalidArgumentError(`${KEY_VARIABLES[role]} is not a 32-byte hex private key`);
  }
  return key as Hex;
}
