// Durable voucher saves per second of the SQLite store (WAL, one fdatasync per group commit), at
// several concurrency levels, plus one run that recovers each voucher's signer with native secp256k1
// first (the payee's CPU work per accept, without its caches), for the ">= 5,000 durable accepts/s"
// target. Every save resolves only after its commit is on disk.
//
// Run: node --experimental-transform-types scripts/bench-store.ts [saves=10000] [channels=100]
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hex } from "../src/channel.ts";
import { MemoryStore } from "../src/store/memory.ts";
import { SqliteStore } from "../src/store/sqlite.ts";
import type { StoreBackend, StoredVoucher } from "../src/store/store.ts";

interface Secp256k1 {
  ecdsaSign(message: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number };
  ecdsaRecover(signature: Uint8Array, recid: number, message: Uint8Array, compressed?: boolean): Uint8Array;
}
const secp256k1 = createRequire(import.meta.url)("secp256k1") as Secp256k1;

const saves = Number(process.argv[2] ?? 10_000);
const channelCount = Number(process.argv[3] ?? 100);
const dir = mkdtempSync(join(tmpdir(), "trickle-bench-store-"));

interface Job {
  voucher: StoredVoucher;
  digest: Uint8Array;
  compact: Uint8Array;
  recid: number;
}

// Each channel's amounts increase with the job index, so (nearly) every save is a new best.
function makeJobs(): Job[] {
  const privateKey = new Uint8Array(32).fill(7);
  const jobs: Job[] = [];
  for (let i = 0; i < saves; i++) {
    const digest = new Uint8Array(32);
    new DataView(digest.buffer).setUint32(0, i + 1);
    const { signature, recid } = secp256k1.ecdsaSign(digest, privateKey);
    const channelId = `0x${(i % channelCount).toString(16).padStart(64, "0")}` as Hex;
    const wire = `0x${Buffer.from(signature).toString("hex")}${(27 + recid).toString(16)}` as Hex;
    jobs.push({ voucher: { channelId, amount: BigInt(i + 1) * 1000n, signature: wire }, digest, compact: signature, recid });
  }
  return jobs;
}

interface Row {
  store: string;
  "in flight": number | string;
  "verify first": string;
  "saves/s": number;
  commits: number;
  "saves/commit": number;
  "p50 ms": number;
  "p99 ms": number;
}

async function measure(name: string, backend: StoreBackend & { commits: number }, jobs: Job[], inFlight: number, verify: boolean): Promise<Row> {
  const store = backend.forDeployment({ chainId: 31337n, contract: `0x${"44".repeat(20)}` });
  const latencies: number[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++;
      const job = jobs[index];
      const started = performance.now();
      if (verify) secp256k1.ecdsaRecover(job.compact, job.recid, job.digest, false);
      await store.saveVoucherIfHigher(job.voucher);
      latencies[index] = performance.now() - started;
    }
  };
  const commitsBefore = backend.commits;
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(inFlight, jobs.length) }, worker));
  const seconds = (performance.now() - started) / 1000;
  const commits = backend.commits - commitsBefore;
  latencies.sort((a, b) => a - b);
  return {
    store: name,
    "in flight": inFlight >= jobs.length ? `all ${jobs.length}` : inFlight,
    "verify first": verify ? "secp256k1 recover" : "no",
    "saves/s": Math.round(jobs.length / seconds),
    commits,
    "saves/commit": Math.round((jobs.length / commits) * 10) / 10,
    "p50 ms": Math.round(latencies[Math.floor(latencies.length / 2)] * 100) / 100,
    "p99 ms": Math.round(latencies[Math.floor(latencies.length * 0.99)] * 100) / 100,
  };
}

const jobs = makeJobs();
const rows: Row[] = [];
let file = 0;
for (const [inFlight, verify] of [
  [1, false],
  [10, false],
  [100, false],
  [1000, false],
  [saves, false],
  [100, true],
  [1000, true],
] as [number, boolean][]) {
  // The sequential case commits once per save; a fraction of the jobs is enough to measure it.
  const sample = inFlight === 1 ? jobs.slice(0, Math.min(jobs.length, 2000)) : jobs;
  const store = SqliteStore.open(join(dir, `bench-${file++}.db`));
  rows.push(await measure("sqlite", store, sample, inFlight, verify));
  await store.close();
}
const memory = new MemoryStore();
rows.push(await measure("memory", memory, jobs, 100, false));
await memory.close();
rmSync(dir, { recursive: true, force: true });

console.log(`Durable voucher saves: ${saves} saves over ${channelCount} channels, node ${process.version}`);
console.table(rows);
const target = rows.find((r) => r.store === "sqlite" && r["verify first"] !== "no" && r["in flight"] === 100)!;
console.log(`durable accepts/s with signer recovery, 100 in flight: ${target["saves/s"]} (target >= 5,000)`);
