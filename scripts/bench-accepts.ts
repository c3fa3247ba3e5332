// Durable `Payee.accept`s per second: the full accept path (shape, cached channel state, policy, native
// signature recovery, group commit) on one core, many channels accepting at once, on each store: SQLite
// (WAL, fdatasynced after each group commit) and PostgreSQL (synchronous_commit on; TRICKLE_PG_URL, or a throwaway local
// server started and stopped by this script). The channels are opened on an in-process chain and each has
// one accepted voucher before the clock starts, so their state is cached as it is in a running payee; the
// payee's periodic event pull still runs during the measurement. Prints a table, writes
// bench/results/accepts.json, merges the SQLite figure into bench/results/vouchers.json, and rewrites the
// README block between the bench:accepts markers.
//
// Run: npm run bench:accepts   (TRICKLE_BENCH_ACCEPTS=20000 TRICKLE_BENCH_CHANNELS=200 to size it)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre, { network } from "hardhat";
import { ETH, channelId, type Address, type ChannelConfig, type Hex } from "../src/channel.ts";
import { viemChain } from "../src/chain/viem.ts";
import { addressOfPrivateKey } from "../src/payer.ts";
import { Payee } from "../src/payee.ts";
import { SqliteStore } from "../src/store/sqlite.ts";
import { PostgresStore } from "../src/store/postgres.ts";
import { postgresBin, startPostgresCluster, type PostgresCluster } from "./lib/postgres-cluster.ts";
import { signVoucher, voucherCryptoBackend, VoucherVerifier, type Voucher } from "../src/voucher.ts";
import { buildContracts } from "./lib/build-contracts.ts";

export type AcceptsStore = "sqlite" | "postgres";

export interface DurableAcceptsResult {
  store: AcceptsStore;
  durableAcceptsPerSecond: number;
  accepts: number;
  channels: number;
  /** Accepts in flight at once: one per channel, each channel's vouchers in order. */
  concurrency: number;
  commits: number;
  seconds: number;
  backend: string;
  /** `VoucherVerifier.verify` alone on the same vouchers in the same run: the share of an accept that is signature recovery. */
  verifyOnlyPerSecond: number;
}

export async function measureDurableAccepts(
  options: { accepts?: number; channels?: number; store?: AcceptsStore; postgresUrl?: string } = {},
): Promise<DurableAcceptsResult> {
  const kind = options.store ?? "sqlite";
  const channelCount = options.channels ?? 200;
  const perChannel = Math.ceil((options.accepts ?? 20_000) / channelCount);
  await buildContracts(hre);
  const { viem } = await network.create();
  const publicClient = await viem.getPublicClient();
  const [deployer, payer, payeeWallet] = await viem.getWalletClients();
  const deployed = await viem.deployContract("PaymentChannels");
  const contract = deployed.address as Address;
  const payerChain = viemChain({ publicClient, walletClient: payer, contract });
  const payeeChain = viemChain({ publicClient, walletClient: payeeWallet, contract });
  void deployer;

  const sessionKey = `0x${"11".repeat(32)}` as Hex;
  const signer = addressOfPrivateKey(sessionKey);
  const configs: ChannelConfig[] = [];
  for (let i = 0; i < channelCount; i++) {
    const config: ChannelConfig = {
      payer: payer.account.address,
      payee: payeeWallet.account.address,
      token: ETH,
      signer,
      closeDelay: 86_400n,
      salt: `0x${(i + 1).toString(16).padStart(64, "0")}`,
    };
    await payerChain.open(config, 10n ** 15n);
    configs.push(config);
  }
  const domain = { chainId: await payeeChain.chainId(), verifyingContract: contract };
  // Signed before the clock starts: this measures the payee, not the payer.
  const vouchers: Voucher[][] = configs.map((config) => {
    const id = channelId(config);
    return Array.from({ length: perChannel + 1 }, (_, k) => signVoucher(domain, id, BigInt(k + 1) * 1000n, sessionKey));
  });

  const dir = mkdtempSync(join(tmpdir(), "trickle-bench-accepts-"));
  const store =
    kind === "sqlite"
      ? SqliteStore.open(join(dir, "payee.sqlite"))
      : await PostgresStore.open(options.postgresUrl ?? "", { schema: `bench_${process.pid}_${Date.now().toString(36)}` });
  try {
    const payee = new Payee({ chain: payeeChain, store, payee: payeeWallet.account.address });
    // Warm-up: the first voucher of every channel loads and caches its config and state.
    await Promise.all(configs.map((config, i) => payee.accept(vouchers[i][0], config)));
    const commitsBefore = store.commits;
    const started = process.hrtime.bigint();
    let accepted = 0;
    await Promise.all(
      vouchers.map(async (channelVouchers) => {
        for (let k = 1; k < channelVouchers.length; k++) {
          await payee.accept(channelVouchers[k]);
          accepted++;
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;

    const verifier = new VoucherVerifier(domain);
    const verifyStarted = process.hrtime.bigint();
    for (const channelVouchers of vouchers) for (const voucher of channelVouchers) verifier.verify(voucher, signer);
    const verifySeconds = Number(process.hrtime.bigint() - verifyStarted) / 1e9;
    return {
      store: kind,
      durableAcceptsPerSecond: Math.round(accepted / seconds),
      accepts: accepted,
      channels: channelCount,
      concurrency: channelCount,
      commits: store.commits - commitsBefore,
      seconds: Number(seconds.toFixed(3)),
      backend: voucherCryptoBackend,
      verifyOnlyPerSecond: Math.round((vouchers.length * vouchers[0].length) / verifySeconds),
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Sets `key` in bench/results/vouchers.json, keeping every other key there. */
export function mergeVoucherResults(entries: Record<string, unknown>): void {
  const dir = new URL("../bench/results/", import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL("vouchers.json", dir);
  let current: Record<string, unknown> = {};
  try {
    current = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch {
    // no results yet
  }
  writeFileSync(file, `${JSON.stringify({ ...current, ...entries }, null, 2)}\n`);
}

const TARGET = 5000;

/** Replaces the README block between the bench:accepts markers with this run's table. */
async function writeReadme(results: DurableAcceptsResult[]): Promise<void> {
  const begin = "<!-- bench:accepts:begin (written by npm run bench:accepts) -->";
  const end = "<!-- bench:accepts:end -->";
  const readme = await readFile("README.md", "utf8");
  const from = readme.indexOf(begin);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) {
    console.log("README.md has no bench:accepts markers: left as it is");
    return;
  }
  const names: Record<AcceptsStore, string> = { sqlite: "SQLite (WAL, fdatasync per commit)", postgres: "PostgreSQL (synchronous_commit on, local socket)" };
  const lines = [
    "| store | durable accepts per second | accepts per commit | DESIGN.md target | |",
    "|---|---:|---:|---:|---|",
    ...results.map(
      (r) =>
        `| ${names[r.store]} | ${r.durableAcceptsPerSecond.toLocaleString("en-US")} | ${(r.accepts / r.commits).toFixed(1)} | >= ${TARGET.toLocaleString("en-US")} | ${r.durableAcceptsPerSecond >= TARGET ? "meets" : "misses"} |`,
    ),
  ];
  await writeFile("README.md", `${readme.slice(0, from + begin.length)}\n${lines.join("\n")}\n${readme.slice(to)}`);
  console.log("updated the accepts table of README.md");
}

const runDirectly = process.argv.some((arg) => arg.endsWith("bench-accepts.ts"));
if (runDirectly) {
  const sizing = { accepts: Number(process.env.TRICKLE_BENCH_ACCEPTS ?? 20_000), channels: Number(process.env.TRICKLE_BENCH_CHANNELS ?? 200) };
  const results: DurableAcceptsResult[] = [await measureDurableAccepts({ ...sizing, store: "sqlite" })];
  let cluster: PostgresCluster | undefined;
  let postgresUrl = process.env.TRICKLE_PG_URL;
  if (postgresUrl === undefined && postgresBin() !== undefined) {
    cluster = startPostgresCluster();
    postgresUrl = cluster.url;
  }
  try {
    if (postgresUrl === undefined) console.log("PostgreSQL not measured: not installed (apt-get install -y postgresql) and TRICKLE_PG_URL not set");
    else results.push(await measureDurableAccepts({ ...sizing, store: "postgres", postgresUrl }));
  } finally {
    cluster?.stop();
  }
  console.table(results.map((r) => ({ ...r, target: TARGET, met: r.durableAcceptsPerSecond >= TARGET })));
  const sqlite = results[0];
  mergeVoucherResults({ durableAcceptsPerSecond: sqlite.durableAcceptsPerSecond, durableAccepts: sqlite });
  const dir = new URL("../bench/results/", import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL("accepts.json", dir), `${JSON.stringify({ target: TARGET, results }, null, 2)}\n`);
  console.log("wrote bench/results/accepts.json");
  if (results.length === 2) await writeReadme(results);
}
