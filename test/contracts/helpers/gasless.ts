// Fixture and signing helpers of the gasless deposits and relayed settlements: an ERC-3009 stablecoin
// (TestUsdc), Permit2 at its canonical address, and the SDK's typed-data builders signed by test accounts.
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { Signature, TypedDataField, Wallet } from "ethers";
import type { TestUsdc } from "../../../typechain-types/index.ts";
import { installPermit2, PERMIT2_ADDRESS } from "../../../scripts/lib/permit2.ts";
import {
  permit2DepositTypedData,
  receiveAuthorizationTypedData,
  type TypedData,
} from "../../../src/gasless.ts";
import { relayedClaimTypedData, relayedCloseTypedData, relayedRefundTypedData } from "../../../src/relay.ts";
import type { Address, Hex } from "../../../src/channel.ts";
import { connection, deploy, ethers, networkHelpers, type Asset, type Fixture } from "./fixtures.ts";

export { PERMIT2_ADDRESS };

export interface GaslessFixture extends Fixture {
  usdc: TestUsdc;
  usdcAddress: string;
  /** The ERC-3009 stablecoin as an {@link Asset}. */
  usdcAsset: Asset;
  /** Submits what others signed. */
  relayer: HardhatEthersSigner;
}

const PERMIT2_ABI = [
  "function nonceBitmap(address owner, uint256 word) view returns (uint256)",
  "function DOMAIN_SEPARATOR() view returns (bytes32)",
  "error SignatureExpired(uint256 signatureDeadline)",
  "error InvalidNonce()",
  "error InvalidSigner()",
  "error InvalidSignature()",
  "function permitWitnessTransferFrom(((address token,uint256 amount) permitted,uint256 nonce,uint256 deadline) permit,(address to,uint256 requestedAmount) transferDetails,address owner,bytes32 witness,string witnessTypeString,bytes signature)",
];

export function permit2() {
  return new ethers.Contract(PERMIT2_ADDRESS, PERMIT2_ABI, ethers.provider);
}

async function gaslessFixture(): Promise<GaslessFixture> {
  const base = await deploy();
  await installPermit2(connection);
  const [, , , , relayer] = await ethers.getSigners();
  const usdc = (await ethers.deployContract("TestUsdc")) as unknown as TestUsdc;
  const usdcAddress = await usdc.getAddress();
  for (const account of [base.payer, base.other]) {
    await usdc.mint(account.address, 10n ** 15n);
    await base.token.connect(account).approve(PERMIT2_ADDRESS, ethers.MaxUint256);
  }
  const usdcAsset: Asset = {
    kind: "ERC-20",
    token: usdcAddress,
    balanceOf: (account) => usdc.balanceOf(account),
    value: () => ({ value: 0n }),
  };
  return { ...base, usdc, usdcAddress, usdcAsset, relayer };
}

/** The base fixture plus TestUsdc, Permit2 (approved by the payer and the third party) and a relayer. */
export function deployGasless(): Promise<GaslessFixture> {
  return networkHelpers.loadFixture(gaslessFixture);
}

type Signer = HardhatEthersSigner | Wallet;

export function signTyped(signer: Signer, typed: TypedData<Record<string, unknown>>): Promise<string> {
  return signer.signTypedData(typed.domain, typed.types as unknown as Record<string, TypedDataField[]>, typed.message);
}

export async function hourFromNow(): Promise<bigint> {
  return BigInt(await networkHelpers.time.latest()) + 3600n;
}

export interface AuthorizationOptions {
  signer?: Signer;
  salt?: Hex;
  validAfter?: bigint;
  validBefore?: bigint;
  /** Sign for another contract than the fixture's (the authorization's `to`). */
  contract?: string;
  chainId?: bigint;
}

/** The payer's ERC-3009 `ReceiveWithAuthorization` of `amount` into channel `id`, split for the contract call. */
export async function signAuthorization(
  f: GaslessFixture,
  id: string,
  amount: bigint,
  options: AuthorizationOptions = {},
): Promise<{ signature: Signature; validAfter: bigint; validBefore: bigint; nonce: string }> {
  const signer = options.signer ?? f.payer;
  const validAfter = options.validAfter ?? 0n;
  const validBefore = options.validBefore ?? (await hourFromNow());
  const typed = receiveAuthorizationTypedData({
    token: { name: "Trickle Test USDC", version: "2", chainId: options.chainId ?? f.chainId, token: f.usdcAddress as Address },
    contract: (options.contract ?? f.channelsAddress) as Address,
    payer: (await signer.getAddress()) as Address,
    channelId: id as Hex,
    amount,
    validAfter,
    validBefore,
    salt: options.salt,
  });
  return { signature: ethers.Signature.from(await signTyped(signer, typed)), validAfter, validBefore, nonce: typed.message.nonce };
}

export interface Permit2Options {
  signer?: Signer;
  nonce?: bigint;
  deadline?: bigint;
  contract?: string;
  token?: string;
  chainId?: bigint;
}

let permit2Nonces = 1000n;

/** The payer's Permit2 witness transfer of `amount` into channel `id`. */
export async function signPermit2(
  f: GaslessFixture,
  id: string,
  amount: bigint,
  options: Permit2Options = {},
): Promise<{ signature: string; nonce: bigint; deadline: bigint }> {
  const signer = options.signer ?? f.payer;
  const nonce = options.nonce ?? ++permit2Nonces;
  const deadline = options.deadline ?? (await hourFromNow());
  const typed = permit2DepositTypedData({
    chainId: options.chainId ?? f.chainId,
    contract: (options.contract ?? f.channelsAddress) as Address,
    token: (options.token ?? f.tokenAddress) as Address,
    channelId: id as Hex,
    amount,
    nonce,
    deadline,
  });
  return { signature: await signTyped(signer, typed), nonce, deadline };
}

export interface SettlementOptions {
  signer?: Signer;
  deadline?: bigint;
  chainId?: bigint;
  contract?: string;
}

function settlementDomain(f: Fixture, options: SettlementOptions) {
  return { chainId: options.chainId ?? f.chainId, verifyingContract: (options.contract ?? f.channelsAddress) as Address };
}

/** The payee's `RelayedClaim` signature. */
export async function signRelayedClaim(f: Fixture, id: string, amount: bigint, fee: bigint, options: SettlementOptions = {}) {
  const deadline = options.deadline ?? (await hourFromNow());
  const typed = relayedClaimTypedData({ domain: settlementDomain(f, options), channelId: id as Hex, amount, fee, deadline });
  return { payeeSignature: await signTyped(options.signer ?? f.payee, typed), deadline };
}

/** The payee's `RelayedClose` signature. */
export async function signRelayedClose(f: Fixture, id: string, amount: bigint, fee: bigint, options: SettlementOptions = {}) {
  const deadline = options.deadline ?? (await hourFromNow());
  const typed = relayedCloseTypedData({ domain: settlementDomain(f, options), channelId: id as Hex, amount, fee, deadline });
  return { payeeSignature: await signTyped(options.signer ?? f.payee, typed), deadline };
}

/** The payee's `RelayedRefund` signature for a cumulative refund of `refunded`. */
export async function signRelayedRefund(f: Fixture, id: string, refunded: bigint, options: SettlementOptions = {}) {
  const deadline = options.deadline ?? (await hourFromNow());
  const typed = relayedRefundTypedData({ domain: settlementDomain(f, options), channelId: id as Hex, refunded, deadline });
  return { payeeSignature: await signTyped(options.signer ?? f.payee, typed), deadline };
}
