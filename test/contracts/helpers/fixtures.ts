// Shared fixture and helpers of the PaymentChannels suite. One in-process chain serves every test file;
// each test starts from the same snapshot through `loadFixture`.
import { expect } from "chai";
import { network } from "hardhat";
import type { ContractTransactionReceipt, ContractTransactionResponse, Signature, Wallet } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { PaymentChannels, TestToken } from "../../../typechain-types/index.ts";
import type { IPaymentChannels } from "../../../typechain-types/PaymentChannels.ts";

export const connection = await network.create();
export const { ethers, networkHelpers } = connection;

export type ChannelConfig = IPaymentChannels.ChannelConfigStruct & {
  payer: string;
  payee: string;
  token: string;
  signer: string;
  closeDelay: bigint;
  salt: string;
};

/** Mirrors `IPaymentChannels.ChannelStatus`. */
export const Status = { None: 0n, Open: 1n, Closing: 2n, Finished: 3n } as const;

export const ETH = "0x0000000000000000000000000000000000000000";
export const MAX_DEPOSIT = (1n << 104n) - 1n;
export const MAX_CLOSE_DELAY = 365n * 24n * 3600n;
export const MAX_CLAIM_BATCH = 256n;
export const CLOSE_DELAY = 3600n;
/** A deposit that every asset of the fixture can fund many times. */
export const DEPOSIT = 1_000_000n;

export const VOUCHER_TYPES = {
  Voucher: [
    { name: "channelId", type: "bytes32" },
    { name: "amount", type: "uint256" },
  ],
};

export type AssetKind = "ETH" | "ERC-20";
export const ASSET_KINDS: readonly AssetKind[] = ["ETH", "ERC-20"];

/** ETH or an ERC-20, seen the same way by the shared behaviours. */
export interface Asset {
  kind: AssetKind;
  /** The config's `token` field. */
  token: string;
  balanceOf(account: string): Promise<bigint>;
  /** Transaction overrides that pay `amount` along with `open`/`topUp`. */
  value(amount: bigint): { value: bigint };
}

export interface Fixture {
  channels: PaymentChannels;
  channelsAddress: string;
  chainId: bigint;
  token: TestToken;
  tokenAddress: string;
  deployer: HardhatEthersSigner;
  payer: HardhatEthersSigner;
  payee: HardhatEthersSigner;
  /** A third party: funder, attacker, or an unrelated payee. */
  other: HardhatEthersSigner;
  /** A session key that signs vouchers instead of the payer. */
  sessionKey: Wallet;
  asset(kind: AssetKind): Asset;
}

async function baseFixture(): Promise<Fixture> {
  const [deployer, payer, payee, other] = await ethers.getSigners();
  const channels = await ethers.deployContract("PaymentChannels");
  const token = await ethers.deployContract("TestToken");
  const channelsAddress = await channels.getAddress();
  const tokenAddress = await token.getAddress();
  for (const account of [payer, other]) {
    await token.mint(account.address, 10n ** 15n);
    await token.connect(account).approve(channelsAddress, ethers.MaxUint256);
  }
  const { chainId } = await ethers.provider.getNetwork();
  const sessionKey = new ethers.Wallet(ethers.id("trickle session key"));
  const eth: Asset = {
    kind: "ETH",
    token: ETH,
    balanceOf: (account) => ethers.provider.getBalance(account),
    value: (amount) => ({ value: amount }),
  };
  const erc20: Asset = {
    kind: "ERC-20",
    token: tokenAddress,
    balanceOf: (account) => token.balanceOf(account),
    value: () => ({ value: 0n }),
  };
  return {
    channels,
    channelsAddress,
    chainId,
    token,
    tokenAddress,
    deployer,
    payer,
    payee,
    other,
    sessionKey,
    asset: (kind) => (kind === "ETH" ? eth : erc20),
  };
}

/** A fresh deployment with funded, approving payer and third party. */
export function deploy(): Promise<Fixture> {
  return networkHelpers.loadFixture(baseFixture);
}

export function makeConfig(f: Fixture, asset: Asset, overrides: Partial<ChannelConfig> = {}): ChannelConfig {
  return {
    payer: f.payer.address,
    payee: f.payee.address,
    token: asset.token,
    signer: f.payer.address,
    closeDelay: CLOSE_DELAY,
    salt: ethers.ZeroHash,
    ...overrides,
  };
}

export function channelIdOf(config: ChannelConfig): string {
  return ethers.keccak256(
    ethers.AbiCoder.defaultAbiCoder().encode(
      ["address", "address", "address", "address", "uint64", "bytes32"],
      [config.payer, config.payee, config.token, config.signer, config.closeDelay, config.salt],
    ),
  );
}

export interface Domain {
  chainId: bigint;
  verifyingContract: string;
}

export function domainOf(f: Fixture, overrides: Partial<Domain> = {}) {
  return { name: "Trickle", version: "1", chainId: f.chainId, verifyingContract: f.channelsAddress, ...overrides };
}

export function voucherDigest(f: Fixture, id: string, amount: bigint, overrides: Partial<Domain> = {}): string {
  return ethers.TypedDataEncoder.hash(domainOf(f, overrides), VOUCHER_TYPES, { channelId: id, amount });
}

/** Signs `Voucher(id, amount)` for this deployment and chain, unless the domain is overridden. */
export function signVoucher(
  f: Fixture,
  signer: HardhatEthersSigner | Wallet,
  id: string,
  amount: bigint,
  overrides: Partial<Domain> = {},
): Promise<string> {
  return signer.signTypedData(domainOf(f, overrides), VOUCHER_TYPES, { channelId: id, amount });
}

/** The raw (r, s, v) signature of a voucher by a local key, for malleability tests. */
export function rawVoucherSignature(f: Fixture, key: Wallet, id: string, amount: bigint): Signature {
  return key.signingKey.sign(voucherDigest(f, id, amount));
}

/**
 * A `claimMany` entry for `config`: the config without its payee (the caller) and token (the batch's), which the
 * contract puts back to rebuild the id.
 */
export function claimEntry(config: ChannelConfig, amount: bigint, signature: string): IPaymentChannels.ClaimStruct {
  return { payer: config.payer, signer: config.signer, closeDelay: config.closeDelay, salt: config.salt, amount, signature };
}

/** The `claimManyCompact` entry of a 65-byte EOA signature: `r` and `vs` (EIP-2098). */
export function compactEntry(config: ChannelConfig, amount: bigint, signature: string): IPaymentChannels.CompactClaimStruct {
  const { r, yParityAndS } = ethers.Signature.from(signature);
  return { payer: config.payer, signer: config.signer, closeDelay: config.closeDelay, salt: config.salt, amount, r, vs: yParityAndS };
}

export interface OpenOptions extends Partial<ChannelConfig> {
  deposit?: bigint;
  from?: HardhatEthersSigner;
}

export interface OpenedChannel {
  config: ChannelConfig;
  id: string;
  receipt: ContractTransactionReceipt;
}

/** Opens a channel (the payer funds it unless `from` says otherwise). */
export async function openChannel(f: Fixture, asset: Asset, options: OpenOptions = {}): Promise<OpenedChannel> {
  const { deposit = DEPOSIT, from = f.payer, ...overrides } = options;
  const config = makeConfig(f, asset, overrides);
  const tx = await f.channels.connect(from).open(config, deposit, asset.value(deposit));
  const receipt = (await tx.wait())!;
  return { config, id: channelIdOf(config), receipt };
}

export interface ChannelExpectation {
  deposit: bigint;
  claimed: bigint;
  closesAt?: bigint;
  status: bigint;
}

export async function expectChannel(f: Fixture, id: string, expected: ChannelExpectation): Promise<void> {
  const [deposit, claimed, closesAt, status] = await f.channels.channels(id);
  expect({ deposit, claimed, closesAt, status }).to.deep.equal({ closesAt: 0n, ...expected });
}

/** One expected balance change: a label for the failure message, the account, and its delta. */
export type BalanceChange = readonly [label: string, account: string, delta: bigint];

/**
 * Sends a transaction and checks the balance change of every listed account in `asset`. For ETH the
 * sender's gas fee is added back, so deltas state only what the contract moved.
 */
export async function expectBalanceChanges(
  asset: Asset,
  send: () => Promise<ContractTransactionResponse>,
  changes: readonly BalanceChange[],
): Promise<ContractTransactionResponse> {
  const before = await Promise.all(changes.map(([, account]) => asset.balanceOf(account)));
  const tx = await send();
  const receipt = (await tx.wait())!;
  for (const [i, [label, account, delta]] of changes.entries()) {
    let actual = (await asset.balanceOf(account)) - before[i];
    if (asset.kind === "ETH" && account.toLowerCase() === tx.from.toLowerCase()) actual += receipt.fee;
    expect(actual, `balance change of ${label}`).to.equal(delta);
  }
  return tx;
}

/** Payer, payee and contract: the three balances checked after every step. */
export function parties(f: Fixture, payer: bigint, payee: bigint, contract: bigint): BalanceChange[] {
  return [
    ["payer", f.payer.address, payer],
    ["payee", f.payee.address, payee],
    ["contract", f.channelsAddress, contract],
  ];
}

/**
 * Money property 1: the contract holds exactly the open channels' `deposit - claimed` plus the credits
 * not yet withdrawn. `ids` are every channel of `asset` the test opened, `creditors` every account that
 * may hold a credit.
 */
export async function expectSolvent(
  f: Fixture,
  asset: Asset,
  ids: readonly string[],
  creditors: readonly string[],
): Promise<void> {
  let owed = 0n;
  for (const id of ids) {
    const [deposit, claimed, , status] = await f.channels.channels(id);
    if (status === Status.Open || status === Status.Closing) owed += deposit - claimed;
  }
  for (const account of creditors) owed += await f.channels.credits(asset.token, account);
  expect(await asset.balanceOf(f.channelsAddress), "contract balance vs channels + credits").to.equal(owed);
}

const TRANSFER_TOPIC = ethers.id("Transfer(address,address,uint256)");

/** Number of ERC-20 `Transfer` events `token` emitted in a transaction. */
export async function transferCount(tx: ContractTransactionResponse, token: string): Promise<number> {
  const receipt = (await tx.wait())!;
  return receipt.logs.filter(
    (log) => log.address.toLowerCase() === token.toLowerCase() && log.topics[0] === TRANSFER_TOPIC,
  ).length;
}

/** The timestamp the next mined block will have, after pinning it. */
export async function pinNextTimestamp(offset = 1n): Promise<bigint> {
  const next = BigInt(await networkHelpers.time.latest()) + offset;
  await networkHelpers.time.setNextBlockTimestamp(next);
  return next;
}
