// The README's "Operating Trickle from Hardhat" session, run as an operator would: every step is a
// `hardhat trickle:* --network localhost` child process against a `hardhat node` child process.
import { expect } from "chai";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createPublicClient, http, parseEther, type Hex } from "viem";
import { hardhat } from "viem/chains";
import { HARDHAT_KEYS, startHardhatNode, type HardhatNode } from "../watchtower/hardhat-node.ts";
import { runTask, startTask, type TaskRun } from "./cli.ts";

const PAYER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"; // the node's account #1
const PAYEE = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"; // the node's account #2

describe("trickle:* tasks against a hardhat node (the README session)", function () {
  this.timeout(120_000);
  let node: HardhatNode;
  let dataDir: string;
  let channelA: Hex;

  before(async () => {
    node = await startHardhatNode();
    dataDir = await mkdtemp(path.join(tmpdir(), "trickle-session-"));
  });
  after(async () => {
    await node?.stop();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });

  const client = () => createPublicClient({ chain: hardhat, transport: http(node.url), cacheTime: 0 });
  const balance = (address: Hex) => client().getBalance({ address });
  const feeOf = async (hash: Hex) => {
    const receipt = await client().getTransactionReceipt({ hash });
    return receipt.gasUsed * receipt.effectiveGasPrice;
  };
  const advance = async (seconds: number) => {
    await node.rpc("evm_increaseTime", [seconds]);
    await node.rpc("evm_mine");
  };

  async function trickle(args: string[], env: Record<string, string> = {}): Promise<TaskRun> {
    const run = await runTask(node.url, [...args, "--data-dir", dataDir], env);
    if (run.code !== 0) throw new Error(`${args.join(" ")} exited ${run.code}:\n${run.stdout}${run.stderr}`);
    return run;
  }

  async function pay(channel: Hex, amount: string): Promise<string> {
    const { stdout } = await trickle(["trickle:pay", "--channel", channel, "--amount", amount]);
    return stdout.trim();
  }

  it("deploys, opens, pays, accepts, claims, and closes through the watchtower across a kill during the countdown", async () => {
    const deploy = await trickle(["trickle:deploy"]);
    expect(deploy.stdout).to.match(/contract\s+0x[0-9a-fA-F]{40}/);

    const open = await trickle(["trickle:open", "--amount", "1"]);
    channelA = open.stdout.match(/Opened channel (0x[0-9a-f]{64})/)![1] as Hex;
    expect(open.stdout).to.match(/deposit\s+1 ETH/);

    const first = await pay(channelA, "0.05");
    expect(first).to.match(/^[A-Za-z0-9_-]+$/); // the wire encoding, alone on stdout
    // A payee task starts no store unless told: without --create, a data dir with no payee store is refused.
    const refused = await runTask(node.url, ["trickle:accept", "--voucher", first, "--data-dir", dataDir]);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/^Error STORE_NOT_FOUND: no payee store at .*payee\.sqlite: check --data-dir, or pass --create/);
    const accepted = await trickle(["trickle:accept", "--voucher", first, "--create"]);
    expect(accepted.stdout).to.contain("Created a new payee store at");
    expect(accepted.stdout).to.contain("Accepted 0.05 ETH in total (+0.05 ETH)");
    expect((await trickle(["trickle:claim", "--channel", channelA])).stdout).to.contain("Claimed 0.05 ETH");
    expect((await trickle(["trickle:accept", "--voucher", await pay(channelA, "0.1 ETH")])).stdout).to.contain("Accepted 0.15 ETH in total (+0.1 ETH)");

    const status = (await trickle(["trickle:status", "--channel", channelA])).stdout;
    expect(status).to.match(/status\s+open/);
    expect(status).to.match(/claimed\s+0\.05 ETH/);
    expect(status).to.match(/best voucher \(payee store\)\s+0\.15 ETH \(0\.1 ETH unclaimed\)/);

    // The watchtower runs, and is killed (no shutdown at all) before the payer asks to close.
    const killed = startTask(node.url, ["trickle:watch", "--poll-interval", "200", "--data-dir", dataDir]);
    await killed.waitFor(/caught up to block/);
    killed.child.kill("SIGKILL");
    await killed.exited;

    await trickle(["trickle:request-close", "--channel", channelA]);
    const payerAfterRequest = await balance(PAYER);
    await advance(1800); // halfway through the one-day countdown, nobody watching

    const payeeBefore = await balance(PAYEE);
    // A threshold in ETH units, above what is unclaimed: the watchtower closes but does not claim first.
    const restarted = startTask(node.url, ["trickle:watch", "--poll-interval", "200", "--claim-threshold", "0.5", "--data-dir", dataDir]);
    await restarted.waitFor(/claims from 0\.5 ETH unclaimed/);
    const closed = await restarted.waitFor(/closed channel (0x[0-9a-f]{64}) with (\d+) \(tx (0x[0-9a-f]{64})\)/);
    restarted.child.kill("SIGTERM");
    expect(await restarted.exited).to.equal(0);
    expect(closed[1]).to.equal(channelA);
    expect(BigInt(closed[2])).to.equal(parseEther("0.15"));
    expect(await balance(PAYEE)).to.equal(payeeBefore + parseEther("0.1") - (await feeOf(closed[3] as Hex)));
    expect(await balance(PAYER)).to.equal(payerAfterRequest + parseEther("0.85"));
  });

  let channelB: Hex;

  it("opens a second channel whose payer asks to close with nothing paid", async () => {
    const open = await trickle(["trickle:open", "--amount", "0.5", "--close-delay", "3600"]);
    channelB = open.stdout.match(/Opened channel (0x[0-9a-f]{64})/)![1] as Hex;
    expect((await trickle(["trickle:request-close", "--channel", channelB])).stdout).to.match(/Close requested on channel 0x[0-9a-f]{64}: .* \(3600 s\)/);
  });

  it("refuses with one typed line: wrong network, unknown channel, wrong caller, wrong state", async () => {
    const otherChain = path.join(dataDir, "other-chain");
    await mkdir(otherChain, { recursive: true });
    await writeFile(path.join(otherChain, "deployment.json"), JSON.stringify({ chainId: "1", contract: PAYEE }));
    const stranger = HARDHAT_KEYS[3];
    const cases: [string[], Record<string, string>, string][] = [
      [["trickle:status", "--channel", channelA, "--data-dir", dataDir, "--contract", "0x000000000000000000000000000000000000dEaD"], {}, "NO_CONTRACT"],
      [["trickle:status", "--channel", channelA, "--data-dir", otherChain], {}, "WRONG_CHAIN"],
      [["trickle:status", "--channel", `0x${"11".repeat(32)}`, "--data-dir", dataDir], {}, "UNKNOWN_CHANNEL"],
      [["trickle:request-close", "--channel", channelA, "--data-dir", dataDir], { TRICKLE_PAYER_KEY: stranger }, "NOT_PAYER"],
      [["trickle:claim", "--channel", channelA, "--data-dir", dataDir], { TRICKLE_PAYEE_KEY: stranger }, "WRONG_PAYEE"],
      [["trickle:close", "--channel", channelA, "--data-dir", dataDir], {}, "CHANNEL_NOT_OPEN"],
      [["trickle:withdraw", "--channel", channelB, "--data-dir", dataDir], {}, "CLOSE_DELAY_NOT_ELAPSED"],
      // Amounts in token units: never rounded, never in another token's symbol.
      [["trickle:open", "--amount", "0.0000000000000000001", "--data-dir", dataDir], {}, "AMOUNT_TOO_PRECISE"],
      [["trickle:pay", "--channel", channelB, "--amount", "0.01 USDC", "--data-dir", dataDir], {}, "UNKNOWN_TOKEN"],
      [["trickle:pay", "--channel", channelB, "--amount", "1e-3", "--data-dir", dataDir], {}, "AMOUNT_MALFORMED"],
      [["trickle:watch", "--claim-threshold", "0.5 USDC", "--once", "--data-dir", dataDir], {}, "UNKNOWN_TOKEN"],
    ];
    const runs = await Promise.all(cases.map(([args, env]) => runTask(node.url, args, env)));
    runs.forEach((run, i) => {
      const code = cases[i][2];
      expect(run.code, `${code}: ${run.stderr}`).to.equal(1);
      expect(run.stderr.trim().split("\n"), code).to.have.length(1);
      expect(run.stderr).to.match(new RegExp(`^Error ${code}: `));
    });
  });

  it("a watchtower on a mistyped data dir refuses to start; on a new empty store it warns that nothing is watched", async () => {
    const typo = path.join(dataDir, "no-such-dir");
    const refused = await runTask(node.url, ["trickle:watch", "--once", "--data-dir", typo]);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/^Error STORE_NOT_FOUND: no payee store at /);
    expect(refused.stdout).to.not.contain("caught up");
    const created = await runTask(node.url, ["trickle:watch", "--once", "--create", "--data-dir", typo]);
    expect(created.code, created.stderr).to.equal(0);
    expect(created.stdout).to.contain("Created a new payee store at");
    expect(created.stderr).to.contain("WARNING NO_OPEN_CHANNEL");
    // The session's payee still has channel B, closing: no warning there.
    const watched = await runTask(node.url, ["trickle:watch", "--once", "--data-dir", dataDir]);
    expect(watched.code, watched.stderr).to.equal(0);
    expect(watched.stderr).to.not.contain("WARNING NO_OPEN_CHANNEL");
  });

  it("pays everything back to that payer after the close delay", async () => {
    await advance(3600);
    const before = await balance(PAYER);
    const withdraw = await trickle(["trickle:withdraw", "--channel", channelB]);
    const hash = withdraw.stdout.match(/Withdrew 0\.5 ETH from channel 0x[0-9a-f]{64}; tx (0x[0-9a-f]{64})/)![1] as Hex;
    expect(await balance(PAYER)).to.equal(before + parseEther("0.5") - (await feeOf(hash)));
  });
});
