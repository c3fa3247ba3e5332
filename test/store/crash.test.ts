// Crash safety of the SQLite and PostgreSQL stores, end to end: a child process saves a stream of real
// vouchers and is killed with SIGKILL at random points; after every kill the store is reopened (the same
// file, the same database) and must hold every voucher whose save had returned. Finally the best stored
// voucher is claimed on-chain.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { network } from "hardhat";
import { channelId as computeChannelId } from "../../src/channel.ts";
import type { ChannelConfig, Hex } from "../../src/channel.ts";
import { signVoucher } from "../../src/voucher.ts";
import { openCrashStore, seededRandom, type CrashStore } from "./fixtures/crash-child.ts";
import { describeWithPostgres, freshSchema, postgresUrl } from "./postgres-server.ts";

const CHILD = fileURLToPath(new URL("./fixtures/crash-child.ts", import.meta.url));
const deep = process.env.TRICKLE_DEEP === "1";
const SQLITE_KILLS = deep ? 1000 : 50;
const POSTGRES_KILLS = deep ? 1000 : 50;

interface Ack {
  index: number;
  stored: boolean;
  previousAmount: bigint;
}

interface RunOutcome {
  acks: Ack[];
  killed: boolean;
}

/** Runs the child once; kills it after `killAfterAcks` acknowledgements, or after `killAfterMs`. */
function runChild(args: string[], kill: { afterAcks?: number; afterMs?: number }): Promise<RunOutcome> {
  return new Promise((resolve, reject) => {
    // --experimental-transform-types: src/channel.ts declares a TS enum, which plain type stripping refuses.
    const child = spawn(process.execPath, ["--experimental-transform-types", "--no-warnings", CHILD, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
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
        if (line === "ready" || line === "end") continue;
        const [index, stored, previousAmount] = line.split(" ");
        acks.push({ index: Number(index), stored: stored === "1", previousAmount: BigInt(previousAmount) });
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

describe("store/SqliteStore crash safety", () => {
  crashSuite(SQLITE_KILLS, async (dir) => ({ kind: "sqlite", path: join(dir, "payee.db") }));
});

describeWithPostgres("store/PostgresStore crash safety", () => {
  crashSuite(POSTGRES_KILLS, async () => ({ kind: "postgres", url: await postgresUrl(), schema: freshSchema("crash") }));
});

function crashSuite(KILLS: number, target: (dir: string) => Promise<CrashStore>): void {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "trickle-crash-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`keeps every acknowledged voucher through ${KILLS} SIGKILLs, and the best one claims on-chain`, async function () {
    this.timeout(deep ? 1_800_000 : 120_000);
    const seed = Number(process.env.TRICKLE_SEED ?? Date.now() % 2 ** 31);
    const random = seededRandom(seed);
    const context = `seed ${seed} (rerun with TRICKLE_SEED=${seed})`;

    // A real ETH channel whose signer is a plain ethers Wallet.
    const { ethers } = await network.create();
    const [payer, payee] = await ethers.getSigners();
    const channels = await ethers.deployContract("PaymentChannels");
    const contract = (await channels.getAddress()) as Hex;
    const wallet = ethers.Wallet.createRandom();
    const signerKey = wallet.privateKey as Hex;
    const config: ChannelConfig = {
      payer: payer.address as Hex,
      payee: payee.address as Hex,
      token: ethers.ZeroAddress as Hex,
      signer: wallet.address as Hex,
      closeDelay: 3600n,
      salt: ethers.ZeroHash as Hex,
    };
    const deposit = 10n ** 18n;
    await (await channels.connect(payer).getFunction("open")(config, deposit, { value: deposit })).wait();
    const id = computeChannelId(config);
    expect(await channels.getFunction("channelId")(config)).to.equal(id);

    // The stream: strictly increasing cumulative amounts, each signed by the channel's signer (EIP-712).
    // Long enough that no run reaches its end: a child killed on a timer may store a few hundred
    // vouchers first, and a child that runs out of stream exits without being killed.
    const { chainId } = await ethers.provider.getNetwork();
    const domain = { chainId, verifyingContract: contract };
    const count = KILLS * 64 + 2048;
    const vouchers: { channelId: Hex; amount: bigint; signature: Hex }[] = [];
    for (let i = 0; i < count; i++) {
      const amount = BigInt(i + 1) * 10n ** 12n + BigInt(i);
      vouchers.push(signVoucher(domain, id, amount, signerKey));
    }
    const where = await target(dir);
    const planPath = join(dir, "plan.json");
    writeFileSync(planPath, JSON.stringify({ store: where, chainId: chainId.toString(), contract, vouchers: vouchers.map((v) => ({ ...v, amount: v.amount.toString() })) }));
    const indexOfAmount = new Map(vouchers.map((v, i) => [v.amount, i]));

    let bestIndex = -1;
    let maxAcknowledged = 0n;
    let lastStoredAck = 0n;
    let kills = 0;
    let acknowledged = 0;
    for (let run = 0; run < KILLS; run++) {
      const start = Math.max(0, bestIndex + 1 - Math.floor(random() * 6));
      // Mostly kill after some acknowledgements (mid-stream, often mid-commit); sometimes at a random
      // time from spawn, which also lands in start-up, opening and recovery.
      const kill = random() < 0.25 ? { afterMs: Math.floor(random() * 120) } : { afterAcks: 1 + Math.floor(random() * 30) };
      const { acks, killed } = await runChild([planPath, String(start), String(Math.floor(random() * 2 ** 31))], kill);
      if (killed) kills++;
      acknowledged += acks.length;

      // The restart: open the store on the same file, as the payee process would.
      const store = (await openCrashStore(where)).forDeployment({ chainId, contract });
      const best = await store.bestVoucher(id);
      await store.close();
      if (where.kind === "sqlite") {
        const db = new DatabaseSync(where.path, { readOnly: true });
        const integrity = db.prepare("PRAGMA integrity_check").get() as { integrity_check: string };
        db.close();
        expect(integrity.integrity_check, context).to.equal("ok");
      }

      for (const ack of acks) {
        const amount = vouchers[ack.index].amount;
        if (amount > maxAcknowledged) maxAcknowledged = amount;
        if (ack.previousAmount > maxAcknowledged) maxAcknowledged = ack.previousAmount;
        if (ack.stored) {
          // Stored amounts strictly increase across the whole history, restarts included.
          expect(amount > lastStoredAck && ack.previousAmount < amount, `${context}: stored ${amount} after ${lastStoredAck}`).to.equal(true);
          lastStoredAck = amount;
        } else {
          expect(ack.previousAmount >= amount, context).to.equal(true);
        }
      }
      if (maxAcknowledged === 0n) continue;
      expect(best, `${context}: nothing stored after acknowledgements`).to.not.equal(undefined);
      expect(best!.amount >= maxAcknowledged, `${context}: best ${best!.amount} below acknowledged ${maxAcknowledged}`).to.equal(true);
      // The stored row is exactly one voucher of the stream, never a mix of two.
      bestIndex = indexOfAmount.get(best!.amount) ?? -2;
      expect(bestIndex, context).to.be.at.least(0);
      expect(best).to.deep.equal({ ...vouchers[bestIndex], signature: vouchers[bestIndex].signature.toLowerCase() });
    }
    expect(kills, `most runs end with a SIGKILL (the stream reached voucher ${bestIndex} of ${count})`).to.be.greaterThan(
      KILLS * 0.9,
    );
    expect(acknowledged).to.be.greaterThan(KILLS);

    // The best stored voucher is a real one: the payee claims it and receives exactly its amount.
    const store = (await openCrashStore(where)).forDeployment({ chainId, contract });
    const best = (await store.bestVoucher(id))!;
    await store.close();
    const balanceBefore = await ethers.provider.getBalance(payee.address);
    const receipt = await (await channels.connect(payee).getFunction("claim")(config, best.amount, best.signature)).wait();
    const balanceAfter = await ethers.provider.getBalance(payee.address);
    expect(balanceAfter - balanceBefore + receipt!.fee).to.equal(best.amount);
    expect((await channels.getFunction("channels")(id)).claimed).to.equal(best.amount);
    console.log(`      ${kills} kills, ${acknowledged} acknowledged saves, voucher ${bestIndex} of ${count} stored, best ${best.amount} wei claimed (${context})`);
  });
}
