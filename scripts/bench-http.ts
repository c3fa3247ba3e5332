// `npm run bench:http`: the same HTTP server, unpaid and paid, with 1, 2 and 4 server processes sharing
// one store (SQLite, and PostgreSQL when it is installed or TRICKLE_PG_URL names one), in one run. Each
// server is a child process (node:http + paymentGate + Payee + the store, every commit durable); the
// load comes from this process at a fixed concurrency, keep-alive connections,
// one channel per client, each client bound to one server (as a load balancer with keep-alive does).
// Paid requests carry vouchers signed before the clock starts, so the figure is the server's: decode,
// checks, signature recovery, the durable charge, the receipt.
//
// The noise of a shared machine is handled, not hidden: the servers and this load generator are pinned
// to separate cores (taskset), unpaid and paid rounds alternate (and swap which goes first), each
// figure is the median of its rounds, and its spread ((max - min) / median) is printed beside it. The
// ratio is the median of each round's paid/unpaid ratio (the two phases of a round run back to back, on
// the same machine load). Beside the rates, the servers' CPU time per request (from the processes'
// own counters), which other load on the machine barely moves: the cost a request puts on a core.
// Writes bench/results/http.json and the README table between the bench:http markers.
//
// Options: --requests N per round (default 3200), --concurrency C (default 64), --rounds R (default 11),
// --servers 1,2,4.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import hre, { network } from "hardhat";
import type { Address, Hex } from "../src/channel.ts";
import { ethersChain } from "../src/chain/ethers.ts";
import { encodePaymentPayload, PAYMENT_SIGNATURE_HEADER, TRICKLE_SCHEME } from "../src/http/headers.ts";
import { Payer } from "../src/payer.ts";
import { MemoryStore } from "../src/store/memory.ts";
import { signVoucher } from "../src/voucher.ts";
import { startPaidApiProcess } from "./http-worker.ts";
import type { PaidApiSettings, PaidApiWorker } from "./http-worker.ts";
import { postgresBin, startPostgresCluster, type PostgresCluster } from "./lib/postgres-cluster.ts";

const { values: args } = parseArgs({
  options: {
    requests: { type: "string", default: "3200" },
    concurrency: { type: "string", default: "64" },
    rounds: { type: "string", default: "11" },
    servers: { type: "string", default: "1,2,4" },
  },
});
const requestsPerRound = Number(args.requests);
const concurrency = Number(args.concurrency);
const rounds = Number(args.rounds);
const serverCounts = args.servers.split(",").map(Number);
const perClient = Math.ceil(requestsPerRound / concurrency);
const PRICE = 1_000_000_000n;
const TARGET_RATIO = 0.6;

// Core 0 for this process (load and chain), the others for the servers. On one core both share it.
const cores = availableParallelism();
const loadCpus = "0";
const serverCpus = cores > 1 ? `1-${cores - 1}` : "0";
let pinned = false;
try {
  execFileSync("taskset", ["-a", "-p", "-c", loadCpus, String(process.pid)], { stdio: "ignore" });
  pinned = true;
} catch {
  console.log("taskset is not available: the load generator and the servers are not pinned");
}
const loadAtStart = loadavg()[0];

// PostgreSQL, when there is one: its server processes run on the servers' cores, like the API servers.
type StoreKind = "sqlite" | "postgres";
let cluster: PostgresCluster | undefined;
let postgresUrl = process.env.TRICKLE_PG_URL;
if (postgresUrl === undefined && postgresBin() !== undefined) {
  cluster = startPostgresCluster();
  postgresUrl = cluster.url;
  const socketDir = new URL(cluster.url).searchParams.get("host");
  if (pinned && socketDir !== null) {
    // The postmaster's pid is the first line of postmaster.pid; its helpers (WAL writer, checkpointer)
    // already run, and the backends it forks later inherit its cores.
    const postmaster = readFileSync(path.join(socketDir, "data", "postmaster.pid"), "utf8").split("\n")[0].trim();
    const helpers = execFileSync("pgrep", ["-P", postmaster], { encoding: "utf8" }).split("\n").filter((pid) => pid.trim() !== "");
    for (const pid of [postmaster, ...helpers]) execFileSync("taskset", ["-a", "-p", "-c", serverCpus, pid.trim()], { stdio: "ignore" });
  }
}
const storeKinds: StoreKind[] = postgresUrl === undefined ? ["sqlite"] : ["sqlite", "postgres"];
if (postgresUrl === undefined) console.log("PostgreSQL not measured: not installed (apt-get install -y postgresql) and TRICKLE_PG_URL not set");

await hre.tasks.getTask("build").run({ quiet: true });
const connection = await network.create();
const { ethers } = connection;
const [, payeeSigner, payerSigner] = await ethers.getSigners();
const contract = (await (await ethers.deployContract("PaymentChannels")).getAddress()) as Address;
const chainId = (await ethers.provider.getNetwork()).chainId;
const payee = payeeSigner.address as Address;
const chain = ethersChain({ runner: ethers.provider, contract });
const dir = mkdtempSync(path.join(tmpdir(), "trickle-bench-http-"));

// One channel per client, shared by every configuration; vouchers are signed per phase, and the first
// payment of a configuration carries the channel's config (a store may not know the channel yet).
const vouchersPerClient = storeKinds.length * serverCounts.length * (perClient * rounds + 1);
const payer = new Payer({ chain: ethersChain({ runner: payerSigner, contract }), store: new MemoryStore() });
const domain = { chainId, verifyingContract: contract };
const clients: { channelId: Hex; sessionKey: Hex; config: object; signed: number }[] = [];
for (let c = 0; c < concurrency; c++) {
  const salt = `0x${(c + 1).toString(16).padStart(64, "0")}` as Hex;
  const opened = await payer.open({ payee, amount: PRICE * BigInt(vouchersPerClient), closeDelay: 3600n, salt });
  clients.push({ channelId: opened.channelId, sessionKey: (await payer.channel(opened.channelId))?.sessionKey as Hex, config: opened.config, signed: 0 });
}
/** The next `count` payments of a client, signed now (outside any timed phase). */
function sign(client: (typeof clients)[number], count: number, withConfig = false): string[] {
  const payments: string[] = [];
  for (let i = 0; i < count; i++) {
    client.signed++;
    const voucher = signVoucher(domain, client.channelId, PRICE * BigInt(client.signed), client.sessionKey);
    payments.push(encodePaymentPayload({ scheme: TRICKLE_SCHEME, chainId, contract, ...voucher, ...(withConfig ? { config: client.config as never } : {}) }));
  }
  return payments;
}

function get(port: string, agent: Agent, pathname: string, payment?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = payment === undefined ? {} : { [PAYMENT_SIGNATURE_HEADER]: payment };
    const req = request({ host: "127.0.0.1", port, path: pathname, agent, headers }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

interface Figure {
  median: number;
  min: number;
  max: number;
  /** (max - min) / median. */
  spread: number;
  rounds: number[];
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function figure(rates: number[]): Figure {
  const sorted = [...rates].sort((a, b) => a - b);
  const median = medianOf(rates);
  return { median: Math.round(median), min: Math.round(sorted[0]), max: Math.round(sorted.at(-1) as number), spread: Number(((sorted.at(-1)! - sorted[0]) / median).toFixed(3)), rounds: rates.map(Math.round) };
}

interface Row {
  store: StoreKind;
  servers: number;
  unpaid: Figure;
  paid: Figure;
  /** Median of the rounds' paid/unpaid ratios. */
  ratio: number;
  ratios: number[];
  /** Server CPU time per request, µs (all server processes together). */
  unpaidCpuMicros: Figure;
  paidCpuMicros: Figure;
  /** unpaid / paid CPU per request: the paid share of what one core serves unpaid. */
  cpuRatio: number;
}

async function measure(store: StoreKind, servers: number): Promise<Row> {
  const settings: PaidApiSettings = { contract, chainId, payee, price: PRICE, minDeposit: PRICE, storePath: path.join(dir, `payee-${servers}.sqlite`) };
  if (store === "postgres") settings.postgres = { url: postgresUrl as string, schema: `bench_http_${process.pid}_${servers}` };
  const apis: PaidApiWorker[] = await Promise.all(Array.from({ length: servers }, () => startPaidApiProcess(settings, chain, pinned ? { cpus: serverCpus } : {})));
  const ports = apis.map((api) => new URL(api.url).port);
  const agents = apis.map(() => new Agent({ keepAlive: true, maxSockets: concurrency }));
  const target = (c: number) => ({ port: ports[c % servers], agent: agents[c % servers] });
  try {
    // Warm-up: connections, JIT, and each channel's first payment in this configuration.
    await Promise.all(
      clients.map(async (client, c) => {
        const { port, agent } = target(c);
        const [payment] = sign(client, 1, true);
        if ((await get(port, agent, "/paid", payment)) !== 200) throw new Error("a warm-up payment was refused");
        for (let i = 0; i < 20; i++) await get(port, agent, "/free");
      }),
    );
    const cpu = async () => (await Promise.all(apis.map((api) => (api.cpuMicros === undefined ? 0 : api.cpuMicros())))).reduce((a, b) => a + b, 0);
    const unpaidCpu: number[] = [];
    const paidCpu: number[] = [];
    const phase = async (paid: boolean): Promise<number> => {
      const payments = paid ? clients.map((client) => sign(client, perClient)) : [];
      const cpuBefore = await cpu();
      const started = performance.now();
      await Promise.all(
        clients.map(async (_client, c) => {
          const { port, agent } = target(c);
          for (let i = 0; i < perClient; i++) {
            const status = paid ? await get(port, agent, "/paid", payments[c][i]) : await get(port, agent, "/free");
            if (status !== 200) throw new Error(`${paid ? "paid" : "unpaid"} request answered ${status}`);
          }
        }),
      );
      const rate = (perClient * concurrency) / ((performance.now() - started) / 1000);
      (paid ? paidCpu : unpaidCpu).push(((await cpu()) - cpuBefore) / (perClient * concurrency));
      return rate;
    };
    const unpaid: number[] = [];
    const paid: number[] = [];
    for (let round = 0; round < rounds; round++) {
      // Alternate which goes first, so a slow drift of the machine weighs on both alike.
      if (round % 2 === 0) {
        unpaid.push(await phase(false));
        paid.push(await phase(true));
      } else {
        paid.push(await phase(true));
        unpaid.push(await phase(false));
      }
      console.log(
        `  ${store}, ${servers} server(s), round ${round + 1}: unpaid ${Math.round(unpaid.at(-1)!)} req/s (${unpaidCpu.at(-1)!.toFixed(0)} µs CPU each), paid ${Math.round(paid.at(-1)!)} req/s (${paidCpu.at(-1)!.toFixed(0)} µs CPU each)`,
      );
    }
    const ratios = paid.map((p, i) => Number((p / unpaid[i]).toFixed(3)));
    const unpaidCpuMicros = figure(unpaidCpu);
    const paidCpuMicros = figure(paidCpu);
    return {
      store,
      servers,
      unpaid: figure(unpaid),
      paid: figure(paid),
      ratio: Number(medianOf(ratios).toFixed(3)),
      ratios,
      unpaidCpuMicros,
      paidCpuMicros,
      cpuRatio: Number((unpaidCpuMicros.median / paidCpuMicros.median).toFixed(3)),
    };
  } finally {
    for (const agent of agents) agent.destroy();
    const counts = await Promise.all(apis.map((api) => api.stop()));
    const paidServed = counts.reduce((sum, c) => sum + c.paidServed, 0);
    const expected = concurrency * (perClient * rounds + 1);
    if (paidServed !== expected) throw new Error(`the servers served ${paidServed} paid requests, expected ${expected}`);
  }
}

console.log(`bench:http: ${concurrency} clients, ${perClient * concurrency} requests per round, ${rounds} rounds; load on cpu ${loadCpus}, servers on cpu ${serverCpus}${pinned ? "" : " (not pinned)"}`);
const rows: Row[] = [];
try {
  for (const store of storeKinds) for (const servers of serverCounts) rows.push(await measure(store, servers));
} finally {
  cluster?.stop();
}
const storeNames: Record<StoreKind, string> = { sqlite: "SQLite", postgres: "PostgreSQL" };

const pct = (x: number) => `±${(x * 50).toFixed(1)}%`;
const oneProcess = (store: StoreKind) => rows.find((r) => r.store === store && r.servers === 1) ?? rows[0];
const table = [
  "| store | server processes | unpaid req/s | paid req/s | paid / unpaid | paid vs 1 process | server CPU per request, unpaid / paid | unpaid / paid CPU |",
  "|---|---:|---:|---:|---:|---:|---:|---:|",
  ...rows.map(
    (r) =>
      `| ${storeNames[r.store]} | ${r.servers} | ${r.unpaid.median.toLocaleString("en-US")} (${pct(r.unpaid.spread)}) | ${r.paid.median.toLocaleString("en-US")} (${pct(r.paid.spread)}) | ${r.ratio.toFixed(2)} | ${(r.paid.median / oneProcess(r.store).paid.median).toFixed(2)}x | ${r.unpaidCpuMicros.median} µs (${pct(r.unpaidCpuMicros.spread)}) / ${r.paidCpuMicros.median} µs (${pct(r.paidCpuMicros.spread)}) | ${r.cpuRatio.toFixed(2)} |`,
  ),
];
console.log(`\n${table.join("\n")}\n`);
const one = rows.find((r) => r.store === "sqlite" && r.servers === 1);
if (one !== undefined) console.log(`paid / unpaid on one process: ${one.ratio} (target >= ${TARGET_RATIO}: ${one.ratio >= TARGET_RATIO ? "met" : "not met"})`);

const result = {
  generatedBy: "scripts/bench-http.ts (npm run bench:http)",
  generatedAt: new Date().toISOString(),
  machine: { logicalCores: cores, node: process.version, loadCpus, serverCpus, pinned, loadAverageAtStart: Number(loadAtStart.toFixed(2)) },
  method: `median of ${rounds} alternating unpaid/paid rounds of ${perClient * concurrency} requests, ${concurrency} keep-alive clients (one channel each); ratio = median of the rounds' paid/unpaid; spread = (max - min) / median; CPU = the server processes' user + system time per request`,
  stores: {
    sqlite: "SQLite (WAL, synchronous=FULL, group commit), one file shared by every server process",
    ...(storeKinds.includes("postgres") ? { postgres: "PostgreSQL (synchronous_commit on, local socket, throwaway cluster unless TRICKLE_PG_URL), one database shared by every server process" } : {}),
  },
  rows,
  paidToUnpaidRatio: one?.ratio,
  target: { paidToUnpaidRatio: TARGET_RATIO },
};
mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/http.json", `${JSON.stringify(result, null, 2)}\n`);
console.log("wrote bench/results/http.json");

/** Replaces the README block between the bench:http markers with this run's table. */
function rewriteReadme(): void {
  const begin = "<!-- bench:http:begin (written by npm run bench:http) -->";
  const end = "<!-- bench:http:end -->";
  const readme = readFileSync("README.md", "utf8");
  const from = readme.indexOf(begin);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) {
    console.log("README.md has no bench:http markers: left as it is");
    return;
  }
  const note =
    `Paid HTTP on one process (SQLite): ${one?.ratio ?? "?"} of unpaid (target >= ${TARGET_RATIO}: ${one !== undefined && one.ratio >= TARGET_RATIO ? "met" : "**not met**"}). ` +
    `${cores} logical cores; load generator on cpu ${loadCpus}, servers on cpu ${serverCpus}; ${result.method}; ± is half the spread.`;
  writeFileSync("README.md", `${readme.slice(0, from + begin.length)}\n${table.join("\n")}\n\n${note}\n${readme.slice(to)}`);
  console.log("updated the HTTP table of README.md");
}
rewriteReadme();
rmSync(dir, { recursive: true, force: true });
await connection.close();
