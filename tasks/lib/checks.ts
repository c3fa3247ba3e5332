// Checks a task makes before it signs or sends anything, so the operator gets the reason in Trickle's
// terms (UNKNOWN_CHANNEL, NOT_PAYER, CLOSE_DELAY_NOT_ELAPSED, ...) rather than a reverted transaction.
import { ChannelStatus, ETH, type Address, type ChannelConfig, type ChannelState, type Hex } from "../../src/channel.ts";
import type { ChainReader } from "../../src/chain/adapter.ts";
import {
  ChannelClosingError,
  ChannelNotOpenError,
  CloseDeadlinePassedError,
  CloseDelayNotElapsedError,
  CloseNotRequestedError,
  InvalidArgumentError,
  NotPayerError,
  UnknownChannelError,
  WrongPayeeError,
} from "../../src/errors.ts";

/** `--tokens 0x..,0x..`: the Payee's accepted tokens, ETH and the listed ERC-20s; undefined (ETH only) when empty. */
export function parseTokens(value: string): Address[] | undefined {
  if (value.trim() === "") return undefined;
  const list = value.split(",").map((token) => token.trim());
  if (!list.every((token) => /^0x[0-9a-fA-F]{40}$/.test(token))) {
    throw new InvalidArgumentError("--tokens is a comma-separated list of token addresses", { tokens: value });
  }
  return [ETH, ...(list as Address[])];
}

export interface OnChainChannel {
  channelId: Hex;
  config: ChannelConfig;
  state: ChannelState;
}

const STATUS_NAMES: Record<number, string> = {
  [ChannelStatus.None]: "none",
  [ChannelStatus.Open]: "open",
  [ChannelStatus.Closing]: "closing",
  [ChannelStatus.Finished]: "finished",
};

export function statusName(status: ChannelStatus): string {
  return STATUS_NAMES[status] ?? `unknown (${status})`;
}

/** The channel's state and config, or UNKNOWN_CHANNEL when it was never opened on this deployment. */
export async function loadChannel(chain: ChainReader, channelId: Hex, known?: ChannelConfig): Promise<OnChainChannel> {
  const state = await chain.readChannel(channelId);
  if (state.status === ChannelStatus.None) {
    throw new UnknownChannelError(`channel ${channelId} does not exist on contract ${chain.contract}`, { channelId });
  }
  const config = known ?? (await chain.findChannelConfig(channelId));
  if (config === undefined) {
    throw new UnknownChannelError(`channel ${channelId} has no ChannelOpened log on contract ${chain.contract}`, { channelId });
  }
  return { channelId, config, state };
}

export function assertPayee(channel: OnChainChannel, caller: Address): void {
  if (channel.config.payee.toLowerCase() !== caller.toLowerCase()) {
    throw new WrongPayeeError(`${caller} is not the payee of channel ${channel.channelId} (the payee is ${channel.config.payee})`, {
      caller,
      payee: channel.config.payee,
    });
  }
}

export function assertPayer(channel: OnChainChannel, caller: Address): void {
  if (channel.config.payer.toLowerCase() !== caller.toLowerCase()) {
    throw new NotPayerError(`${caller} is not the payer of channel ${channel.channelId} (the payer is ${channel.config.payer})`, {
      caller,
      payer: channel.config.payer,
    });
  }
}

function assertNotFinished(channel: OnChainChannel): void {
  if (channel.state.status === ChannelStatus.Finished) {
    throw new ChannelNotOpenError(`channel ${channel.channelId} is finished (closed or withdrawn)`, { channelId: channel.channelId });
  }
}

/** Claim and close: the channel is open, or closing before its deadline. */
export function assertSettleable(channel: OnChainChannel, now: bigint): void {
  assertNotFinished(channel);
  if (channel.state.status === ChannelStatus.Closing && now >= channel.state.closesAt) {
    throw new CloseDeadlinePassedError(
      `the close deadline of channel ${channel.channelId} passed at ${channel.state.closesAt}: only the payer's withdraw can settle it now`,
      { closesAt: channel.state.closesAt },
    );
  }
}

export function assertCanRequestClose(channel: OnChainChannel): void {
  assertNotFinished(channel);
  if (channel.state.status === ChannelStatus.Closing) {
    throw new ChannelClosingError(`channel ${channel.channelId} is already closing (withdraw from ${channel.state.closesAt} on)`, {
      closesAt: channel.state.closesAt,
    });
  }
}

export function assertCanWithdraw(channel: OnChainChannel, now: bigint): void {
  assertNotFinished(channel);
  if (channel.state.status === ChannelStatus.Open) {
    throw new CloseNotRequestedError(`channel ${channel.channelId} is open: run trickle:request-close first, then wait its close delay`);
  }
  if (now < channel.state.closesAt) {
    throw new CloseDelayNotElapsedError(
      `channel ${channel.channelId} can be withdrawn in ${channel.state.closesAt - now} s (at timestamp ${channel.state.closesAt})`,
      { closesAt: channel.state.closesAt, now },
    );
  }
}
