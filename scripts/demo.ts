// `npm run demo [-- --requests N] [-- --network localhost] [-- --token usdc]`: the whole Trickle story in one run.
// Starts a chain (the in-process Hardhat network unless --network says otherwise), deploys
// PaymentChannels, serves a paid HTTP API on a free localhost port (SQLite payee store in a temp dir),
// lets a client with a paying fetch open one channel and make N paid requests, has the payee close,
// and prints what it cost next to N plain on-chain transfers.
// With `--token usdc` the channel is in a 6-decimal ERC-3009 stablecoin (a test "USDC"), opened gaslessly:
// the payer only signs an authorization, which a relayer submits; amounts print in USDC.
//
// Run by `node` rather than `hardhat run`, because `hardhat run` refuses options it does not know
// (HHE506): `npm run demo -- --requests 500` reaches this script's argv as is.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import { Wallet } from "ethers";
import hre, { network } from "hardhat";
import type { Address } from "../src/channel.ts";
import { ethersChain } from "../src/chain/ethers.ts";
import { createPayingFetch } from "../src/http/fetch.ts";
import { decodePaymentReceipt, PAYMENT_RESPONSE_HEADER } from "../src/http/headers.ts";
import { Payee } from "../src/payee.ts";
import { Payer } from "../src/payer.ts";
import { MemoryStore } from "../src/store/memory.ts";
import { SqliteStore } from "../src/store/sqlite.ts";
import { defineToken, ETH_TOKEN, formatAmount, formatUnits, toUnits } from "../src/units.ts";
import { startPaidApiWorker } from "./http-worker.ts";
import { buildContracts } from "./lib/build-contracts.ts";
import { deployPaymentChannels } from "./lib/deploy.ts";

const { values: args } = parseArgs({
  options: {
    requests: { type: "string", default: "10000" },
    network: { type: "string" },
    concurrency: { type: "string", default: "32" },
    "payer-store": { type: "string", default: "memory" },
    token: { type: "string", default: "eth" },
  },
});
if (args.token !== "eth" && args.token !== "usdc") throw new Error(`--token must be eth or usdc, got ${args.token}`);
const usdcMode = args.token === "usdc";
const requests = Number(args.requests);
const concurrency = Number(args.concurrency);
if (!Number.isSafeInteger(requests) || requests < 1) throw new Error(`--requests must be a positive integer, got ${args.requests}`);
if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new Error(`--concurrency must be a positive integer, got ${args.concurrency}`);

await buildContracts(hre);
const connection = await network.create(args.network);
const { ethers } = connection;
const [deployer, payeeSigner, payerSigner] = await ethers.getSigners();
const deployment = await deployPaymentChannels(connection);
const contract = deployment.address as Address;
const chainId = deployment.chainId;
console.log(`PaymentChannels at ${contract} on ${connection.networkName} (chain ${chainId})`);

// The asset: ETH, or a test USDC (6 decimals, ERC-3009) that the payer holds and never approves.
const usdc = usdcMode ? await ethers.deployContract("TestUsdc", [], deployer) : undefined;
const usdcAddress = usdc === undefined ? undefined : ((await usdc.getAddress()) as Address);
if (usdc !== undefined) await (await usdc.getFunction("mint")(payerSigner.address, 1_000_000_000n)).wait();
const TOKEN = usdcAddress === undefined ? ETH_TOKEN : defineToken({ symbol: "USDC", decimals: 6, address: usdcAddress });
/** One request costs 0.000001 ETH, or 0.001 USDC: read exactly in the channel's token. */
const PRICE = toUnits(usdcMode ? "0.001 USDC" : "0.000001 ETH", TOKEN);
// Every amount printed exactly, with the token's decimals and symbol ("0.04 USDC").
const format = (units: bigint): string => formatAmount(units, TOKEN);
const formatDelta = (units: bigint): string => `${units >= 0n ? "+" : "-"}${formatUnits(units >= 0n ? units : -units, TOKEN.decimals)}`;
const balanceOf = async (account: string): Promise<bigint> =>
  usdc === undefined ? ethers.provider.getBalance(account) : ((await usdc.getFunction("balanceOf")(account)) as bigint);

// The payee: a paid API on a free port, in its own thread, vouchers durable in SQLite before each response.
const dir = mkdtempSync(path.join(tmpdir(), "trickle-demo-"));
const payeeStorePath = path.join(dir, "payee.sqlite");
const payeeAddress = payeeSigner.address as Address;
const MIN_DEPOSIT = PRICE * 100n;
const api = await startPaidApiWorker(
  { contract, chainId, payee: payeeAddress, price: PRICE, minDeposit: MIN_DEPOSIT, storePath: payeeStorePath, token: usdcAddress },
  ethersChain({ runner: ethers.provider, contract }),
);
const url = api.url;
console.log(`paid API at ${url}, ${format(PRICE)} per request, payee ${payeeAddress}`);

// The payer: one deposit that covers every request, vouchers signed by a session key. Its store is
// in memory: the Payer makes each voucher durable before sending it, one at a time per channel, so
// a SQLite payer store costs one fsync per request on the client (--payer-store sqlite shows it).
const payerStore = args["payer-store"] === "sqlite" ? SqliteStore.open(path.join(dir, "payer.sqlite")) : new MemoryStore();
// In USDC the payer opens gaslessly: it signs an ERC-3009 authorization and the deployer's account relays it.
const gasless =
  usdcAddress === undefined
    ? undefined
    : { relayer: ethersChain({ runner: deployer, contract }), tokens: [{ token: usdcAddress, name: "Trickle Test USDC", version: "2" }] };
const payer = new Payer({ chain: ethersChain({ runner: payerSigner, contract }), store: payerStore, gasless });
const budget = PRICE * BigInt(requests) > MIN_DEPOSIT ? PRICE * BigInt(requests) : MIN_DEPOSIT;
// The demo trusts its own server: one deposit for the whole run, and each route paid at its quoted
// price up front (one round trip per request; see docs/http.md for the trade-off).
const paidFetch = createPayingFetch({
  payer,
  budget,
  maxPrice: PRICE,
  maxDeposit: budget,
  originBudget: budget,
  requestsPerDeposit: BigInt(requests),
  reuseQuotedPrices: true,
  chain: { chainId, contract },
});

// What the same payments would cost one by one: measure a real ETH transfer.
const transfer = await (usdc === undefined
  ? await deployer.sendTransaction({ to: Wallet.createRandom().address, value: PRICE })
  : await usdc.connect(payerSigner).getFunction("transfer")(payeeAddress, PRICE)
).wait();
if (transfer === null) throw new Error("the reference transfer was not mined");

const balances = async () => ({
  payer: await balanceOf(payerSigner.address),
  payee: await balanceOf(payeeAddress),
  contract: await balanceOf(contract),
  payerEth: await ethers.provider.getBalance(payerSigner.address),
});
const before = await balances();

const bar = new cliProgress.SingleBar(
  { format: "paying  [{bar}] {percentage}% | {value}/{total} requests | {rps} req/s", hideCursor: true },
  cliProgress.Presets.shades_classic,
);
bar.start(requests, 0, { rps: "0" });
let issued = 0;
let done = 0;
let lastCumulative = 0n;
const started = performance.now();
async function worker(): Promise<void> {
  while (issued < requests) {
    issued++;
    const response = await paidFetch(`${url}/paid/quote?n=${issued}`);
    if (response.status !== 200) throw new Error(`request refused with ${response.status}: ${await response.text()}`);
    const receipt = decodePaymentReceipt(response.headers.get(PAYMENT_RESPONSE_HEADER) as string);
    if (receipt.cumulative > lastCumulative) lastCumulative = receipt.cumulative;
    await response.arrayBuffer();
    done++;
    bar.increment(1, { rps: Math.round(done / ((performance.now() - started) / 1000)).toString() });
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
const seconds = (performance.now() - started) / 1000;
bar.stop();

const [channel] = paidFetch.channels();
const opened = await payer.channel(channel.channelId);
const { served } = await api.stop();
// The payee closes with the best voucher its store holds (the server's store, now closed by it).
const payeeStore = SqliteStore.open(payeeStorePath);
const payee = new Payee({ chain: ethersChain({ runner: payeeSigner, contract }), store: payeeStore, payee: payeeAddress });
const closed = await payee.close(channel.channelId);
const after = await balances();

const openGas = channel.transactions.reduce((sum, tx) => sum + tx.gasUsed, 0n);
const totalGas = openGas + closed.gasUsed;
const plainGas = transfer.gasUsed * BigInt(requests);
const rows: [string, string][] = [
  ["paid requests (payments)", `${served}`],
  ["paid in total", `${format(lastCumulative)} (signed ${format(opened?.signedAmount ?? 0n)})`],
  [
    "on-chain transactions",
    usdcMode ? "2 (gasless open: signed by the payer, sent by a relayer; close by the payee)" : "2 (open by the payer, close by the payee)",
  ],
  ["gas: open + close", `${openGas} + ${closed.gasUsed} = ${totalGas}`],
  ["gas per payment", (Number(totalGas) / requests).toFixed(2)],
  [
    `${requests} plain ${TOKEN.symbol} transfers`,
    `${plainGas} gas (${transfer.gasUsed} each, measured), ${(Number(plainGas) / Number(totalGas)).toFixed(0)}x more`,
  ],
  ["requests per second", `${Math.round(requests / seconds)} (${seconds.toFixed(2)} s, ${concurrency} in flight)`],
  ["payer balance", `${format(after.payer)} (${formatDelta(after.payer - before.payer)}${usdcMode ? "" : ", gas included"})`],
  ["payee balance", `${format(after.payee)} (${formatDelta(after.payee - before.payee)}${usdcMode ? "" : ", close gas included"})`],
  ["contract balance", `${format(after.contract)} (${formatDelta(after.contract - before.contract)})`],
  ...(usdcMode ? ([["payer ETH spent on gas", formatAmount(before.payerEth - after.payerEth, ETH_TOKEN)]] as [string, string][]) : []),
];
const width = Math.max(...rows.map(([label]) => label.length));
console.log("\nTrickle demo summary");
for (const [label, value] of rows) console.log(`  ${label.padEnd(width)}  ${value}`);

await payeeStore.close();
await payerStore.close();
rmSync(dir, { recursive: true, force: true });
await connection.close();
