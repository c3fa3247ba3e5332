// `npm run bench:gas`: the receipt gasUsed (whole transaction, 21,000 base included) of every
// PaymentChannels operation on a fresh in-process chain, printed next to the DESIGN.md targets and
// written to bench/results/gas.json.
//
// The state each operation meets is the steady state of a running deployment, not a first-ever call:
// - every account involved already holds ETH and, for ERC-20 rows, a token balance that stays non-zero;
//   the contract already holds some of the token (no zero-to-non-zero balance writes);
// - `openErc20` excludes the approve; the allowance left is larger than the deposit, so the
//   transferFrom pays for an allowance update and no storage refund lowers the figure;
// - `openWithPermit` is the payer's second permit (its permit nonce is already non-zero; its allowance
//   is zero before and after, as for a payer who only ever uses permits);
// - `claim` and `close` are the first voucher on a channel, for part of the deposit: `close` pays the
//   payee and refunds the payer, two transfers; `withdraw` refunds the payer after `closeDelay`;
// - `claimManyPerChannelN` claims one voucher on each of N channels of one payee in one token
//   (one payout), divided by N.
// ETH unless the key says Erc20.
//
// Gasless and relayed rows (scripts/lib/bench-gasless.ts): a third account submits what the payer or the
// payee signed. `openWithAuthorization` and `topUpWithAuthorization` move a 6-decimal ERC-3009 stablecoin
// (a burned nonce per deposit, as every ERC-3009 deposit costs); `openWithPermit2` and `topUpWithPermit2` move
// the ERC-20 through Permit2 with the payer's nonce word already in use and a standing approval of Permit2;
// the `*Relayed` rows take the relayer's fee out of the payee's payout and credit it to the relayer, whose
// credit is already non-zero (it withdraws its fees in bulk: `relayerWithdrawCreditErc20`); the
// `*RelayedNoFee*` rows are the same claim without a fee, as x402's claim + settle takes none.
//
// It also rewrites the gas table of README.md between the `bench:gas` markers, so the README always
// shows the figures of the last run.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { network } from "hardhat";
import type { ContractTransactionResponse } from "ethers";
import { deployPaymentChannels } from "./lib/deploy.ts";
import { gaslessGas } from "./lib/bench-gasless.ts";
import type { PaymentChannels, TestToken } from "../typechain-types/index.ts";
import type { IPaymentChannels } from "../typechain-types/PaymentChannels.ts";

const connection = await network.create();
const { ethers, networkHelpers } = connection;
const [, payer, payee] = await ethers.getSigners();
const chainId = (await ethers.provider.getNetwork()).chainId;

const CLOSE_DELAY = 3600n;
const DEPOSIT = 1_000_000n;
const VOUCHER = 400_000n;

const deployment = await deployPaymentChannels(connection);
const paymentChannels = deployment.paymentChannels;
const channelsAddress = deployment.address;
const token = (await ethers.deployContract("TestToken")) as unknown as TestToken;
const tokenAddress = await token.getAddress();

type Config = IPaymentChannels.ChannelConfigStruct & { token: string; closeDelay: bigint };

let saltCounter = 0n;
function newConfig(tokenOf: string): Config {
  saltCounter += 1n;
  return {
    payer: payer.address,
    payee: payee.address,
    token: tokenOf,
    signer: payer.address,
    closeDelay: CLOSE_DELAY,
    // A hash, like the random salt a real payer picks: its 32 non-zero bytes cost full calldata price.
    salt: ethers.id(`trickle bench channel ${saltCounter}`),
  };
}

async function gasOf(sent: Promise<ContractTransactionResponse>): Promise<bigint> {
  const receipt = await (await sent).wait();
  if (receipt === null) throw new Error("transaction without a receipt");
  return receipt.gasUsed;
}

async function voucher(config: Config, amount: bigint): Promise<string> {
  return voucherOf(config, amount);
}

async function voucherOf(config: IPaymentChannels.ChannelConfigStruct, amount: bigint): Promise<string> {
  return payer.signTypedData(
    { name: "Trickle", version: "1", chainId, verifyingContract: channelsAddress },
    { Voucher: [{ name: "channelId", type: "bytes32" }, { name: "amount", type: "uint256" }] },
    { channelId: await paymentChannels.channelId(config), amount },
  );
}

function asPayer(): PaymentChannels {
  return paymentChannels.connect(payer) as PaymentChannels;
}
function asPayee(): PaymentChannels {
  return paymentChannels.connect(payee) as PaymentChannels;
}

async function openChannel(tokenOf: string): Promise<{ config: Config; gas: bigint }> {
  const config = newConfig(tokenOf);
  const value = tokenOf === ethers.ZeroAddress ? DEPOSIT : 0n;
  const gas = await gasOf(asPayer().open(config, DEPOSIT, { value }));
  return { config, gas };
}

async function openWithPermit(): Promise<bigint> {
  const config = newConfig(tokenAddress);
  const deadline = BigInt(await networkHelpers.time.latest()) + 3600n;
  const signature = ethers.Signature.from(
    await payer.signTypedData(
      { name: "Trickle Test USD", version: "1", chainId, verifyingContract: tokenAddress },
      {
        Permit: [
          { name: "owner", type: "address" },
          { name: "spender", type: "address" },
          { name: "value", type: "uint256" },
          { name: "nonce", type: "uint256" },
          { name: "deadline", type: "uint256" },
        ],
      },
      { owner: payer.address, spender: channelsAddress, value: DEPOSIT, nonce: await token.nonces(payer.address), deadline },
    ),
  );
  return gasOf(asPayer().openWithPermit(config, DEPOSIT, deadline, signature.v, signature.r, signature.s));
}

/** The intrinsic price of calldata: 16 gas per non-zero byte, 4 per zero byte. */
function calldataGas(data: string): bigint {
  let total = 0n;
  for (const byte of ethers.getBytes(data)) total += byte === 0 ? 4n : 16n;
  return total;
}

async function claimManyPerChannel(
  count: number,
  tokenOf: string,
  compact = false,
): Promise<{ perChannel: bigint; calldataPerChannel: bigint }> {
  const claims: IPaymentChannels.ClaimStruct[] = [];
  for (let i = 0; i < count; i++) {
    const { config } = await openChannel(tokenOf);
    const { payer: payerOf, signer, closeDelay, salt } = config;
    claims.push({ payer: payerOf, signer, closeDelay, salt, amount: VOUCHER, signature: await voucher(config, VOUCHER) });
  }
  const sent = compact
    ? await asPayee().claimManyCompact(
        tokenOf,
        claims.map(({ signature, ...entry }) => {
          const { r, yParityAndS } = ethers.Signature.from(signature as string);
          return { ...entry, r, vs: yParityAndS };
        }),
      )
    : await asPayee().claimMany(tokenOf, claims);
  const gas = await gasOf(Promise.resolve(sent));
  return { perChannel: gas / BigInt(count), calldataPerChannel: calldataGas(sent.data) / BigInt(count) };
}

// The steady state: balances that stay non-zero, a standing allowance, a non-zero permit nonce.
const HOLDING = 10n ** 15n;
await (await token.mint(payer.address, HOLDING)).wait();
await (await token.mint(payee.address, 1n)).wait();
await (await token.mint(channelsAddress, 1n)).wait();
await openWithPermit();

const gas: Record<string, bigint> = {};
gas.deploy = deployment.gasUsed;
gas.openEth = (await openChannel(ethers.ZeroAddress)).gas;
// A permit user never approved: its allowance goes from zero to the deposit and back within the call.
gas.openWithPermit = await openWithPermit();
await (await (token.connect(payer) as TestToken).approve(channelsAddress, HOLDING)).wait();
gas.openErc20 = (await openChannel(tokenAddress)).gas;

{
  const { config } = await openChannel(ethers.ZeroAddress);
  gas.topUp = await gasOf(asPayer().topUp(config, DEPOSIT, { value: DEPOSIT }));
  gas.claim = await gasOf(asPayee().claim(config, VOUCHER, await voucher(config, VOUCHER)));
}
{
  const { config } = await openChannel(ethers.ZeroAddress);
  gas.close = await gasOf(asPayee().close(config, VOUCHER, await voucher(config, VOUCHER)));
}
{
  const { config } = await openChannel(ethers.ZeroAddress);
  gas.requestClose = await gasOf(asPayer().requestClose(config));
  await networkHelpers.time.increase(CLOSE_DELAY);
  gas.withdraw = await gasOf(asPayer().withdraw(config));
}
gas.claimManyPerChannel1 = (await claimManyPerChannel(1, ethers.ZeroAddress)).perChannel;
gas.claimManyPerChannel10 = (await claimManyPerChannel(10, ethers.ZeroAddress)).perChannel;
{
  const batch = await claimManyPerChannel(100, ethers.ZeroAddress);
  gas.claimManyPerChannel100 = batch.perChannel;
  // What the calldata alone costs per channel: the config travels in calldata instead of storage.
  gas.claimManyPerChannel100Calldata = batch.calldataPerChannel;
}

// ERC-20 variants.
{
  const { config } = await openChannel(tokenAddress);
  gas.topUpErc20 = await gasOf(asPayer().topUp(config, DEPOSIT));
  gas.claimErc20 = await gasOf(asPayee().claim(config, VOUCHER, await voucher(config, VOUCHER)));
}
{
  const { config } = await openChannel(tokenAddress);
  gas.closeErc20 = await gasOf(asPayee().close(config, VOUCHER, await voucher(config, VOUCHER)));
}
{
  const { config } = await openChannel(tokenAddress);
  await (await asPayer().requestClose(config)).wait();
  await networkHelpers.time.increase(CLOSE_DELAY);
  gas.withdrawErc20 = await gasOf(asPayer().withdraw(config));
}
gas.claimManyErc20PerChannel100 = (await claimManyPerChannel(100, tokenAddress)).perChannel;
// What the SDK sends when every signer is an EOA: 64-byte signatures in static fields.
gas.claimManyCompactPerChannel100 = (await claimManyPerChannel(100, ethers.ZeroAddress, true)).perChannel;
gas.claimManyCompactErc20PerChannel100 = (await claimManyPerChannel(100, tokenAddress, true)).perChannel;

// Rows that other contracts or features add: each a function returning named gas figures and targets.
const extraTargets: Record<string, bigint> = {};
for (const rows of [await gaslessGas({ connection, paymentChannels, token, voucher: voucherOf })]) {
  Object.assign(gas, rows.gas);
  Object.assign(extraTargets, rows.targets);
}

Object.assign(gas, await (await import("./lib/gas-donations.ts")).donationGas(connection, channelsAddress));

// Targets from DESIGN.md; the ERC-20 claim and close are held to the same targets as ETH.
const targets: Record<string, bigint> = {
  openEth: 55_000n,
  openErc20: 90_000n,
  claim: 60_000n,
  close: 70_000n,
  claimManyPerChannel100: 15_000n,
  claimErc20: 60_000n,
  closeErc20: 70_000n,
  claimManyErc20PerChannel100: 15_000n,
  claimManyCompactPerChannel100: 15_000n,
  claimManyCompactErc20PerChannel100: 15_000n,
  ...extraTargets,
};

// The keys first, in its order, then the extras.
const ORDER = [
  "deploy", "openEth", "openErc20", "openWithPermit", "topUp", "claim", "close", "requestClose", "withdraw",
  "claimManyPerChannel1", "claimManyPerChannel10", "claimManyPerChannel100",
];
const ordered = [...ORDER, ...Object.keys(gas).filter((key) => !ORDER.includes(key))].map(
  (key) => [key, gas[key]] as const,
);

const format = (value: bigint): string => value.toLocaleString("en-US");
const rows = ordered.map(([operation, used]) => {
  const target = targets[operation];
  return {
    operation,
    gasUsed: format(used),
    target: target === undefined ? "" : `<= ${format(target)}`,
    verdict: target === undefined ? "" : used <= target ? "meets" : "MISSES",
  };
});
const width = (key: keyof (typeof rows)[number]): number => Math.max(key.length, ...rows.map((row) => row[key].length));
const header = { operation: "operation", gasUsed: "gasUsed", target: "target", verdict: "verdict" };
for (const row of [header, ...rows]) {
  console.log(
    `${row.operation.padEnd(width("operation"))}  ${row.gasUsed.padStart(width("gasUsed"))}  ` +
      `${row.target.padStart(width("target"))}  ${row.verdict}`,
  );
}

const outFile = path.join("bench", "results", "gas.json");
await mkdir(path.dirname(outFile), { recursive: true });
await writeFile(outFile, JSON.stringify(Object.fromEntries(ordered.map(([key, used]) => [key, Number(used)])), null, 2) + "\n");
console.log(`\nwrote ${outFile} (solc ${await solcVersion()}, chain ${chainId}, PaymentChannels at ${channelsAddress})`);

await updateReadme();

/** Replaces the README block between the bench:gas markers with this run's table and address. */
async function updateReadme(): Promise<void> {
  const begin = "<!-- bench:gas:begin (written by npm run bench:gas) -->";
  const end = "<!-- bench:gas:end -->";
  const readme = await readFile("README.md", "utf8");
  const from = readme.indexOf(begin);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) {
    console.log("README.md has no bench:gas markers: its gas table was left as it is");
    return;
  }
  const lines = [
    "| operation | gasUsed | DESIGN.md target | |",
    "|---|---:|---:|---|",
    ...rows.map((row) => `| \`${row.operation}\` | ${row.gasUsed} | ${row.target} | ${row.verdict.toLowerCase()} |`),
    "",
    `PaymentChannels was at \`${channelsAddress}\` for this build (solc ${await solcVersion()}).`,
  ];
  await writeFile("README.md", `${readme.slice(0, from + begin.length)}\n${lines.join("\n")}\n${readme.slice(to)}`);
  console.log("updated the gas table of README.md");
}

async function solcVersion(): Promise<string> {
  const { createRequire } = await import("node:module");
  return createRequire(import.meta.url)("solc/package.json").version as string;
}
