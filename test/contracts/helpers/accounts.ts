// Contract accounts that act as payer or payee through `execute`, for the receiver and reentrancy cases.
import type { ContractTransactionResponse, Interface } from "ethers";
import type { ReceiverAccount, ReentrantReceiver } from "../../../typechain-types/index.ts";
import { ethers, type Fixture } from "./fixtures.ts";

/** Mirrors `ReceiverAccount.Mode`. */
export const ReceiveMode = { Accept: 0n, Revert: 1n, BurnGas: 2n } as const;

export async function deployReceiver(mode: bigint): Promise<ReceiverAccount> {
  const account = await ethers.deployContract("ReceiverAccount");
  await account.setMode(mode);
  return account;
}

export function deployReentrant(): Promise<ReentrantReceiver> {
  return ethers.deployContract("ReentrantReceiver");
}

/** Calls a PaymentChannels function from a contract account, bubbling its revert. */
export function callFrom(
  f: Fixture,
  account: ReceiverAccount | ReentrantReceiver,
  fn: string,
  args: readonly unknown[],
  value = 0n,
): Promise<ContractTransactionResponse> {
  const channels: Interface = f.channels.interface;
  const data = channels.encodeFunctionData(fn, args);
  return account.execute(f.channelsAddress, data, { value });
}
