// The watchtower's relay option: the payee's watchtower signs the close and a relayer, with gas of its own,
// submits it; the payee spends no gas and the relayer takes no more than the fee it was offered.
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseEther } from "viem";
import { ChannelStatus } from "../../src/channel.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import type { RelayedSettlementRequest } from "../../src/relay.ts";
import { Watchtower, type WatchtowerAction } from "../../src/watchtower.ts";
import { channelId, deploy, type Deployment, type Party } from "./fixture.ts";
import { startHardhatNode, type HardhatNode } from "./hardhat-node.ts";

describe("Watchtower closing through a relayer", function () {
  this.timeout(60_000);
  let node: HardhatNode;
  let d: Deployment;
  let payer: Party;
  let payee: Party;
  let relayer: Party;
  let dir: string;

  before(async () => {
    node = await startHardhatNode();
    d = await deploy(node);
    payer = d.party(1);
    payee = d.party(2);
    relayer = d.party(4);
    dir = await mkdtemp(path.join(tmpdir(), "trickle-watchtower-relay-"));
  });
  after(async () => {
    await node?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("closes with the best voucher by a relayed close: the payee pays no gas, the relayer gets the capped fee", async () => {
    const config = d.config(payer, payee, 3600n, 1);
    const id = channelId(config);
    await payer.chain.open(config, parseEther("1"));
    const store = SqliteStore.open(path.join(dir, "relay.sqlite")).forDeployment({ chainId: 31337n, contract: d.contract });
    await store.saveChannel(config);
    await store.saveVoucherIfHigher(await d.sign(payer.key, id, parseEther("0.3")));
    const requests: RelayedSettlementRequest[] = [];
    const actions: WatchtowerAction[] = [];
    const fee = parseEther("0.001");
    const watchtower = new Watchtower(
      { chain: payee.chain, store, payee: payee.address },
      {
        confirmations: 0n,
        pollIntervalMs: 60_000,
        relay: {
          fee,
          submit: (request) => {
            requests.push(request);
            return relayer.chain.closeRelayed(request.config, request.amount, request.signature, request);
          },
        },
        onAction: (action) => actions.push(action),
        log: () => {},
      },
    );
    try {
      await watchtower.start();
      await payer.chain.requestClose(config);
      const payeeBefore = await d.balance(payee.address);
      const relayerBefore = await d.balance(relayer.address);
      const report = await watchtower.tick();
      expect(report.closed).to.deep.equal([id]);
      expect(requests).to.have.length(1);
      expect(requests[0]).to.include({ kind: "close", amount: parseEther("0.3"), fee });
      expect((await payee.chain.readChannel(id)).status).to.equal(ChannelStatus.Finished);
      // Not a wei of gas from the payee: exactly the payout less the fee arrived.
      expect(await d.balance(payee.address)).to.equal(payeeBefore + parseEther("0.3") - fee);
      const closed = actions.find((a) => a.type === "closed");
      const receipt = await d.publicClient.getTransactionReceipt({ hash: closed!.type === "closed" ? closed!.tx.hash : "0x" });
      expect(receipt.from.toLowerCase()).to.equal(relayer.address.toLowerCase());
      const gasCost = receipt.gasUsed * receipt.effectiveGasPrice;
      // The fee is credited to the relayer, which takes its fees of many closes in one withdrawal.
      expect(await d.balance(relayer.address)).to.equal(relayerBefore - gasCost);
      expect(await relayer.chain.readCredit("0x0000000000000000000000000000000000000000")).to.equal(fee);
    } finally {
      await watchtower.stop();
      await store.close();
    }
  });
});
