// `npm run bench:http`: the same HTTP server, unpaid and paid, on localhost in one run. The server
// (node:http + paymentGate + Payee + SqliteStore with synchronous=FULL) runs in its own thread, as in
// the demo; the load comes from this thread at a fixed concurrency, one keep-alive connection and one
// channel per client. Paid requests carry vouchers signed before the clock starts, so the figure is
// the server's: decode, replay and increment checks, signature recovery, durable accept, receipt.
// Writes bench/results/http.json.
//
// Options: --requests N per phase (default 20000), --concurrency C (default 64), --rounds R (default 3;
// each phase's best round is kept, which damps the noise of a shared machine).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import hre, { network } from "hardhat";
import type { Address, Hex } from "../src/channel.ts";
import { ethersChain } from "../src/chain/ethers.ts";
import { encodePaymentPayload, PAYMENT_SIGNATURE_HEADER, TRICKLE_SCHEME } from "../src/http/headers.ts";
import { Payer } from "../src/payer.ts";
import { MemoryStore } from "../src/store/memory.ts";
import { signVoucher } from "../src/voucher.ts";
import { startPaidApiWorker } from "./http-worker.ts";

const { values: args } = parseArgs({
  options: {
    requests: { type: "string", default: "20000" },
    concurrency: { type: "string", default: "64" },
    rounds: { type: "string", default: "3" },
  },
});
const requests = Number(args.requests);
const concurrency = Number(args.concurrency);
const rounds = Number(args.rounds);
const PRICE = 1_000_000_000n;

await hre.tasks.getTask("build").run({ quiet: true });
const connection = await network.create();
const { ethers } = connection;
const [, payeeSigner, payerSigner] = await ethers.getSigners();
const deployed = await ethers.deployContract("PaymentChannels");
const contract = (await deployed.getAddress()) as Address;
const chainId = (await ethers.provider.getNetwork()).chainId;
const payeeAddress = payeeSigner.address as Address;

const dir = mkdtempSync(path.join(tmpdir(), "trickle-bench-http-"));
const api = await startPaidApiWorker(
  { contract, chainId, payee: payeeAddress, price: PRICE, minDeposit: PRICE, storePath: path.join(dir, "payee.sqlite") },
  ethersChain({ runner: ethers.provider, contract }),
);
const { port } = new URL(api.url);
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });

function get(pathname: string, payment?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: pathname, agent, headers: payment === undefined ? {} : { [PAYMENT_SIGNATURE_HEADER]: payment } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

// One channel per client, every voucher of every round signed up front.
const perClient = Math.ceil(requests / concurrency);
const payer = new Payer({ chain: ethersChain({ runner: payerSigner, contract }), store: new MemoryStore() });
const clients: { payments: string[]; next: number }[] = [];
for (let c = 0; c < concurrency; c++) {
  const deposit = PRICE * BigInt(perClient * rounds + 1);
  const channel = await payer.open({ payee: payeeAddress, amount: deposit, closeDelay: 3600n, salt: `0x${c.toString(16).padStart(64, "0")}` as Hex });
  const sessionKey = (await payer.channel(channel.channelId))?.sessionKey as Hex;
  const payments: string[] = [];
  for (let i = 1; i <= perClient * rounds + 1; i++) {
    const voucher = signVoucher({ chainId, verifyingContract: contract }, channel.channelId, PRICE * BigInt(i), sessionKey);
    payments.push(encodePaymentPayload({ scheme: TRICKLE_SCHEME, chainId, contract, ...voucher, ...(i === 1 ? { config: channel.config } : {}) }));
  }
  clients.push({ payments, next: 0 });
}

async function phase(paid: boolean): Promise<number> {
  const started = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      for (let i = 0; i < perClient; i++) {
        const status = paid ? await get("/paid", client.payments[client.next++]) : await get("/free");
        if (status !== 200) throw new Error(`${paid ? "paid" : "unpaid"} request answered ${status}`);
      }
    }),
  );
  return (perClient * concurrency) / ((performance.now() - started) / 1000);
}

// Warm-up: connections, JIT, and each channel's first payment (the one that carries its config).
await Promise.all(clients.map(async (client) => {
  if ((await get("/paid", client.payments[client.next++])) !== 200) throw new Error("first payment refused");
  for (let i = 0; i < 20; i++) await get("/free");
}));

let unpaid = 0;
let paid = 0;
for (let round = 1; round <= rounds; round++) {
  const u = await phase(false);
  const p = await phase(true);
  console.log(`round ${round}: unpaid ${Math.round(u)} req/s, paid ${Math.round(p)} req/s`);
  unpaid = Math.max(unpaid, u);
  paid = Math.max(paid, p);
}
const { paidServed } = await api.stop();
agent.destroy();
const expectedPaid = concurrency * (perClient * rounds + 1);
if (paidServed !== expectedPaid) throw new Error(`the server served ${paidServed} paid requests, expected ${expectedPaid}`);

const result = {
  unpaidRequestsPerSecond: Math.round(unpaid),
  paidRequestsPerSecond: Math.round(paid),
  paidToUnpaidRatio: Number((paid / unpaid).toFixed(3)),
  concurrency,
  requestsPerPhase: perClient * concurrency,
  rounds,
  store: "sqlite (WAL, synchronous=FULL, group commit)",
  target: { paidToUnpaidRatio: 0.5 },
};
console.log(`\nunpaid ${result.unpaidRequestsPerSecond} req/s, paid ${result.paidRequestsPerSecond} req/s, ratio ${result.paidToUnpaidRatio} (target >= 0.5)`);
mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/http.json", `${JSON.stringify(result, null, 2)}\n`);
console.log("wrote bench/results/http.json");
rmSync(dir, { recursive: true, force: true });
await connection.close();
