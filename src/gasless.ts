/**
 * Gasless deposits: what a payer signs so that anyone can open or top up its channel for it, through an
 * ERC-3009 token's `receiveWithAuthorization` (USDC, EURC) or through Permit2's witness transfer (any ERC-20
 * the payer approved to Permit2). The payer signs once and needs no gas; whoever submits can only open (or top
 * up) the very channel and amount that were signed:
 * - ERC-3009: the recipient is `PaymentChannels` (only it can submit), and the nonce is
 *   {@link depositNonce}`(channelId, amount, salt)`, which the contract derives itself;
 * - Permit2: the spender is `PaymentChannels` and the witness `ChannelDeposit(channelId)` names the channel.
 *
 * Each builder returns EIP-712 typed data in the shape viem's `signTypedData` takes; ethers' `signTypedData`
 * takes `domain`, `types` and `message` from it.
 */
import type { Address, Hex } from "./channel.ts";
import { toHex } from "./crypto/encoding.ts";
import { InvalidArgumentError } from "./errors.ts";
import { keccak256 } from "./crypto/keccak.ts";
import { MAX_UINT256 } from "./voucher.ts";

/** The Permit2 contract, at the same address on every chain. */
export const PERMIT2_ADDRESS: Address = "0x000000000022D473030F116dDEE9F6B43aC78BA3";

/** The salt of the ERC-3009 nonce of `openWithAuthorization`; top-ups pick any other. */
export const OPEN_DEPOSIT_SALT: Hex = "0x0000000000000000000000000000000000000000000000000000000000000000";

/** EIP-712 typed data, as viem's `signTypedData` takes it. */
export interface TypedData<Message extends Record<string, unknown>> {
  domain: { name: string; version?: string; chainId: bigint; verifyingContract: Address };
  types: Record<string, readonly { name: string; type: string }[]>;
  primaryType: string;
  message: Message;
}

/** The EIP-712 domain of an ERC-3009 token, as the token declares it (USDC: version "2"). */
export interface Erc3009TokenDomain {
  name: string;
  version: string;
  chainId: bigint;
  token: Address;
}

export interface ReceiveAuthorizationParameters {
  token: Erc3009TokenDomain;
  /** The `PaymentChannels` contract: the only account that can submit the authorization. */
  contract: Address;
  /** The channel's payer, who signs and whose tokens move. */
  payer: Address;
  channelId: Hex;
  amount: bigint;
  /** Valid strictly after this timestamp (default 0). */
  validAfter?: bigint;
  /** Valid strictly before this timestamp. */
  validBefore: bigint;
  /** {@link OPEN_DEPOSIT_SALT} (the default) for an open, any other 32 bytes for a top-up. */
  salt?: Hex;
}

export type ReceiveAuthorizationMessage = {
  from: Address;
  to: Address;
  value: bigint;
  validAfter: bigint;
  validBefore: bigint;
  nonce: Hex;
};

export const RECEIVE_WITH_AUTHORIZATION_TYPES = {
  ReceiveWithAuthorization: [
    { name: "from", type: "address" },
    { name: "to", type: "address" },
    { name: "value", type: "uint256" },
    { name: "validAfter", type: "uint256" },
    { name: "validBefore", type: "uint256" },
    { name: "nonce", type: "bytes32" },
  ],
} as const;

export const PERMIT2_DEPOSIT_TYPES = {
  PermitWitnessTransferFrom: [
    { name: "permitted", type: "TokenPermissions" },
    { name: "spender", type: "address" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
    { name: "witness", type: "ChannelDeposit" },
  ],
  TokenPermissions: [
    { name: "token", type: "address" },
    { name: "amount", type: "uint256" },
  ],
  ChannelDeposit: [{ name: "channelId", type: "bytes32" }],
} as const;

const WORD = 32;

function hexToBytes(hex: string, bytes: number, what: string): Uint8Array {
  if (!new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`).test(hex)) {
    throw new InvalidArgumentError(`${what} must be ${bytes} bytes of hex`, { [what]: hex });
  }
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = parseInt(hex.slice(2 + i * 2, 4 + i * 2), 16);
  return out;
}

function checkUint(value: bigint, what: string): void {
  if (value < 0n || value > MAX_UINT256) throw new InvalidArgumentError(`${what} must be a uint256`, { [what]: value });
}

/**
 * The ERC-3009 nonce of a gasless deposit, `keccak256(abi.encode(channelId, amount, salt))`: the same bytes as
 * `PaymentChannels.depositNonce`. It binds the authorization to one channel and one amount.
 */
export function depositNonce(channelId: Hex, amount: bigint, salt: Hex = OPEN_DEPOSIT_SALT): Hex {
  checkUint(amount, "amount");
  const encoded = new Uint8Array(3 * WORD);
  encoded.set(hexToBytes(channelId, WORD, "channelId"), 0);
  let rest = amount;
  for (let i = 2 * WORD - 1; i >= WORD; i--) {
    encoded[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  encoded.set(hexToBytes(salt, WORD, "salt"), 2 * WORD);
  return toHex(keccak256(encoded));
}

/** What the payer signs for `openWithAuthorization` (default salt) or `topUpWithAuthorization`. */
export function receiveAuthorizationTypedData(
  parameters: ReceiveAuthorizationParameters,
): TypedData<ReceiveAuthorizationMessage> {
  const { token, contract, payer, channelId, amount, validAfter = 0n, validBefore, salt = OPEN_DEPOSIT_SALT } = parameters;
  checkUint(validAfter, "validAfter");
  checkUint(validBefore, "validBefore");
  if (validBefore <= validAfter) {
    throw new InvalidArgumentError("validBefore must be after validAfter", { validAfter, validBefore });
  }
  return {
    domain: { name: token.name, version: token.version, chainId: token.chainId, verifyingContract: token.token },
    types: RECEIVE_WITH_AUTHORIZATION_TYPES,
    primaryType: "ReceiveWithAuthorization",
    message: { from: payer, to: contract, value: amount, validAfter, validBefore, nonce: depositNonce(channelId, amount, salt) },
  };
}

export interface Permit2DepositParameters {
  chainId: bigint;
  /** The `PaymentChannels` contract: the permit's spender. */
  contract: Address;
  token: Address;
  channelId: Hex;
  amount: bigint;
  /** A Permit2 nonce of the payer that it has not used (Permit2 keeps an unordered bitmap). */
  nonce: bigint;
  deadline: bigint;
}

export type Permit2DepositMessage = {
  permitted: { token: Address; amount: bigint };
  spender: Address;
  nonce: bigint;
  deadline: bigint;
  witness: { channelId: Hex };
};

/** What the payer signs for `openWithPermit2` or `topUpWithPermit2`. */
export function permit2DepositTypedData(parameters: Permit2DepositParameters): TypedData<Permit2DepositMessage> {
  const { chainId, contract, token, channelId, amount, nonce, deadline } = parameters;
  checkUint(amount, "amount");
  checkUint(nonce, "nonce");
  checkUint(deadline, "deadline");
  hexToBytes(channelId, WORD, "channelId");
  return {
    domain: { name: "Permit2", chainId, verifyingContract: PERMIT2_ADDRESS },
    types: PERMIT2_DEPOSIT_TYPES,
    primaryType: "PermitWitnessTransferFrom",
    message: { permitted: { token, amount }, spender: contract, nonce, deadline, witness: { channelId } },
  };
}
