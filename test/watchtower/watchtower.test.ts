import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createWalletClient, http, parseEther, toFunctionSelector } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { ChannelStatus, type Hex } from "../../src/channel.ts";
import type { ChainWriter } from "../../src/chain/adapter.ts";
import { feeBumpingSender } from "../../src/chain/fee-bumping.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { Watchtower, type WatchOptions, type WatchtowerAction, type WatchtowerAlert } from "../../src/watchtower.ts";
import { channelId, deploy, type Deployment, type Party } from "./fixture.ts";
import { startHardhatNode, type HardhatNode } from "./hardhat-node.ts";

const ETHER = parseEther("1");

describe("Watchtower against a hardhat node", function () {
  this.timeout(60_000);
  let node: HardhatNode;
  let d: Deployment;
  let payer: Party;
  let payee: Party;
  let dir: string;
  let salt = 0;

  before(async () => {
    node = await startHardhatNode();
    d = await deploy(node);
    payer = d.party(1);
    payee = d.party(2);
    dir = await mkdtemp(path.join(tmpdir(), "trickle-watchtower-"));
  });
  after(async () => {
    await node?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  // Every watchtower a test starts is stopped after it, even when an assertion failed first: a polling
  // timer left behind would keep the test process alive.
  const towers: Watchtower[] = [];
  afterEach(async () => {
    await Promise.all(towers.splice(0).map((watchtower) => watchtower.stop()));
  });

  /**
   * A watchtower over a store file; `alerts` and `actions` collect what it reported. It polls only once a
   * minute, so the passes that run are the ones a test asks for with `tick()` and each assertion sees the
   * pass it started (a test of polling itself sets `pollIntervalMs`).
   */
  function tower(storePath: string, options: WatchOptions = {}, chain: ChainWriter = payee.chain) {
    const store = SqliteStore.open(storePath).forDeployment({ chainId: 31337n, contract: d.contract });
    const alerts: WatchtowerAlert[] = [];
    const actions: WatchtowerAction[] = [];
    const lines: string[] = [];
    const watchtower = new Watchtower(
      { chain, store, payee: payee.address },
      {
        confirmations: 0n,
        pollIntervalMs: 60_000,
        retry: { attempts: 3, baseDelayMs: 10 },
        onAlert: (alert) => alerts.push(alert),
        onAction: (action) => actions.push(action),
        log: (line) => lines.push(line),
        ...options,
      },
    );
    towers.push(watchtower);
    return { store, watchtower, alerts, actions, lines };
  }

  async function openChannel(closeDelay: bigint, deposit: bigint) {
    const config = d.config(payer, payee, closeDelay, ++salt);
    await payer.chain.open(config, deposit);
    return { config, id: channelId(config) };
  }

  async function feeOf(hash: Hex): Promise<bigint> {
    const receipt = await d.publicClient.getTransactionReceipt({ hash });
    return receipt.gasUsed * receipt.effectiveGasPrice;
  }

  it("closes with the best voucher after a close request made while it was down, then resumes from its cursor", async () => {
    const storePath = path.join(dir, "restart.sqlite");
    const first = tower(storePath);
    await first.watchtower.start();
    const { config, id } = await openChannel(3600n, ETHER);
    // What Payee.accept leaves in the store: the config and the best voucher.
    await first.store.saveChannel(config);
    await first.store.saveVoucherIfHigher(await d.sign(payer.key, id, parseEther("0.25")));
    await first.store.saveVoucherIfHigher(await d.sign(payer.key, id, parseEther("0.3")));
    await first.watchtower.tick();
    const cursorBeforeKill = await first.watchtower.lastProcessedBlock();
    expect(cursorBeforeKill).to.equal(await d.publicClient.getBlockNumber());
    // Killed: no graceful shutdown of the store; its writes were already durable.
    await first.watchtower.stop();

    await payer.chain.requestClose(config);
    await d.advance(1800n); // halfway through the countdown
    await d.advance(60n);
    expect((await payee.chain.readChannel(id)).status).to.equal(ChannelStatus.Closing);

    const payerBefore = await d.balance(payer.address);
    const payeeBefore = await d.balance(payee.address);
    // Restarted with the fee-bumping sender, from the same store file.
    const walletClient = createWalletClient({ chain: hardhat, transport: http(node.url), account: privateKeyToAccount(payee.key) });
    const second = tower(storePath, { send: feeBumpingSender({ publicClient: d.publicClient, walletClient, confirmTimeoutMs: 5_000, pollIntervalMs: 50 }) });
    const report = await second.watchtower.start();
    await second.watchtower.stop();

    expect(report.fromBlock).to.equal(cursorBeforeKill! + 1n);
    expect(report.closed).to.deep.equal([id]);
    const state = await payee.chain.readChannel(id);
    expect(state.status).to.equal(ChannelStatus.Finished);
    expect(state.claimed).to.equal(parseEther("0.3"));
    const closed = second.actions.find((a) => a.type === "closed");
    expect(closed).to.not.equal(undefined);
    const fee = await feeOf(closed!.type === "closed" ? closed!.tx.hash : "0x");
    expect(await d.balance(payee.address)).to.equal(payeeBefore + parseEther("0.3") - fee);
    expect(await d.balance(payer.address)).to.equal(payerBefore + parseEther("0.7"));
    expect(second.alerts).to.deep.equal([]);
    // The cursor covers every block up to the one before the close itself.
    expect(await second.watchtower.lastProcessedBlock()).to.equal((closed as { tx: { blockNumber: bigint } }).tx.blockNumber - 1n);
    await second.store.close();
  });

  it("while polling, closes as soon as the payer asks, and a restarted watcher does not close twice", async () => {
    const storePath = path.join(dir, "polling.sqlite");
    const running = tower(storePath, { pollIntervalMs: 50 });
    const { config, id } = await openChannel(3600n, ETHER);
    await running.store.saveChannel(config);
    await running.store.saveVoucherIfHigher(await d.sign(payer.key, id, parseEther("0.4")));
    await running.watchtower.start();
    const payerBefore = await d.balance(payer.address);
    const request = await payer.chain.requestClose(config);
    const requestFee = await feeOf(request.hash);
    const deadline = Date.now() + 10_000;
    while (!running.actions.some((a) => a.type === "closed") && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await running.watchtower.stop();
    expect((await payee.chain.readChannel(id)).claimed).to.equal(parseEther("0.4"));
    expect(await d.balance(payer.address)).to.equal(payerBefore - requestFee + parseEther("0.6"));
    await running.store.close();

    const again = tower(storePath);
    const report = await again.watchtower.start();
    await again.watchtower.stop();
    expect(report.closed).to.deep.equal([]);
    expect(again.alerts).to.deep.equal([]);
    await again.store.close();
  });

  it("leaves a channel with nothing stored to the payer, who withdraws the whole deposit after the delay", async () => {
    const storePath = path.join(dir, "idle.sqlite");
    const idle = tower(storePath);
    await idle.watchtower.start();
    const { config, id } = await openChannel(600n, parseEther("0.5"));
    await payer.chain.requestClose(config);
    await idle.watchtower.tick();
    expect(idle.actions).to.deep.include({ type: "skipped", channelId: id, reason: "nothing-to-claim" });
    expect((await payee.chain.readChannel(id)).status).to.equal(ChannelStatus.Closing);

    await d.advance(600n);
    const payerBefore = await d.balance(payer.address);
    const withdraw = await payer.chain.withdraw(config);
    expect(await d.balance(payer.address)).to.equal(payerBefore + parseEther("0.5") - (await feeOf(withdraw.hash)));
    await idle.watchtower.tick();
    await idle.watchtower.stop();
    expect(idle.alerts).to.deep.equal([]);
    expect(await idle.store.getMeta(`watchtower:${d.contract.toLowerCase()}:${payee.address.toLowerCase()}:closing`)).to.equal("[]");
    await idle.store.close();
  });

  it("claims once the unclaimed value reaches the threshold, and not before", async () => {
    const claims = tower(path.join(dir, "claims.sqlite"), { claimThreshold: parseEther("0.1") });
    await claims.watchtower.start();
    const { config, id } = await openChannel(3600n, ETHER);
    await claims.store.saveChannel(config);
    await claims.store.saveVoucherIfHigher(await d.sign(payer.key, id, parseEther("0.05")));
    expect((await claims.watchtower.tick()).claimed).to.deep.equal([]);
    await claims.store.saveVoucherIfHigher(await d.sign(payer.key, id, parseEther("0.12")));
    expect((await claims.watchtower.tick()).claimed).to.deep.equal([id]);
    expect((await payee.chain.readChannel(id)).claimed).to.equal(parseEther("0.12"));
    expect((await claims.watchtower.tick()).claimed).to.deep.equal([]);
    await claims.watchtower.stop();
    await claims.store.close();
  });

  it("claims every due channel of a token in one claimMany, also through the send option", async () => {
    const walletClient = createWalletClient({ chain: hardhat, transport: http(node.url), account: privateKeyToAccount(payee.key) });
    const send = feeBumpingSender({ publicClient: d.publicClient, walletClient, confirmTimeoutMs: 5_000, pollIntervalMs: 50 });
    const batch = tower(path.join(dir, "batch.sqlite"), { claimThreshold: parseEther("0.1"), send });
    await batch.watchtower.start();
    const opened = [await openChannel(3600n, ETHER), await openChannel(3600n, ETHER), await openChannel(3600n, ETHER)];
    for (const [i, { config, id }] of opened.entries()) {
      await batch.store.saveChannel(config);
      await batch.store.saveVoucherIfHigher(await d.sign(payer.key, id, parseEther("0.2") + BigInt(i)));
    }
    const report = await batch.watchtower.tick();
    expect([...report.claimed].sort()).to.deep.equal(opened.map((c) => c.id).sort());
    const claimed = batch.actions.filter((a) => a.type === "claimed");
    expect(claimed).to.have.length(1);
    const sent = await d.publicClient.getTransaction({ hash: claimed[0].type === "claimed" ? claimed[0].tx.hash : "0x" });
    // Every signer is an EOA: the compact form, claimManyCompact(address,(address,address,uint64,bytes32,uint256,bytes32,bytes32)[]).
    const selector = toFunctionSelector("claimManyCompact(address,(address,address,uint64,bytes32,uint256,bytes32,bytes32)[])");
    expect(sent.input.slice(0, 10)).to.equal(selector);
    for (const [i, { id }] of opened.entries()) {
      expect((await payee.chain.readChannel(id)).claimed).to.equal(parseEther("0.2") + BigInt(i));
    }
    expect(batch.alerts).to.deep.equal([]);
    await batch.watchtower.stop();
    await batch.store.close();
  });

  it("reports a missed deadline as critical, and a late close request as a warning while still closing it", async () => {
    const start = await d.publicClient.getBlockNumber();
    const missed = await openChannel(300n, ETHER);
    const late = await openChannel(300n, ETHER);
    const watch = tower(path.join(dir, "late.sqlite"), { fromBlock: start + 1n, closeMargin: 600n });
    for (const { config, id } of [missed, late]) {
      await watch.store.saveChannel(config);
      await watch.store.saveVoucherIfHigher(await d.sign(payer.key, id, parseEther("0.2")));
      await payer.chain.requestClose(config);
    }
    // The first deadline passes while nobody watches; the second channel is asked to close just before.
    await d.advance(301n);
    await node.rpc("evm_setNextBlockTimestamp", [Number((await payee.chain.blockTimestamp()) + 1n)]);
    const report = await watch.watchtower.start();
    await watch.watchtower.stop();
    const codes = watch.alerts.map((a) => [a.code, a.severity, a.channelId]);
    expect(codes).to.deep.include(["DEADLINE_MISSED", "critical", missed.id]);
    expect(watch.lines.some((line) => line.includes("CRITICAL DEADLINE_MISSED"))).to.equal(true);
    expect(report.closed).to.deep.equal([]);
    await watch.store.close();

    // A fresh request, 300 s delay against a 600 s margin: closed, with a CLOSE_LATE warning.
    const fresh = await openChannel(300n, ETHER);
    const watch2 = tower(path.join(dir, "late2.sqlite"), { closeMargin: 600n });
    await watch2.watchtower.start();
    await watch2.store.saveChannel(fresh.config);
    await watch2.store.saveVoucherIfHigher(await d.sign(payer.key, fresh.id, parseEther("0.2")));
    await payer.chain.requestClose(fresh.config);
    const report2 = await watch2.watchtower.tick();
    await watch2.watchtower.stop();
    expect(report2.closed).to.deep.equal([fresh.id]);
    expect(watch2.alerts.map((a) => [a.code, a.severity])).to.deep.equal([["CLOSE_LATE", "warning"]]);
    await watch2.store.close();
  });

  it("acts on a close request only once it is `confirmations` blocks deep", async () => {
    const deep = tower(path.join(dir, "confirmations.sqlite"), { confirmations: 2n });
    await deep.watchtower.start();
    const { config, id } = await openChannel(3600n, ETHER);
    await deep.store.saveChannel(config);
    await deep.store.saveVoucherIfHigher(await d.sign(payer.key, id, parseEther("0.1")));
    const request = await payer.chain.requestClose(config);
    const shallow = await deep.watchtower.tick();
    expect(shallow.toBlock).to.equal(request.blockNumber - 2n);
    expect(shallow.closed).to.deep.equal([]);
    await node.rpc("evm_mine");
    expect((await deep.watchtower.tick()).closed).to.deep.equal([]);
    await node.rpc("evm_mine");
    expect((await deep.watchtower.tick()).closed).to.deep.equal([id]);
    await deep.watchtower.stop();
    await deep.store.close();
  });

  it("retries RPC failures with backoff, and reports an outage that outlasts the retries", async () => {
    let failures = 0;
    const flaky = new Proxy(payee.chain, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property !== "blockNumber") return value;
        return async () => {
          if (failures > 0) {
            failures--;
            throw new Error("ECONNRESET");
          }
          return target.blockNumber();
        };
      },
    });
    const watch = tower(path.join(dir, "flaky.sqlite"), {}, flaky);
    failures = 2; // within the 3 attempts
    await watch.watchtower.start();
    expect(watch.alerts).to.deep.equal([]);
    failures = 3; // one more than the attempts
    await watch.watchtower.tick();
    expect(watch.alerts.map((a) => a.code)).to.deep.equal(["RPC_UNAVAILABLE"]);
    await d.advance(1n);
    const report = await watch.watchtower.tick();
    expect(report.toBlock).to.equal(await d.publicClient.getBlockNumber());
    await watch.watchtower.stop();
    await watch.store.close();
  });
});
