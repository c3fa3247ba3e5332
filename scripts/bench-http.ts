// `npm run bench:http`: the same HTTP server, unpaid and paid, with 1, 2 and 4 server processes sharing
// one store (SQLite, and PostgreSQL when it is installed or TRICKLE_PG_URL names one), in one run. Each
// server is a child process (node:http + paymentGate + Payee + the store, every commit durable); the
// load comes from this process at a fixed concurrency, keep-alive connections,
// one channel per client, each client bound to one server (as a load balancer with keep-alive does).
// Paid requests carry vouchers signed before the clock starts, so the figure is the server's: decode,
// checks, signature recovery, the durable charge, the receipt. Two paid modes, each its own rows:
// - one voucher per request (every request costs the server a signature recovery);
// - prepaid credit (the Payee's `prepaidCredit`): each client signs one voucher for its next k requests
//   (`--prepay`, 50 by default) and sends it with each of them, each time with the next one-time token
//   of the voucher's hash chain, so the server recovers one signature per k requests and the store
//   checks a token (a keccak256) and charges the others from the voucher's credit.
//
// The noise of a shared machine is handled, not hidden: the servers and this load generator are pinned
// to separate cores (taskset), the unpaid and paid phases of a round run back to back and rotate which
// goes first, the first rounds are a warm-up and are not counted, each figure is the median of its
// rounds with its spread ((max - min) / median), and beside it the difference between the medians of
// the odd and the even rounds (two half-runs: how far two runs on this machine load would disagree).
// A ratio is the median of each round's own paid/unpaid ratio (the phases of a round share the
// machine's load). Beside the rates, the servers' CPU time per request (from the processes' own
// counters), which other load on the machine barely moves: the cost a request puts on a core. The load
// average is read at the start and the end of every configuration and recorded.
// Writes bench/results/http.json and the README table between the bench:http markers.
//
// Options: --requests N per round and phase (default 6400), --concurrency C (default 64), --rounds R
// counted (default 9), --warmup W rounds not counted (default 2), --prepay K (default 50),
// --servers 1,2,4, --stores sqlite,postgres, --modes unpaid,paid,prepaid (a ratio needs unpaid),
// --profile DIR (a CPU profile of each server process, for `node --cpu-prof` analysis), --compare FILE
// (an earlier run's bench/results/http.json: prints how far each median rate and ratio moved since, and
// records the largest move; `cp bench/results/http.json /tmp/before.json` first, as a run replaces it).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { Agent, request } from "node:http";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import hre, { network } from "hardhat";
import type { Address, Hex } from "../src/channel.ts";
import { ethersChain } from "../src/chain/ethers.ts";
import { encodePaymentPayload, encodePrepaidToken, PAYMENT_PREPAID_HEADER, PAYMENT_SIGNATURE_HEADER, TRICKLE_SCHEME } from "../src/http/headers.ts";
import { prepaidChain } from "../src/store/prepaid.ts";
import { Payer } from "../src/payer.ts";
import { MemoryStore } from "../src/store/memory.ts";
import { signVoucher } from "../src/voucher.ts";
import { startPaidApiProcess } from "./http-worker.ts";
import type { PaidApiSettings, PaidApiWorker } from "./http-worker.ts";
import { postgresBin, startPostgresCluster, type PostgresCluster } from "./lib/postgres-cluster.ts";

const { values: args } = parseArgs({
  options: {
    requests: { type: "string", default: "6400" },
    concurrency: { type: "string", default: "64" },
    rounds: { type: "string", default: "9" },
    warmup: { type: "string", default: "2" },
    prepay: { type: "string", default: "50" },
    servers: { type: "string", default: "1,2,4" },
    stores: { type: "string", default: "sqlite,postgres" },
    modes: { type: "string", default: "unpaid,paid,prepaid" },
    profile: { type: "string" },
    compare: { type: "string" },
  },
});
// --profile DIR: each server process writes a V8 CPU profile there (node --cpu-prof) when it exits.
if (args.profile !== undefined) process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --cpu-prof --cpu-prof-dir=${path.resolve(args.profile)}`.trim();
const requestsPerRound = Number(args.requests);
const concurrency = Number(args.concurrency);
const rounds = Number(args.rounds);
const warmupRounds = Number(args.warmup);
const prepay = Number(args.prepay);
const serverCounts = args.servers.split(",").map(Number);
const perClient = Math.ceil(requestsPerRound / concurrency);
if (![requestsPerRound, concurrency, rounds, prepay].every((n) => Number.isSafeInteger(n) && n >= 1) || !Number.isSafeInteger(warmupRounds) || warmupRounds < 0) {
  throw new Error("--requests, --concurrency, --rounds and --prepay must be positive integers, --warmup a non-negative one");
}
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
const loadAtStart = loadavg();

// PostgreSQL, when there is one: its server processes run on the servers' cores, like the API servers.
type StoreKind = "sqlite" | "postgres";
let cluster: PostgresCluster | undefined;
let postgresUrl = process.env.TRICKLE_PG_URL;
if (postgresUrl === undefined && postgresBin() !== undefined && args.stores.split(",").includes("postgres")) {
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
// Interrupted (Ctrl-C), the throwaway PostgreSQL server is stopped too.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    cluster?.stop();
    process.exit(130);
  });
}
const storeKinds: StoreKind[] = (postgresUrl === undefined ? ["sqlite"] : ["sqlite", "postgres"]).filter((kind) => args.stores.split(",").includes(kind)) as StoreKind[];
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
// payment of a configuration carries the channel's config (a store may not know the channel yet). The
// deposit covers every paid request of the run, and the credit a prepaid voucher may leave per phase.
const allRounds = warmupRounds + rounds;
const paidModes = ["paid", "prepaid"].filter((mode) => args.modes.split(",").includes(mode)).length;
const paidPerConfig = 1 + paidModes * perClient * allRounds;
const vouchersPerClient = storeKinds.length * serverCounts.length * (paidPerConfig + prepay * allRounds);
const payer = new Payer({ chain: ethersChain({ runner: payerSigner, contract }), store: new MemoryStore() });
const domain = { chainId, verifyingContract: contract };
const clients: { channelId: Hex; sessionKey: Hex; config: object; signed: number }[] = [];
for (let c = 0; c < concurrency; c++) {
  const salt = `0x${(c + 1).toString(16).padStart(64, "0")}` as Hex;
  const opened = await payer.open({ payee, amount: PRICE * BigInt(vouchersPerClient), closeDelay: 3600n, salt });
  clients.push({ channelId: opened.channelId, sessionKey: (await payer.channel(opened.channelId))?.sessionKey as Hex, config: opened.config, signed: 0 });
}
/** The next `count` payments of a client, one voucher each, signed now (outside any timed phase). */
function sign(client: (typeof clients)[number], count: number, withConfig = false): Payment[] {
  const payments: Payment[] = [];
  for (let i = 0; i < count; i++) payments.push({ [PAYMENT_SIGNATURE_HEADER]: signAhead(client, 1, withConfig) });
  return payments;
}

/** One voucher for the client's next `requests` requests (signed amount + requests x price). */
function signAhead(client: (typeof clients)[number], requests: number, withConfig = false): string {
  client.signed += requests;
  const voucher = signVoucher(domain, client.channelId, PRICE * BigInt(client.signed), client.sessionKey);
  return encodePaymentPayload({ scheme: TRICKLE_SCHEME, chainId, contract, ...voucher, ...(withConfig ? { config: client.config as never } : {}) });
}

/** A request's payment headers. */
type Payment = Record<string, string>;

/**
 * The next `count` payments of a client with prepaid credit: a voucher for `prepay` requests, sent with
 * each of them with the next one-time token of its chain (made from a fresh seed, as the paying fetch
 * does), then the next. A phase starts with a fresh voucher (the last one's credit, if any, is left: a
 * voucher signed since for a single request superseded it).
 */
function signPrepaid(client: (typeof clients)[number], count: number): Payment[] {
  const payments: Payment[] = [];
  let payment = "";
  let chain = { anchor: "0x" as Hex, tokens: [] as Hex[] };
  for (let i = 0; i < count; i++) {
    if (i % prepay === 0) {
      payment = signAhead(client, prepay);
      chain = prepaidChain(randomBytes(32), prepay);
    }
    const index = (i % prepay) + 1;
    payments.push({ [PAYMENT_SIGNATURE_HEADER]: payment, [PAYMENT_PREPAID_HEADER]: encodePrepaidToken({ anchor: chain.anchor, index, token: chain.tokens[index - 1] }) });
  }
  return payments;
}

function get(port: string, agent: Agent, pathname: string, payment?: Payment): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = payment ?? {};
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
  /** |median of the odd rounds - median of the even rounds| / median: how far two half-runs disagree. */
  halves: number;
  rounds: number[];
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function figure(values: number[], digits = 0): Figure {
  const sorted = [...values].sort((a, b) => a - b);
  const median = medianOf(values);
  const round = (x: number) => Number(x.toFixed(digits));
  const odd = values.filter((_, i) => i % 2 === 0);
  const even = values.filter((_, i) => i % 2 === 1);
  const halves = even.length === 0 ? 0 : Math.abs(medianOf(odd) - medianOf(even)) / median;
  return {
    median: round(median),
    min: round(sorted[0]),
    max: round(sorted.at(-1) as number),
    spread: Number(((sorted.at(-1)! - sorted[0]) / median).toFixed(3)),
    halves: Number(halves.toFixed(3)),
    rounds: values.map(round),
  };
}

type Mode = "unpaid" | "paid" | "prepaid";
const MODES: Mode[] = (["unpaid", "paid", "prepaid"] as const).filter((mode) => args.modes.split(",").includes(mode));
if (!MODES.includes("unpaid")) throw new Error("--modes must include unpaid: every ratio is against it");

interface ModeFigures {
  /** Requests per second. */
  rate: Figure;
  /** Server CPU time per request, µs (all server processes together). */
  cpuMicros: Figure;
  /** The rounds' own rate / unpaid rate (absent for unpaid). */
  ratio?: Figure;
  /** Paid requests per group commit (one transaction and one fsync each), all servers together. */
  requestsPerCommit?: Figure;
}

interface Row {
  store: StoreKind;
  servers: number;
  /** The 1-minute load average at the start and the end of this configuration. */
  loadAverage: [number, number];
  /**
   * The median fdatasync of a 4 KiB write beside the SQLite store, µs, at the start and the end of this
   * configuration: a paid phase waits for one per group commit, so a slow disk shows here first.
   */
  fsyncMicros: [number, number];
  unpaid: ModeFigures;
  /** One voucher per request. */
  paid?: ModeFigures;
  /** Prepaid credit: one voucher per `prepay` requests. */
  prepaid?: ModeFigures;
}

/** The median of 21 fdatasyncs of a 4 KiB write in `dir`, µs. */
function fsyncLatency(): number {
  const file = path.join(dir, "fsync-probe");
  const fd = openSync(file, "w");
  const block = Buffer.alloc(4096, 1);
  const times: number[] = [];
  try {
    for (let i = 0; i < 21; i++) {
      writeSync(fd, block);
      const started = performance.now();
      fdatasyncSync(fd);
      times.push((performance.now() - started) * 1000);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return Math.round(medianOf(times));
}

async function measure(store: StoreKind, servers: number): Promise<Row> {
  const loadBefore = loadavg()[0];
  const fsyncBefore = fsyncLatency();
  const settings: PaidApiSettings = {
    contract,
    chainId,
    payee,
    price: PRICE,
    minDeposit: PRICE,
    storePath: path.join(dir, `payee-${servers}.sqlite`),
    // The policy takes prepaid credit in every phase; a voucher per request never draws on it.
    prepaidCredit: true,
  };
  if (store === "postgres") settings.postgres = { url: postgresUrl as string, schema: `bench_http_${process.pid}_${servers}` };
  const apis: PaidApiWorker[] = await Promise.all(Array.from({ length: servers }, () => startPaidApiProcess(settings, chain, pinned ? { cpus: serverCpus } : {})));
  const ports = apis.map((api) => new URL(api.url).port);
  const agents = apis.map(() => new Agent({ keepAlive: true, maxSockets: concurrency }));
  const target = (c: number) => ({ port: ports[c % servers], agent: agents[c % servers] });
  try {
    // Warm-up: connections, and each channel's first payment in this configuration.
    await Promise.all(
      clients.map(async (client, c) => {
        const { port, agent } = target(c);
        const [payment] = sign(client, 1, true);
        if ((await get(port, agent, "/paid", payment)) !== 200) throw new Error("a warm-up payment was refused");
        for (let i = 0; i < 20; i++) await get(port, agent, "/free");
      }),
    );
    const usage = async () =>
      (await Promise.all(apis.map((api) => api.usage?.() ?? { cpuMicros: 0, commits: 0 }))).reduce((a, b) => ({ cpuMicros: a.cpuMicros + b.cpuMicros, commits: a.commits + b.commits }));
    const phase = async (mode: Mode): Promise<{ rate: number; cpuMicros: number; perCommit: number }> => {
      const payments = mode === "paid" ? clients.map((client) => sign(client, perClient)) : mode === "prepaid" ? clients.map((client) => signPrepaid(client, perClient)) : [];
      const before = await usage();
      const started = performance.now();
      await Promise.all(
        clients.map(async (_client, c) => {
          const { port, agent } = target(c);
          for (let i = 0; i < perClient; i++) {
            const status = mode === "unpaid" ? await get(port, agent, "/free") : await get(port, agent, "/paid", payments[c][i]);
            if (status !== 200) throw new Error(`${mode} request answered ${status}`);
          }
        }),
      );
      const rate = (perClient * concurrency) / ((performance.now() - started) / 1000);
      const after = await usage();
      const commits = after.commits - before.commits;
      return { rate, cpuMicros: (after.cpuMicros - before.cpuMicros) / (perClient * concurrency), perCommit: commits === 0 ? 0 : (perClient * concurrency) / commits };
    };
    const rates: Record<Mode, number[]> = { unpaid: [], paid: [], prepaid: [] };
    const cpus: Record<Mode, number[]> = { unpaid: [], paid: [], prepaid: [] };
    const perCommit: Record<Mode, number[]> = { unpaid: [], paid: [], prepaid: [] };
    for (let round = 0; round < allRounds; round++) {
      // Rotate which phase goes first, so a slow drift of the machine weighs on every mode alike.
      const order = MODES.map((_, i) => MODES[(i + round) % MODES.length]);
      const measured: Partial<Record<Mode, { rate: number; cpuMicros: number; perCommit: number }>> = {};
      for (const mode of order) measured[mode] = await phase(mode);
      const counted = round >= warmupRounds;
      if (counted) {
        for (const mode of MODES) {
          rates[mode].push(measured[mode]!.rate);
          cpus[mode].push(measured[mode]!.cpuMicros);
          perCommit[mode].push(measured[mode]!.perCommit);
        }
      }
      console.log(
        `  ${store}, ${servers} server(s), ${counted ? `round ${round - warmupRounds + 1}` : `warm-up ${round + 1}`}: ` +
          MODES.map((mode) => {
            const m = measured[mode]!;
            return `${mode} ${Math.round(m.rate)} req/s (${m.cpuMicros.toFixed(0)} µs CPU each${mode === "unpaid" ? "" : `, ${m.perCommit.toFixed(1)} per commit`})`;
          }).join(", "),
      );
    }
    const figures = (mode: Mode): ModeFigures => ({
      rate: figure(rates[mode]),
      cpuMicros: figure(cpus[mode]),
      ...(mode === "unpaid" ? {} : { requestsPerCommit: figure(perCommit[mode], 1) }),
      ...(mode === "unpaid" ? {} : { ratio: figure(rates[mode].map((rate, i) => rate / rates.unpaid[i]), 3) }),
    });
    const row: Row = {
      store,
      servers,
      loadAverage: [Number(loadBefore.toFixed(2)), Number(loadavg()[0].toFixed(2))],
      fsyncMicros: [fsyncBefore, fsyncLatency()],
      unpaid: figures("unpaid"),
    };
    console.log(`  ${store}, ${servers} server(s): fdatasync of 4 KiB ${row.fsyncMicros[0]} µs before, ${row.fsyncMicros[1]} µs after (medians)`);
    if (MODES.includes("paid")) row.paid = figures("paid");
    if (MODES.includes("prepaid")) row.prepaid = figures("prepaid");
    return row;
  } finally {
    for (const agent of agents) agent.destroy();
    const counts = await Promise.all(apis.map((api) => api.stop()));
    const paidServed = counts.reduce((sum, c) => sum + c.paidServed, 0);
    const expected = concurrency * paidPerConfig;
    if (paidServed !== expected) throw new Error(`the servers served ${paidServed} paid requests, expected ${expected}`);
  }
}

console.log(
  `bench:http: ${concurrency} clients, ${perClient * concurrency} requests per phase, ${warmupRounds} warm-up + ${rounds} rounds, prepaid vouchers for ${prepay} requests; ` +
    `load on cpu ${loadCpus}, servers on cpu ${serverCpus}${pinned ? "" : " (not pinned)"}; load average ${loadAtStart.map((x) => x.toFixed(2)).join(", ")}`,
);
const rows: Row[] = [];
try {
  for (const store of storeKinds) for (const servers of serverCounts) rows.push(await measure(store, servers));
} finally {
  cluster?.stop();
}
const loadAtEnd = loadavg();
const storeNames: Record<StoreKind, string> = { sqlite: "SQLite", postgres: "PostgreSQL" };
const modeNames: Record<Mode, string> = { unpaid: "unpaid", paid: "paid, a voucher per request", prepaid: `paid, prepaid (a voucher per ${prepay} requests)` };

const pct = (x: number) => `±${(x * 50).toFixed(1)}%`;
const oneProcess = (store: StoreKind) => rows.find((r) => r.store === store && r.servers === 1) ?? rows[0];
const table = [
  "| store | server processes | requests | req/s | / unpaid | vs 1 process | server CPU per request | requests per commit |",
  "|---|---:|---|---:|---:|---:|---:|---:|",
  ...rows.flatMap((r) =>
    MODES.map((mode) => {
      const f = r[mode] as ModeFigures;
      const ratio = f.ratio === undefined ? "" : `${f.ratio.median.toFixed(2)} (${pct(f.ratio.spread)})`;
      return `| ${storeNames[r.store]} | ${r.servers} | ${modeNames[mode]} | ${f.rate.median.toLocaleString("en-US")} (${pct(f.rate.spread)}) | ${ratio} | ${(f.rate.median / (oneProcess(r.store)[mode] as ModeFigures).rate.median).toFixed(2)}x | ${f.cpuMicros.median} µs (${pct(f.cpuMicros.spread)}) | ${f.requestsPerCommit?.median ?? ""} |`;
    }),
  ),
];
console.log(`\n${table.join("\n")}\n`);
const one = rows.find((r) => r.store === "sqlite" && r.servers === 1);
const met = (ratio: number | undefined) => (ratio !== undefined && ratio >= TARGET_RATIO ? "met" : "not met");
if (one !== undefined) {
  console.log(`paid / unpaid on one process (SQLite): a voucher per request ${one.paid?.ratio?.median} (${met(one.paid?.ratio?.median)}), prepaid ${one.prepaid?.ratio?.median} (${met(one.prepaid?.ratio?.median)}); target >= ${TARGET_RATIO}`);
}
const worstHalves = Math.max(...rows.flatMap((r) => MODES.map((mode) => (r[mode] as ModeFigures).rate.halves)));
console.log(`largest disagreement between the odd and the even rounds' medians: ${(worstHalves * 100).toFixed(1)}%; load average ${loadAtStart[0].toFixed(2)} at the start, ${loadAtEnd[0].toFixed(2)} at the end`);

/** How far this run's medians moved from an earlier run's (--compare): every rate and ratio of the rows both measured. */
interface Comparison {
  file: string;
  generatedAt: string;
  /** |this - earlier| / earlier, per row and mode. */
  moves: { row: string; mode: Mode; rate: number; ratio?: number }[];
  largestRateMove: number;
  largestRatioMove: number;
}

function compareWith(file: string): Comparison {
  const earlier = JSON.parse(readFileSync(file, "utf8")) as { generatedAt: string; rows: Row[] };
  const move = (now: number, then: number) => Number((Math.abs(now - then) / then).toFixed(3));
  const moves: Comparison["moves"] = [];
  for (const row of rows) {
    const then = earlier.rows.find((r) => r.store === row.store && r.servers === row.servers);
    if (then === undefined) continue;
    for (const mode of MODES) {
      const a = row[mode];
      const b = then[mode];
      if (a === undefined || b === undefined) continue;
      moves.push({
        row: `${storeNames[row.store]}, ${row.servers}`,
        mode,
        rate: move(a.rate.median, b.rate.median),
        ...(a.ratio !== undefined && b.ratio !== undefined ? { ratio: move(a.ratio.median, b.ratio.median) } : {}),
      });
    }
  }
  if (moves.length === 0) throw new Error(`${file} has none of this run's rows`);
  return {
    file,
    generatedAt: earlier.generatedAt,
    moves,
    largestRateMove: Math.max(...moves.map((m) => m.rate)),
    largestRatioMove: Math.max(...moves.map((m) => m.ratio ?? 0)),
  };
}

const comparison = args.compare === undefined ? undefined : compareWith(args.compare);
if (comparison !== undefined) {
  console.log(`against ${comparison.file} (${comparison.generatedAt}): how far each median moved`);
  console.log(["| store, processes | requests | rate moved | ratio moved |", "|---|---|---:|---:|", ...comparison.moves.map((m) => `| ${m.row} | ${modeNames[m.mode]} | ${(m.rate * 100).toFixed(1)}% | ${m.ratio === undefined ? "" : `${(m.ratio * 100).toFixed(1)}%`} |`)].join("\n"));
  console.log(`largest move: ${(comparison.largestRateMove * 100).toFixed(1)}% of a rate, ${(comparison.largestRatioMove * 100).toFixed(1)}% of a ratio`);
}

const result = {
  generatedBy: "scripts/bench-http.ts (npm run bench:http)",
  generatedAt: new Date().toISOString(),
  machine: {
    logicalCores: cores,
    node: process.version,
    loadCpus,
    serverCpus,
    pinned,
    loadAverageAtStart: loadAtStart.map((x) => Number(x.toFixed(2))),
    loadAverageAtEnd: loadAtEnd.map((x) => Number(x.toFixed(2))),
  },
  method:
    `median of ${rounds} rounds (after ${warmupRounds} warm-up rounds not counted) of ${perClient * concurrency} requests per mode, the modes of a round back to back in rotating order, ` +
    `${concurrency} keep-alive clients (one channel each); prepaid: one voucher per ${prepay} requests; ratio = median of the rounds' paid/unpaid; spread = (max - min) / median; ` +
    `halves = |median of odd rounds - median of even rounds| / median; CPU = the server processes' user + system time per request`,
  stores: {
    sqlite: "SQLite (WAL fdatasynced after each group commit, off the event loop), one file shared by every server process",
    ...(storeKinds.includes("postgres") ? { postgres: "PostgreSQL (synchronous_commit on, local socket, throwaway cluster unless TRICKLE_PG_URL), one database shared by every server process" } : {}),
  },
  prepay,
  rows,
  paidToUnpaidRatio: one?.paid?.ratio?.median,
  prepaidToUnpaidRatio: one?.prepaid?.ratio?.median,
  target: { paidToUnpaidRatio: TARGET_RATIO },
  ...(comparison === undefined ? {} : { comparedWith: comparison }),
};
// Only a full run (every mode and store, no profiler) replaces the recorded figures.
const fullRun = MODES.length === 3 && args.profile === undefined && args.stores === "sqlite,postgres" && args.servers === "1,2,4";
if (fullRun) {
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/http.json", `${JSON.stringify(result, null, 2)}\n`);
  console.log("wrote bench/results/http.json");
} else {
  console.log("a partial run (--servers, --modes, --stores or --profile): bench/results/http.json and README.md left as they are");
}

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
  const verdict = (ratio: number | undefined) => `${ratio ?? "?"} of unpaid (target >= ${TARGET_RATIO}: ${met(ratio) === "met" ? "met" : "**not met**"})`;
  const note =
    `Paid HTTP on one process (SQLite): with a voucher per request ${verdict(one?.paid?.ratio?.median)}; with prepaid credit ${verdict(one?.prepaid?.ratio?.median)}. ` +
    `${cores} logical cores; load generator on cpu ${loadCpus}, servers on cpu ${serverCpus}; load average ${loadAtStart[0].toFixed(2)} at the start, ${loadAtEnd[0].toFixed(2)} at the end; ` +
    `fdatasync of 4 KiB ${Math.min(...rows.flatMap((r) => r.fsyncMicros))} to ${Math.max(...rows.flatMap((r) => r.fsyncMicros))} µs (medians, per configuration); ` +
    `the odd and even rounds' medians differ by at most ${(worstHalves * 100).toFixed(1)}%` +
    (comparison === undefined
      ? ""
      : `; against an earlier run (${comparison.generatedAt}, --compare), the medians moved by at most ${(comparison.largestRateMove * 100).toFixed(1)}% (rates) and ${(comparison.largestRatioMove * 100).toFixed(1)}% (ratios)`) +
    `; ${result.method}; ± is half the spread.`;
  writeFileSync("README.md", `${readme.slice(0, from + begin.length)}\n${table.join("\n")}\n\n${note}\n${readme.slice(to)}`);
  console.log("updated the HTTP table of README.md");
}
if (fullRun) rewriteReadme();
rmSync(dir, { recursive: true, force: true });
await connection.close();
