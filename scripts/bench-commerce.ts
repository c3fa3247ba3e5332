// `npm run bench:commerce`: purchases per second through the commerce middleware (`withPurchase`: a
// purchase id checked once, a receipt signed, sale and voucher in one SQLite transaction) against the
// plain paid route (`withPayment`: a voucher per request) of the same server, in one run. One node:http
// server in this process serves both routes over one SqliteCommerceStore (WAL, one fdatasync per group
// commit); the load comes from the same process at a fixed concurrency, one keep-alive connection and
// one channel per client, with every voucher signed before the clock starts. The two phases alternate
// for a few rounds and each keeps its best round (a shared machine is noisy).
// Writes bench/results/commerce.json.
//
// Options: --requests N per phase (default 5000), --concurrency C (default 32), --rounds R (default 3),
// --store sqlite|postgres (default sqlite; postgres runs on TRICKLE_PG_URL, else on a throwaway local
// cluster, and writes bench/results/commerce-postgres.json).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import hre, { network } from "hardhat";
import type { Address, Hex } from "../src/channel.ts";
import { ethersChain } from "../src/chain/ethers.ts";
import { Catalog } from "../src/commerce/catalog.ts";
import { PURCHASE_HEADER, withPurchase } from "../src/commerce/http.ts";
import { encodePurchaseHeader } from "../src/commerce/purchase-header.ts";
import { Seller } from "../src/commerce/seller.ts";
import { PostgresCommerceStore } from "../src/commerce/store-postgres.ts";
import { SqliteCommerceStore } from "../src/commerce/store-sqlite.ts";
import { startPostgresCluster } from "./lib/postgres-cluster.ts";
import { encodePaymentPayload, PAYMENT_SIGNATURE_HEADER, TRICKLE_SCHEME } from "../src/http/headers.ts";
import { withPayment } from "../src/http/node.ts";
import { paymentGate } from "../src/http/server.ts";
import { Payee } from "../src/payee.ts";
import { Payer } from "../src/payer.ts";
import { MemoryStore } from "../src/store/memory.ts";
import { ETH_TOKEN } from "../src/units.ts";
import { signVoucher } from "../src/voucher.ts";

const { values: args } = parseArgs({
  options: {
    requests: { type: "string", default: "5000" },
    concurrency: { type: "string", default: "32" },
    rounds: { type: "string", default: "3" },
    store: { type: "string", default: "sqlite" },
  },
});
if (args.store !== "sqlite" && args.store !== "postgres") throw new Error("--store must be sqlite or postgres");
const onPostgres = args.store === "postgres";
const requests = Number(args.requests);
const concurrency = Number(args.concurrency);
const rounds = Number(args.rounds);
for (const [name, value] of Object.entries({ requests, concurrency, rounds })) {
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
}
const PRICE = 1_000_000_000n;

await hre.tasks.getTask("build").run({ quiet: true });
const connection = await network.create();
const { ethers } = connection;
const [, payeeSigner, payerSigner] = await ethers.getSigners();
const deployed = await ethers.deployContract("PaymentChannels");
const contract = (await deployed.getAddress()) as Address;
const chainId = (await ethers.provider.getNetwork()).chainId;
const domain = { chainId, verifyingContract: contract };
const payeeAddress = payeeSigner!.address as Address;

const dir = mkdtempSync(path.join(tmpdir(), "trickle-bench-commerce-"));
// One deployment's view, shared by the Payee, the Seller and the gate.
const cluster = onPostgres && process.env.TRICKLE_PG_URL === undefined ? startPostgresCluster() : undefined;
const backend = onPostgres
  ? await PostgresCommerceStore.open(cluster?.url ?? process.env.TRICKLE_PG_URL!, { schema: `bench_commerce_${process.pid}` })
  : SqliteCommerceStore.open(path.join(dir, "payee.sqlite"));
const store = backend.forDeployment({ chainId, contract });
const payee = new Payee({ chain: ethersChain({ runner: ethers.provider, contract }), store, payee: payeeAddress });
const seller = new Seller({
  payee,
  store,
  domain,
  receiptKey: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  catalog: new Catalog(ETH_TOKEN, [{ id: "item", kind: "consumable", price: PRICE }]),
});
const gate = paymentGate({ payee, store, chainId, contract, payTo: payeeAddress, minDeposit: PRICE, price: (r) => (r.url.startsWith("/paid") ? PRICE : undefined) });
let paidServed = 0;
let purchasesServed = 0;
const body = JSON.stringify({ item: "delivered" });
const paidRoute = withPayment(gate, (_req, res) => {
  paidServed++;
  res.writeHead(200, { "Content-Type": "application/json", "Content-Length": String(body.length) }).end(body);
});
const buyRoute = withPurchase(seller, (_req, res) => {
  purchasesServed++;
  res.writeHead(200, { "Content-Type": "application/json", "Content-Length": String(body.length) }).end(body);
});
const server = createServer({ maxHeaderSize: 16384 }, (req, res) => (req.url === "/buy" ? buyRoute(req, res) : paidRoute(req, res)));
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address() as AddressInfo;
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });

function get(pathname: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: pathname, agent, headers }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

// Two channels per client (one per route, so neither phase sees the other's vouchers), everything signed up front.
const perClient = Math.ceil(requests / concurrency);
const perChannel = perClient * rounds + 1;
const payer = new Payer({ chain: ethersChain({ runner: payerSigner!, contract }), store: new MemoryStore() });
const clients: { paid: Record<string, string>[]; buy: Record<string, string>[]; nextPaid: number; nextBuy: number }[] = [];
for (let c = 0; c < concurrency; c++) {
  const vouchersOf = async (saltIndex: number) => {
    const channel = await payer.open({ payee: payeeAddress, amount: PRICE * BigInt(perChannel), closeDelay: 3600n, salt: `0x${saltIndex.toString(16).padStart(64, "0")}` as Hex });
    const key = (await payer.channel(channel.channelId))!.sessionKey as Hex;
    return { channel, vouchers: Array.from({ length: perChannel }, (_, i) => signVoucher(domain, channel.channelId, PRICE * BigInt(i + 1), key)) };
  };
  const paid = await vouchersOf(2 * c);
  const buy = await vouchersOf(2 * c + 1);
  clients.push({
    paid: paid.vouchers.map((v, i) => ({ [PAYMENT_SIGNATURE_HEADER]: encodePaymentPayload({ scheme: TRICKLE_SCHEME, chainId, contract, ...v, ...(i === 0 ? { config: paid.channel.config } : {}) }) })),
    buy: buy.vouchers.map((v, i) => ({ [PURCHASE_HEADER]: encodePurchaseHeader({ voucher: v, config: i === 0 ? buy.channel.config : undefined, item: "item", purchaseId: `c${c}-${i}` }) })),
    nextPaid: 0,
    nextBuy: 0,
  });
}

async function phase(kind: "paid" | "buy"): Promise<number> {
  const started = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      for (let i = 0; i < perClient; i++) {
        const status = kind === "paid" ? await get("/paid", client.paid[client.nextPaid++]!) : await get("/buy", client.buy[client.nextBuy++]!);
        if (status !== 200) throw new Error(`${kind} request answered ${status}`);
      }
    }),
  );
  return (perClient * concurrency) / ((performance.now() - started) / 1000);
}

// Warm-up: connections, JIT, and each channel's first payment (the one that carries its config).
await Promise.all(clients.map(async (c) => {
  if ((await get("/paid", c.paid[c.nextPaid++]!)) !== 200 || (await get("/buy", c.buy[c.nextBuy++]!)) !== 200) throw new Error("first payment refused");
}));
let paid = 0;
let bought = 0;
for (let round = 1; round <= rounds; round++) {
  const p = await phase("paid");
  const b = await phase("buy");
  console.log(`round ${round}: plain paid route ${Math.round(p)} req/s, purchases through the middleware ${Math.round(b)} /s`);
  paid = Math.max(paid, p);
  bought = Math.max(bought, b);
}
agent.destroy();
server.closeAllConnections();
await new Promise((resolve) => server.close(resolve));
if (paidServed !== concurrency * perChannel || purchasesServed !== concurrency * perChannel) throw new Error(`served ${paidServed} paid and ${purchasesServed} purchases, expected ${concurrency * perChannel} each`);
const receipts = (await store.chargesBetween(0n, 1n << 62n)).length;
if (receipts !== concurrency * perChannel) throw new Error(`the store holds ${receipts} receipts, expected ${concurrency * perChannel}`);

const result = {
  plainPaidRequestsPerSecond: Math.round(paid),
  purchasesPerSecond: Math.round(bought),
  purchasesToPaidRatio: Number((bought / paid).toFixed(3)),
  concurrency,
  requestsPerPhase: perClient * concurrency,
  rounds,
  store: onPostgres
    ? "PostgresCommerceStore (synchronous_commit on, local socket, batched sales), one process, load from the same process"
    : "SqliteCommerceStore (WAL, one fdatasync per group commit), one process, load from the same process",
};
console.log("\n| route | per second |\n|---|---|");
console.log(`| plain paid route (withPayment) | ${result.plainPaidRequestsPerSecond} |`);
console.log(`| purchases (withPurchase: receipt signed, charged once per id) | ${result.purchasesPerSecond} |`);
console.log(`| ratio | ${result.purchasesToPaidRatio} |`);
mkdirSync("bench/results", { recursive: true });
const output = onPostgres ? "bench/results/commerce-postgres.json" : "bench/results/commerce.json";
writeFileSync(output, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${output}`);
await store.close();
cluster?.stop();
rmSync(dir, { recursive: true, force: true });
await connection.close();
