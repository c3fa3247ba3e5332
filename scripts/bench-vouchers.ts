// Voucher throughput on one core, in one run: vouchers signed and verified per second by Trickle, by ethers
// (Wallet.signTypedData, verifyTypedData) and by viem (account.signTypedData, verifyTypedData,
// recoverTypedDataAddress). Prints a table and the ratios, and writes bench/results/vouchers.json.
//
//   npm run bench:vouchers                (plain Node: no Hardhat, no chain)
//   BENCH_ROUND_MS=300 BENCH_ROUNDS=3 npm run bench:vouchers   (a quicker, noisier run)
//
// Method: every contender runs in timed rounds of BENCH_ROUND_MS (default 600 ms) after a warm-up, the rounds
// interleaved (round 1 of each contender, then round 2 of each, ...) so that a slower moment of the machine
// hits all of them alike; a contender's figure is its median round. The process pins itself to one CPU with
// `taskset` when available, so V8's helper threads share that core too.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Wallet, verifyTypedData as ethersVerifyTypedData } from "ethers";
import { recoverTypedDataAddress, verifyTypedData as viemVerifyTypedData } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { nobleBackend } from "../src/crypto/secp256k1.ts";
import {
  VOUCHER_TYPES,
  VoucherVerifier,
  eip712Domain,
  recoverVoucherSigner,
  signVoucher,
  signVoucherWith,
  voucherCryptoBackend,
} from "../src/voucher.ts";
import type { Voucher, VoucherDomain } from "../src/voucher.ts";

type Hex = `0x${string}`;

// ------------------------------------------------------------------------------------------------ one core

const PINNED = "TRICKLE_BENCH_PINNED";
if (process.env[PINNED] === undefined && process.platform === "linux") {
  const pinned = spawnSync(
    "taskset",
    ["-c", "0", process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: "inherit", env: { ...process.env, [PINNED]: "1" } },
  );
  // No taskset (ENOENT): measure unpinned in this process, and say so in the results.
  if (pinned.error === undefined) process.exit(pinned.status ?? 1);
}
const pinnedToOneCore = process.env[PINNED] === "1";
const loadAtStart = Math.round(loadavg()[0] * 100) / 100;

// ------------------------------------------------------------------------------------------------ fixtures

const PRIVATE_KEY: Hex = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
const wallet = new Wallet(PRIVATE_KEY);
const account = privateKeyToAccount(PRIVATE_KEY);
const signer = wallet.address as Hex;
const domain: VoucherDomain = { chainId: 8453n, verifyingContract: "0x6b175474e89094c44da98b954eedeac495271d0f" };
const typedDomain = eip712Domain(domain);
const channelId: Hex = "0x9c22ff5f21f0b81b113e63f7db6da94fedef11b2119b4088b89664fb9a3cb658";
/** Cumulative amounts as a payer would sign them: one micro-payment step apart. */
const amountAt = (i: number) => 1_000_000n + BigInt(i) * 1_000n;

const POOL = 2_000;
const vouchers: Voucher[] = Array.from({ length: POOL }, (_, i) =>
  signVoucher(domain, channelId, amountAt(i), PRIVATE_KEY),
);

const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 600);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP_MS = 400;

// ------------------------------------------------------------------------------------------------ contenders

type Operation = (i: number) => unknown;

interface Contender {
  kind: "sign" | "verify";
  name: string;
  run: Operation;
  /** ethers' signTypedData and viem's calls return promises: each is awaited before the next. */
  isAsync: boolean;
  rates: number[];
}

const verifier = new VoucherVerifier(domain);
const nobleVerifier = new VoucherVerifier(domain, { backend: nobleBackend });
const message = (i: number) => ({ channelId, amount: amountAt(i % POOL) });
const typed = (i: number) => ({
  domain: typedDomain,
  types: VOUCHER_TYPES,
  primaryType: "Voucher" as const,
  message: message(i),
});

function must(condition: boolean, what: string): void {
  if (!condition) throw new Error(`benchmark sanity check failed: ${what}`);
}

const contenders: Contender[] = [
  {
    kind: "sign",
    name: "trickle",
    isAsync: false,
    rates: [],
    run: (i) => signVoucher(domain, channelId, amountAt(i), PRIVATE_KEY),
  },
  {
    kind: "sign",
    name: "ethers",
    isAsync: true,
    rates: [],
    run: (i) => wallet.signTypedData(typedDomain, VOUCHER_TYPES, message(i)),
  },
  { kind: "sign", name: "viem", isAsync: true, rates: [], run: (i) => account.signTypedData(typed(i)) },
  {
    kind: "sign",
    name: "trickle-noble",
    isAsync: false,
    rates: [],
    run: (i) => signVoucherWith(nobleBackend, domain, channelId, amountAt(i), PRIVATE_KEY),
  },
  {
    kind: "verify",
    name: "trickle",
    isAsync: false,
    rates: [],
    run: (i) => verifier.verify(vouchers[i % POOL], signer),
  },
  {
    kind: "verify",
    name: "trickle-recover",
    isAsync: false,
    rates: [],
    run: (i) => must(recoverVoucherSigner(domain, vouchers[i % POOL]) === signer, "trickle recover"),
  },
  {
    kind: "verify",
    name: "ethers",
    isAsync: false,
    rates: [],
    run: (i) =>
      must(
        ethersVerifyTypedData(typedDomain, VOUCHER_TYPES, message(i), vouchers[i % POOL].signature) === signer,
        "ethers verify",
      ),
  },
  {
    kind: "verify",
    name: "viem",
    isAsync: true,
    rates: [],
    run: async (i) =>
      must(
        await viemVerifyTypedData({ ...typed(i), address: signer, signature: vouchers[i % POOL].signature }),
        "viem verify",
      ),
  },
  {
    kind: "verify",
    name: "viem-recover",
    isAsync: true,
    rates: [],
    run: async (i) =>
      must(
        (await recoverTypedDataAddress({ ...typed(i), signature: vouchers[i % POOL].signature })) === signer,
        "viem recover",
      ),
  },
  {
    kind: "verify",
    name: "trickle-noble",
    isAsync: false,
    rates: [],
    run: (i) => nobleVerifier.verify(vouchers[i % POOL], signer),
  },
];

/** Operations per second over `ms` milliseconds of `contender`. */
async function measure(contender: Contender, ms: number): Promise<number> {
  const deadline = performance.now() + ms;
  const start = performance.now();
  let done = 0;
  // The clock is read every 16 operations: cheap next to a signature, fine-grained enough for ms rounds.
  while (performance.now() < deadline) {
    if (contender.isAsync) {
      for (let k = 0; k < 16; k++) await contender.run(done++);
    } else {
      for (let k = 0; k < 16; k++) contender.run(done++);
    }
  }
  return done / ((performance.now() - start) / 1000);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

// Sanity before timing: every implementation accepts Trickle's vouchers and signs the same bytes.
must(
  (await wallet.signTypedData(typedDomain, VOUCHER_TYPES, message(7))) === vouchers[7].signature,
  "ethers signs the same bytes",
);
must((await account.signTypedData(typed(7))) === vouchers[7].signature, "viem signs the same bytes");
for (const contender of contenders) await contender.run(3);

for (const contender of contenders) await measure(contender, WARMUP_MS);
for (let round = 0; round < ROUNDS; round++) {
  for (const contender of contenders) contender.rates.push(await measure(contender, ROUND_MS));
  process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
}

// ------------------------------------------------------------------------------------------------ report

const rate = (kind: Contender["kind"], name: string) =>
  Math.round(median(contenders.find((c) => c.kind === kind && c.name === name)!.rates));
const signPerSecond = Object.fromEntries(
  contenders.filter((c) => c.kind === "sign").map((c) => [c.name, rate("sign", c.name)]),
);
const verifyPerSecond = Object.fromEntries(
  contenders.filter((c) => c.kind === "verify").map((c) => [c.name, rate("verify", c.name)]),
);
const round2 = (x: number) => Math.round(x * 100) / 100;

console.log(
  `\nVouchers per second, one core${pinnedToOneCore ? " (taskset -c 0)" : " (not pinned: no taskset)"}, median of ${ROUNDS} rounds of ${ROUND_MS} ms; secp256k1 backend: ${voucherCryptoBackend}; load average ${loadAtStart}\n`,
);
console.log(
  `${"operation".padEnd(10)}${"implementation".padEnd(18)}${"per second".padStart(12)}${"µs each".padStart(10)}${"vs ethers".padStart(11)}`,
);
for (const contender of contenders) {
  const perSecond = rate(contender.kind, contender.name);
  const ethers = rate(contender.kind, "ethers");
  console.log(
    `${contender.kind.padEnd(10)}${contender.name.padEnd(18)}${perSecond.toLocaleString("en-US").padStart(12)}` +
      `${(1e6 / perSecond).toFixed(1).padStart(10)}${`${(perSecond / ethers).toFixed(2)}x`.padStart(11)}`,
  );
}

const results = {
  generatedBy: "scripts/bench-vouchers.ts (npm run bench:vouchers)",
  generatedAt: new Date().toISOString(),
  machine: {
    cpu: cpus()[0]?.model ?? "unknown",
    logicalCores: cpus().length,
    node: process.version,
    pinnedToOneCore,
    // Other work on the machine slows every contender; the ratios, measured side by side, move much less.
    loadAverageAtStart: loadAtStart,
  },
  method: `median of ${ROUNDS} interleaved rounds of ${ROUND_MS} ms per implementation, after ${WARMUP_MS} ms of warm-up`,
  secp256k1Backend: voucherCryptoBackend,
  signPerSecond,
  verifyPerSecond,
  signRatioVsEthers: round2(signPerSecond.trickle / signPerSecond.ethers),
  verifyRatioVsEthers: round2(verifyPerSecond.trickle / verifyPerSecond.ethers),
  signRatioVsViem: round2(signPerSecond.trickle / signPerSecond.viem),
  verifyRatioVsViem: round2(verifyPerSecond.trickle / verifyPerSecond.viem),
  targets: { signRatioVsEthers: 10, verifyRatioVsEthers: 15, durableAcceptsPerSecond: 5_000 },
  // ---------------------------------------------------------------------------------------------------------
  // PLACE FOR durableAcceptsPerSecond: durable Payee.accept calls per second on the SQLite store (group commit),
  // measured by the payee/store side of this benchmark. Until it is measured here, the key stays absent from
  // bench/results/vouchers.json: never an estimate.
  // ---------------------------------------------------------------------------------------------------------
};

console.log(
  `\nsign:   ${results.signRatioVsEthers}x ethers (target >= 10x), ${results.signRatioVsViem}x viem` +
    `\nverify: ${results.verifyRatioVsEthers}x ethers (target >= 15x), ${results.verifyRatioVsViem}x viem`,
);

const out = join(dirname(fileURLToPath(import.meta.url)), "..", "bench", "results", "vouchers.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${out}`);

// ------------------------------------------------------------------------------------------------ durable accepts
// Appended by the payee side (scripts/bench-accepts.ts): the full Payee.accept path, durable on the SQLite
// store with group commit, many channels accepting at once, their state preloaded on an in-process chain.
// Measured in this same run, on the same core, and merged into the file written above.
const { measureDurableAccepts, mergeVoucherResults } = await import("./bench-accepts.ts");
const accepts = await measureDurableAccepts();
mergeVoucherResults({ durableAcceptsPerSecond: accepts.durableAcceptsPerSecond, durableAccepts: accepts });
console.log(
  `durable accepts: ${accepts.durableAcceptsPerSecond.toLocaleString("en-US")}/s (target >= 5,000), ` +
    `${accepts.accepts.toLocaleString("en-US")} accepts on ${accepts.channels} channels in ${accepts.commits} commits; ` +
    `verify alone ${accepts.verifyOnlyPerSecond.toLocaleString("en-US")}/s`,
);
