import type { ChannelConfig, ChannelState, Hex, Address } from "../channel.ts";
import type { TypedData } from "../gasless.ts";
import type { ClaimEntry } from "./compact-claims.ts";

/** What a mined transaction cost and where it landed. */
export interface TxResult {
  hash: Hex;
  gasUsed: bigint;
  blockNumber: bigint;
}

/** A `PaymentChannels` event, decoded. Amounts are absolute (the new deposit, the cumulative claimed). */
export type ChannelEvent =
  | { type: "opened"; channelId: Hex; config: ChannelConfig; deposit: bigint; blockNumber: bigint; logIndex: number }
  | { type: "toppedUp"; channelId: Hex; funder: Address; amount: bigint; deposit: bigint; blockNumber: bigint; logIndex: number }
  | { type: "claimed"; channelId: Hex; claimed: bigint; paid: bigint; blockNumber: bigint; logIndex: number }
  | { type: "closeRequested"; channelId: Hex; payee: Address; closesAt: bigint; blockNumber: bigint; logIndex: number }
  | { type: "closed"; channelId: Hex; payer: Address; claimed: bigint; refund: bigint; blockNumber: bigint; logIndex: number }
  /** A partial refund: the deposit went down to `deposit`; the only event after which it is lower. */
  | { type: "refunded"; channelId: Hex; payer: Address; amount: bigint; deposit: bigint; blockNumber: bigint; logIndex: number }
  | { type: "withdrawn"; channelId: Hex; refund: bigint; blockNumber: bigint; logIndex: number };

/** Read access to one `PaymentChannels` deployment; what a payee needs to check vouchers. */
export interface ChainReader {
  readonly contract: Address;
  chainId(): Promise<bigint>;
  blockNumber(): Promise<bigint>;
  /** The timestamp of the latest block. */
  blockTimestamp(): Promise<bigint>;
  readChannel(channelId: Hex): Promise<ChannelState>;
  /** The config of a channel from its ChannelOpened log, or undefined. */
  findChannelConfig(channelId: Hex): Promise<ChannelConfig | undefined>;
  /** The contract's channel events in `[fromBlock, toBlock]`, in chain order. */
  events(fromBlock: bigint, toBlock: bigint): Promise<ChannelEvent[]>;
  hasCode(address: Address): Promise<boolean>;
  /** keccak-256 of the runtime code at `address`, undefined when it has none. Used to check a contract signer against a payee's policy; a reader without it has every contract signer refused. */
  codeHash?(address: Address): Promise<Hex | undefined>;
  /** ERC-1271 `isValidSignature(digest, signature)` of a contract signer; false when it reverts or answers otherwise. */
  isValidErc1271Signature(signer: Address, digest: Hex, signature: Hex): Promise<boolean>;
}

/** Read and write access: transactions are sent from `account` and resolve once mined. */
export interface ChainWriter extends ChainReader {
  readonly account: Address;
  /** Opens a channel; for an ERC-20 channel, approves the contract first when the allowance is short. */
  open(config: ChannelConfig, amount: bigint): Promise<TxResult>;
  /** Opens an EIP-2612 token channel with a permit signed by `account` (deadline: one hour after the latest block). */
  openWithPermit(config: ChannelConfig, amount: bigint, deadline?: bigint): Promise<TxResult>;
  /** Adds to the deposit; approves first when the allowance is short. */
  topUp(config: ChannelConfig, amount: bigint): Promise<TxResult>;
  claim(config: ChannelConfig, amount: bigint, signature: Hex): Promise<TxResult>;
  /**
   * Claims one batch in one transaction: every claim in one token, for a channel whose payee is `account`, at
   * most MAX_CLAIM_BATCH (split larger or mixed sets with `claimBatches`). Sent as `claimManyCompact` when every
   * signer is an EOA. Refuses any other batch with an `InvalidArgumentError` before sending.
   */
  claimMany(claims: ClaimEntry[]): Promise<TxResult>;
  close(config: ChannelConfig, amount: bigint, signature: Hex): Promise<TxResult>;
  requestClose(config: ChannelConfig): Promise<TxResult>;
  withdraw(config: ChannelConfig): Promise<TxResult>;
  /** Signs EIP-712 typed data with `account` (gasless deposits, relayed settlements: see gasless.ts, relay.ts). */
  signTypedData(typed: TypedData<Record<string, unknown>>): Promise<Hex>;
  /** Submits a payer's ERC-3009 authorization (from `receiveAuthorizationTypedData`): opens its channel. */
  openWithAuthorization(config: ChannelConfig, amount: bigint, authorization: Erc3009Authorization): Promise<TxResult>;
  /** Submits a payer's ERC-3009 authorization of a top-up, signed with `authorization.salt`. */
  topUpWithAuthorization(config: ChannelConfig, amount: bigint, authorization: Erc3009Authorization & { salt: Hex }): Promise<TxResult>;
  /** Submits a payer's Permit2 deposit signature (from `permit2DepositTypedData`): opens its channel. */
  openWithPermit2(config: ChannelConfig, amount: bigint, permit: Permit2Deposit): Promise<TxResult>;
  topUpWithPermit2(config: ChannelConfig, amount: bigint, permit: Permit2Deposit): Promise<TxResult>;
  /** Submits a claim the payee signed (`relayedClaimTypedData`); the fee is credited to `account` ({@link withdrawCredit}). */
  claimRelayed(config: ChannelConfig, amount: bigint, signature: Hex, relay: PayeeRelay): Promise<TxResult>;
  /** Submits a close the payee signed (`relayedCloseTypedData`); the fee is credited to `account` ({@link withdrawCredit}). */
  closeRelayed(config: ChannelConfig, amount: bigint, signature: Hex, relay: PayeeRelay): Promise<TxResult>;
  /** What `account` (default: this writer's) can take with {@link withdrawCredit}: relay fees and payouts it could not receive. */
  readCredit(token: Address, account?: Address): Promise<bigint>;
  /** Sends all of `account`'s credit in `token` to `to` (default: `account`), many relay fees in one transfer. */
  withdrawCredit(token: Address, to?: Address): Promise<TxResult>;
  /** The payee gives `amount` of the unclaimed deposit back to the payer; the channel stays open. */
  refund(config: ChannelConfig, amount: bigint): Promise<TxResult>;
  /** Submits a refund the payee signed (`relayedRefundTypedData`) for the cumulative total `refunded`. */
  refundRelayed(config: ChannelConfig, refunded: bigint, deadline: bigint, payeeSignature: Hex): Promise<TxResult>;
}

/** A payer's signed ERC-3009 `ReceiveWithAuthorization` (65-byte signature). */
export interface Erc3009Authorization {
  validAfter: bigint;
  validBefore: bigint;
  signature: Hex;
}

/** A payer's signed Permit2 witness transfer. */
export interface Permit2Deposit {
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
}

/** What the payee signed for a relayed claim or close. */
export interface PayeeRelay {
  fee: bigint;
  deadline: bigint;
  payeeSignature: Hex;
}

/** True when `chain` can send transactions. */
export function isChainWriter(chain: ChainReader): chain is ChainWriter {
  return typeof (chain as Partial<ChainWriter>).claim === "function" && typeof (chain as Partial<ChainWriter>).account === "string";
}
