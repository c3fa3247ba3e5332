// Crash safety of purchases: a payee process selling a stream of purchases (concurrent twins and retries
// mixed in) is SIGKILLed at random points; after every kill the store is reopened on the same file and
// every acknowledged purchase must have exactly the receipt it was acknowledged with, no purchase id may be
// charged twice, and the receipts plus the channel's credit must equal the stored voucher.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { channelId, type ChannelConfig, type Hex } from "../../src/channel.ts";
import { PostgresCommerceStore } from "../../src/commerce/store-postgres.ts";
import { SqliteCommerceStore } from "../../src/commerce/store-sqlite.ts";
import type { CommerceStore } from "../../src/commerce/store.ts";
import { describeWithPostgres, freshSchema, postgresUrl } from "../store/postgres-server.ts";
import { seededRandom } from "../store/fixtures/crash-child.ts";
import { CRASH_PRICE } from "./fixtures/crash-child.ts";
import { DEPLOYMENT, PAYEE, USDC } from "./fixture.ts";

const CHILD = fileURLToPath(new URL("./fixtures/crash-child.ts", import.meta.url));
const deep = process.env.TRICKLE_DEEP === "1";
const KILLS = deep ? 300 : 20;
const PG_KILLS = deep ? 300 : 10;

interface Ack {
  purchaseId: string;
  signature: Hex;
  replayed: boolean;
}

function runChild(args: string[], kill: { afterAcks?: number; afterMs?: number }): Promise<{ acks: Ack[]; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--experimental-transform-types", "--no-warnings", CHILD, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    const acks: Ack[] = [];
    let buffered = "";
    let stderr = "";
    let killed = false;
    const killNow = () => {
      if (!killed && child.exitCode === null) killed = child.kill("SIGKILL");
    };
    const timer = kill.afterMs === undefined ? undefined : setTimeout(killNow, kill.afterMs);
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        const [purchaseId, signature, replayed] = line.split(" ");
        if (line === "ready" || line === "end" || signature === "refused") continue;
        acks.push({ purchaseId: purchaseId!, signature: signature as Hex, replayed: replayed === "1" });
      }
      if (kill.afterAcks !== undefined && acks.length >= kill.afterAcks) killNow();
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (signal === "SIGKILL" || code === 0) resolve({ acks, killed: signal === "SIGKILL" });
      else reject(new Error(`the child failed (code ${code}, signal ${signal}): ${stderr}`));
    });
  });
}

type Where = { path: string } | { postgres: { url: string; schema: string } };

/**
 * A payee process sells a stream of purchases (concurrent twins and retries mixed in) and is SIGKILLed at
 * random points, `kills` times; after each kill the store is reopened and every acknowledged purchase must
 * have exactly the receipt it was acknowledged with, no purchase id may be charged twice, and the receipts
 * plus the channel's credit must equal the stored voucher.
 */
async function sellThroughKills(kills: number, where: Where, planPath: string, open: () => Promise<CommerceStore>, intact: () => boolean): Promise<void> {
  const seed = Number(process.env.TRICKLE_SEED ?? Date.now() % 2 ** 31);
  const random = seededRandom(seed);
  const context = `seed ${seed} (rerun with TRICKLE_SEED=${seed})`;
  const sessionKey = generatePrivateKey();
  const config: ChannelConfig = {
    payer: privateKeyToAccount(generatePrivateKey()).address,
    payee: PAYEE,
    token: USDC.address,
    signer: privateKeyToAccount(sessionKey).address,
    closeDelay: 86_400n,
    salt: `0x${"00".repeat(31)}01`,
  };
  const id = channelId(config);
  const count = kills * 40 + 500;
  writeFileSync(planPath, JSON.stringify({ ...where, config: { ...config, closeDelay: config.closeDelay.toString() }, sessionKey, count }));

  const acknowledged = new Map<string, Hex>();
  let killed = 0;
  let acks = 0;
  let replays = 0;
  for (let run = 0; run < kills; run++) {
    const store = await open();
    const best = (await store.bestVoucher(id))?.amount ?? 0n;
    await store.close();
    const start = Number(best / CRASH_PRICE);
    const kill = random() < 0.25 ? { afterMs: Math.floor(random() * 400) } : { afterAcks: 1 + Math.floor(random() * 25) };
    const outcome = await runChild([planPath, String(start), String(Math.floor(random() * 2 ** 31))], kill);
    if (outcome.killed) killed++;
    for (const ack of outcome.acks) {
      acks++;
      const earlier = acknowledged.get(ack.purchaseId);
      // A purchase acknowledged twice (a twin, a retry, a retry after a crash) has one receipt.
      if (earlier !== undefined) expect(ack.signature, `${context}: ${ack.purchaseId}`).to.equal(earlier);
      else acknowledged.set(ack.purchaseId, ack.signature);
      if (ack.replayed) replays++;
    }

    expect(intact(), `${context}: the store's integrity`).to.equal(true);
    const after = await open();
    const receipts = await after.receiptsOf(config.payer);
    const stored = (await after.bestVoucher(id))?.amount ?? 0n;
    const credit = await after.credit(id);
    await after.close();
    const byKey = new Map(receipts.map((r) => [r.key, r.signature]));
    expect(byKey.size, context).to.equal(receipts.length);
    for (const [purchaseId, signature] of acknowledged) expect(byKey.get(purchaseId), `${context}: ${purchaseId} lost`).to.equal(signature);
    expect(receipts.reduce((t, r) => t + r.price, 0n) + credit, context).to.equal(stored);
  }
  expect(killed, context).to.be.greaterThan(kills * 0.8);
  expect(acks).to.be.greaterThan(kills);
  console.log(`      ${killed} kills, ${acknowledged.size} purchases acknowledged (${replays} answers were replays) (${context})`);
}

/**
 * Two payee processes sell the same purchase ids (one voucher each, in the same order) on one store at
 * once: each id is charged once, every answer for it carries the same receipt, and receipts plus the
 * channel's credit equal its best voucher.
 */
async function sellFromTwoProcesses(where: Where, planPath: string, open: () => Promise<CommerceStore>, salt: string): Promise<void> {
  const sessionKey = generatePrivateKey();
  const config: ChannelConfig = {
    payer: privateKeyToAccount(generatePrivateKey()).address,
    payee: PAYEE,
    token: USDC.address,
    signer: privateKeyToAccount(sessionKey).address,
    closeDelay: 86_400n,
    salt: `0x${"00".repeat(31)}${salt}`,
  };
  const count = 300;
  writeFileSync(planPath, JSON.stringify({ ...where, config: { ...config, closeDelay: config.closeDelay.toString() }, sessionKey, count }));
  const [a, b] = await Promise.all([runChild([planPath, "0", "1"], {}), runChild([planPath, "0", "2"], {})]);
  const signatures = new Map<string, Hex>();
  for (const ack of [...a.acks, ...b.acks]) {
    const earlier = signatures.get(ack.purchaseId);
    if (earlier !== undefined) expect(ack.signature, ack.purchaseId).to.equal(earlier);
    signatures.set(ack.purchaseId, ack.signature);
  }
  const store = await open();
  const receipts = await store.receiptsOf(config.payer);
  const best = (await store.bestVoucher(channelId(config)))!.amount;
  const credit = await store.credit(channelId(config));
  await store.close();
  expect(new Set(receipts.map((r) => r.key)).size).to.equal(receipts.length);
  for (const [purchaseId, signature] of signatures) expect(receipts.find((r) => r.key === purchaseId)?.signature, purchaseId).to.equal(signature);
  expect(receipts.reduce((t, r) => t + r.price, 0n) + credit).to.equal(best);
  // Both processes answered some purchases the other one made: the uniqueness held across them.
  const replayedA = a.acks.filter((x) => x.replayed).length;
  const replayedB = b.acks.filter((x) => x.replayed).length;
  expect(replayedA + replayedB).to.be.greaterThan(0);
  console.log(`      ${receipts.length} purchases charged once across two processes (${a.acks.length} + ${b.acks.length} answers, ${replayedA + replayedB} replays)`);
}

describe("commerce crash safety (SQLite)", function () {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "trickle-commerce-crash-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`every acknowledged purchase keeps its receipt and nothing is charged twice through ${KILLS} SIGKILLs`, async function () {
    this.timeout(deep ? 1_800_000 : 180_000);
    const path = join(dir, "payee.sqlite");
    await sellThroughKills(KILLS, { path }, join(dir, "plan.json"), async () => SqliteCommerceStore.open(path).forDeployment(DEPLOYMENT), () => {
      const db = new DatabaseSync(path, { readOnly: true });
      const { integrity_check } = db.prepare("PRAGMA integrity_check").get() as { integrity_check: string };
      db.close();
      return integrity_check === "ok";
    });
  });

  it("two payee processes selling the same purchase ids at once charge each id once, with one receipt", async function () {
    this.timeout(120_000);
    const path = join(dir, "shared.sqlite");
    await SqliteCommerceStore.open(path).forDeployment(DEPLOYMENT).close(); // the schema exists before both start
    await sellFromTwoProcesses({ path }, join(dir, "shared-plan.json"), async () => SqliteCommerceStore.open(path).forDeployment(DEPLOYMENT), "02");
  });
});

describeWithPostgres("commerce on one PostgreSQL database from several processes", function () {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "trickle-commerce-pg-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`every acknowledged purchase keeps its receipt and nothing is charged twice through ${PG_KILLS} SIGKILLs`, async function () {
    this.timeout(deep ? 1_800_000 : 180_000);
    const postgres = { url: await postgresUrl(), schema: freshSchema("commerce_crash") };
    await (await PostgresCommerceStore.open(postgres.url, { schema: postgres.schema })).close();
    const open = async () => (await PostgresCommerceStore.open(postgres.url, { schema: postgres.schema, create: false })).forDeployment(DEPLOYMENT);
    // The server checks its own pages; what can break here is the sales against the vouchers, checked after each kill.
    await sellThroughKills(PG_KILLS, { postgres }, join(dir, "crash-plan.json"), open, () => true);
  });

  it("two payee processes selling the same purchase ids at once charge each id once, with one receipt", async function () {
    this.timeout(120_000);
    const postgres = { url: await postgresUrl(), schema: freshSchema("commerce_mp") };
    // The children open with create: false, as a deployed server would: the schema is made once, first.
    await (await PostgresCommerceStore.open(postgres.url, { schema: postgres.schema })).close();
    const open = async () => (await PostgresCommerceStore.open(postgres.url, { schema: postgres.schema, create: false })).forDeployment(DEPLOYMENT);
    await sellFromTwoProcesses({ postgres }, join(dir, "plan.json"), open, "03");
  });
});
