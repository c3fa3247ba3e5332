// One watchtower at a time, and a new one when it dies: three payee processes run a watchtower on one
// PostgreSQL store under a leader lease. Exactly one leads; it is SIGKILLed; the payer then asks to
// close, and a standby takes the lease over and closes with the best voucher long before the deadline.
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseEther } from "viem";
import { ChannelStatus } from "../../src/channel.ts";
import { PostgresLeaderLease, PostgresStore } from "../../src/store/postgres.ts";
import { describeWithPostgres, freshSchema, postgresUrl, sql } from "../store/postgres-server.ts";
import { channelId, deploy } from "./fixture.ts";
import { HARDHAT_KEYS, startHardhatNode, type HardhatNode } from "./hardhat-node.ts";

const CHILD = fileURLToPath(new URL("./fixtures/tower-child.ts", import.meta.url));

interface Tower {
  child: ChildProcess;
  lines: string[];
}

function startTower(args: string[]): Tower {
  const child = spawn(process.execPath, ["--experimental-transform-types", "--no-warnings", CHILD, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const tower: Tower = { child, lines: [] };
  let buffered = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    tower.lines.push(...lines);
  });
  child.stderr!.on("data", (chunk: Buffer) => process.stderr.write(chunk));
  return tower;
}

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const last = (tower: Tower, prefix: string[]) => [...tower.lines].reverse().find((line) => prefix.includes(line));

describeWithPostgres("Watchtower failover on a shared PostgreSQL store", function () {
  this.timeout(90_000);
  let node: HardhatNode;
  const towers: Tower[] = [];

  before(async () => {
    node = await startHardhatNode();
  });
  after(async () => {
    for (const tower of towers) if (tower.child.exitCode === null) tower.child.kill("SIGKILL");
    await node?.stop();
  });

  it("only the leader acts; after it is SIGKILLed a standby takes over and closes before the deadline", async () => {
    const d = await deploy(node);
    const payer = d.party(1);
    const payee = d.party(2);
    const url = await postgresUrl();
    const schema = freshSchema("failover");
    const store = await PostgresStore.open(url, { schema });
    const view = store.forDeployment({ chainId: 31337n, contract: d.contract });

    // A paid channel: the config and best voucher in the shared store, as Payee.accept leaves them.
    const config = d.config(payer, payee, 3600n, 1);
    const id = channelId(config);
    await payer.chain.open(config, parseEther("1"));
    await view.saveChannel(config);
    await view.saveVoucherIfHigher(await d.sign(payer.key, id, parseEther("0.4")));

    const args = [node.url, d.contract, HARDHAT_KEYS[2], url, schema];
    for (let i = 0; i < 3; i++) towers.push(startTower(args));
    // Every process reports its first pass; exactly one leads.
    await until("every tower's first pass", () => (towers.every((t) => last(t, ["leading", "standby"]) !== undefined) ? true : undefined));
    const leaders = () => towers.filter((t) => t.child.exitCode === null && t.child.signalCode === null && last(t, ["leading", "standby"]) === "leading");
    expect(leaders()).to.have.length(1);
    const [leader] = leaders();

    leader.child.kill("SIGKILL");
    await new Promise((resolve) => leader.child.once("exit", resolve));
    const killedAt = Date.now();
    await payer.chain.requestClose(config);
    const closer = await until("a standby to take over and close", () => towers.find((t) => t !== leader && t.lines.includes(`closed ${id}`)));
    const takeoverMs = Date.now() - killedAt;

    const state = await d.party(0).chain.readChannel(id);
    expect(state.status).to.equal(ChannelStatus.Finished);
    expect(state.claimed).to.equal(parseEther("0.4"));
    const block = await d.publicClient.getBlock();
    expect(block.timestamp < state.closesAt || state.closesAt === 0n).to.equal(true);
    // One closer among the survivors, and one leader again.
    expect(last(closer, ["leading", "standby"])).to.equal("leading");
    expect(towers.filter((t) => t !== leader && t.lines.includes(`closed ${id}`))).to.have.length(1);
    expect(leaders()).to.have.length(1);
    console.log(`      the standby closed ${takeoverMs} ms after the leader was killed`);

    // The lease itself: held by the one leader, free for another once it is released.
    for (const tower of towers) tower.child.kill("SIGKILL");
    await Promise.all(towers.map((t) => (t.child.exitCode === null && t.child.signalCode === null ? new Promise((r) => t.child.once("exit", r)) : undefined)));
    const name = `watchtower:31337:${d.contract.toLowerCase()}:${payee.address.toLowerCase()}`;
    const first = new PostgresLeaderLease(url, name);
    const second = new PostgresLeaderLease(url, name);
    expect(await first.acquire()).to.equal(true);
    expect(await second.acquire()).to.equal(false);
    expect(await first.acquire()).to.equal(true);
    await first.release();
    expect(await second.acquire()).to.equal(true);
    await second.release();
    // A leader whose session the server ends (a PostgreSQL restart, a network cut) has lost the lease:
    // a standby takes it, and the old leader, reconnected, stands by.
    const cut = new PostgresLeaderLease({ connectionString: url, application_name: "cut-leader" }, name);
    const other = new PostgresLeaderLease(url, name);
    expect(await cut.acquire()).to.equal(true);
    expect(await other.acquire()).to.equal(false);
    await sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'cut-leader'");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await other.acquire()).to.equal(true);
    expect(await cut.acquire()).to.equal(false);
    expect(await other.acquire()).to.equal(true);
    await other.release();
    await cut.release();
    await store.close();
  });
});
