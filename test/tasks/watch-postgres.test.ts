// `trickle:watch` on a shared PostgreSQL payee store, run as an operator would: the payee tasks find the
// store through TRICKLE_PAYEE_STORE_URL, refuse a database without one unless given --create, and two
// watchtower processes share it under the leader lease. One leads, one stands by; the leader is
// SIGKILLed, the payer asks to close, and the standby takes the lease and closes with the best voucher.
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createPublicClient, http, parseEther, type Hex } from "viem";
import { hardhat } from "viem/chains";
import { PAYMENT_CHANNELS_ABI } from "../../src/chain/abi.ts";
import { ChannelStatus } from "../../src/channel.ts";
import { describeWithPostgres, freshSchema, postgresUrl, sql } from "../store/postgres-server.ts";
import { startHardhatNode, type HardhatNode } from "../watchtower/hardhat-node.ts";
import { runTask, startTask, type BackgroundTask, type TaskRun } from "./cli.ts";

describeWithPostgres("trickle:watch on a PostgreSQL payee store, two processes under the leader lease", function () {
  this.timeout(180_000);
  let node: HardhatNode;
  let dataDir: string;
  const towers: BackgroundTask[] = [];

  before(async () => {
    node = await startHardhatNode();
    dataDir = await mkdtemp(path.join(tmpdir(), "trickle-watch-pg-"));
  });
  after(async () => {
    for (const tower of towers) if (tower.child.exitCode === null && tower.child.signalCode === null) tower.child.kill("SIGKILL");
    await Promise.all(towers.map((t) => t.exited));
    await node?.stop();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });

  it("refuses a database without a payee store unless --create; the standby closes after the leader is SIGKILLed", async () => {
    const url = await postgresUrl();
    const schema = freshSchema("cli");
    const env = { TRICKLE_PAYEE_STORE_URL: url };
    const store = ["--store-schema", schema];
    async function trickle(args: string[]): Promise<TaskRun> {
      const run = await runTask(node.url, [...args, "--data-dir", dataDir], env);
      if (run.code !== 0) throw new Error(`${args.join(" ")} exited ${run.code}:\n${run.stdout}${run.stderr}`);
      return run;
    }

    await trickle(["trickle:deploy"]);
    const open = await trickle(["trickle:open", "--amount", "1"]);
    const channel = open.stdout.match(/Opened channel (0x[0-9a-f]{64})/)![1] as Hex;
    const voucher = (await trickle(["trickle:pay", "--channel", channel, "--amount", "0.3"])).stdout.trim();

    // No store in that schema: refused, and nothing is created in the database.
    const refused = await runTask(node.url, ["trickle:accept", "--voucher", voucher, ...store, "--data-dir", dataDir], env);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(new RegExp(`^Error STORE_NOT_FOUND: no payee store in PostgreSQL .*schema "${schema}": check TRICKLE_PAYEE_STORE_URL and --store-schema, or pass --create`));
    expect(await sql("SELECT 1 FROM information_schema.schemata WHERE schema_name = $1", [schema])).to.deep.equal([]);
    const watchRefused = await runTask(node.url, ["trickle:watch", "--once", ...store, "--data-dir", dataDir], env);
    expect(watchRefused.code).to.equal(1);
    expect(watchRefused.stderr).to.match(/^Error STORE_NOT_FOUND: /);
    // Not a PostgreSQL URL: refused before anything is opened, the password not printed.
    const notPostgres = await runTask(node.url, ["trickle:watch", "--once", "--data-dir", dataDir], { TRICKLE_PAYEE_STORE_URL: "mysql://u:s3cret@host/db" });
    expect(notPostgres.code).to.equal(1);
    expect(notPostgres.stderr).to.match(/^Error INVALID_ARGUMENT: TRICKLE_PAYEE_STORE_URL must be a postgresql:\/\/ URL/);
    expect(notPostgres.stderr + notPostgres.stdout).to.not.contain("s3cret");
    const accepted = await trickle(["trickle:accept", "--voucher", voucher, "--create", ...store]);
    expect(accepted.stdout).to.contain(`Created a new payee store in PostgreSQL`);
    expect(accepted.stdout).to.contain("Accepted 0.3 ETH in total (+0.3 ETH)");
    // The voucher is in the database, not in the data dir.
    expect(await sql(`SELECT amount::text FROM ${schema}.payee_vouchers WHERE channel_id = $1`, [channel])).to.deep.equal([{ amount: parseEther("0.3").toString() }]);
    expect((await trickle(["trickle:status", "--channel", channel, ...store])).stdout).to.match(/best voucher \(payee store\)\s+0\.3 ETH \(0\.3 ETH unclaimed\)/);

    for (let i = 0; i < 2; i++) towers.push(startTask(node.url, ["trickle:watch", "--poll-interval", "200", ...store, "--data-dir", dataDir], env));
    const role = /\[trickle watchtower\] (leading|standing by)/;
    await Promise.all(towers.map((t) => t.waitFor(role, 60_000)));
    const roles = towers.map((t) => t.output().match(role)![1]);
    expect([...roles].sort()).to.deep.equal(["leading", "standing by"]);
    const leader = towers[roles.indexOf("leading")]!;
    const standby = towers[roles.indexOf("standing by")]!;
    await leader.waitFor(/caught up to block/);
    expect(leader.output()).to.contain(`payee store PostgreSQL`);
    expect(standby.output()).to.not.contain("caught up to block");

    leader.child.kill("SIGKILL");
    await leader.exited;
    await trickle(["trickle:request-close", "--channel", channel]);
    const closed = await standby.waitFor(/closed channel (0x[0-9a-f]{64}) with (\d+) \(tx (0x[0-9a-f]{64})\)/, 60_000);
    expect(closed[1]).to.equal(channel);
    expect(BigInt(closed[2])).to.equal(parseEther("0.3"));
    expect(standby.output()).to.match(/standing by[\s\S]*leading: this process acts for the payee[\s\S]*closed channel/);

    // Closed by the payee (a close after the deadline reverts; a withdraw would leave claimed at 0).
    const client = createPublicClient({ chain: hardhat, transport: http(node.url), cacheTime: 0 });
    const contract = (await sql<{ contract: string }>(`SELECT DISTINCT contract FROM ${schema}.payee_vouchers`))[0]!.contract as Hex;
    const [, claimed, , status] = await client.readContract({ address: contract, abi: PAYMENT_CHANNELS_ABI, functionName: "channels", args: [channel] });
    expect(status).to.equal(ChannelStatus.Finished);
    expect(claimed).to.equal(parseEther("0.3"));

    standby.child.kill("SIGTERM");
    expect(await standby.exited).to.equal(0);
  });
});
