// Ledger export: the store's sales and vouchers and the chain's claims and closes for a date range, as CSV
// and JSON, in time order; formula-looking cells are defused.
import { expect } from "chai";
import type { Hex } from "../../src/channel.ts";
import type { ChannelEvent } from "../../src/chain/adapter.ts";
import { exportLedger, ledgerEventsFromChain, ledgerToCsv, ledgerToJson } from "../../src/commerce/ledger.ts";
import { MemoryCommerceStore } from "../../src/commerce/store-memory.ts";
import { DEPLOYMENT, MemoryChain, openChannel, shop } from "./fixture.ts";

class EventChain extends MemoryChain {
  list: ChannelEvent[] = [];
  override async events(): Promise<ChannelEvent[]> {
    return this.list;
  }
}

describe("commerce ledger export", function () {
  it("lists receipts, voided sales, their vouchers and the chain's claims and closes in a date range", async function () {
    const store = new MemoryCommerceStore().forDeployment(DEPLOYMENT);
    const chain = new EventChain();
    const s = shop(store, chain);
    const p = openChannel(chain, 10_000_000n);
    const t0 = s.clock.now;
    await s.seller.purchase({ voucher: p.sign(990_000n), config: p.config, item: "coins-100", purchaseId: "=cmd|'/C.calc'!A0" });
    s.clock.now = t0 + 10n;
    await s.seller.purchase({ voucher: p.sign(1_240_000n), config: p.config, item: "gems-10", purchaseId: "b" });
    await s.seller.refund(p.address, "b");
    s.clock.now = t0 + 100n;
    await s.seller.purchase({ voucher: p.sign(1_240_001n + 990_000n), config: p.config, item: "coins-100", purchaseId: "late" });
    const stranger = openChannel(new MemoryChain(), 1n);
    chain.list = [
      { type: "claimed", channelId: p.channelId, claimed: 1_240_000n, blockNumber: 7n, logIndex: 0 },
      { type: "claimed", channelId: stranger.channelId as Hex, claimed: 5n, blockNumber: 7n, logIndex: 1 }, // not this payee's
      { type: "closed", channelId: p.channelId, claimed: 2_230_001n, refund: 7_769_999n, blockNumber: 9n, logIndex: 0 },
    ];
    const timed = await ledgerEventsFromChain(store, chain, 0n, 10n, async (block) => t0 + block);
    expect(timed.map((e) => [e.type, e.amount])).to.deep.equal([["claim", 1_240_000n], ["close", 2_230_001n]]);

    const entries = await exportLedger({ store, from: t0, to: t0 + 50n, chain: timed, token: "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48" });
    expect(entries.map((e) => `${e.time - t0} ${e.type} ${e.amount}`)).to.deep.equal([
      "0 receipt 990000",
      "0 voucher 990000",
      "7 claim 1240000",
      "9 close 2230001",
      "10 voided 250000",
      "10 voucher 1240000",
    ]);
    const csv = ledgerToCsv(entries);
    const lines = csv.trimEnd().split("\r\n");
    expect(lines[0]).to.equal("time,type,channelId,payer,item,key,amount,token,reference");
    expect(lines).to.have.length(7);
    // The app-chosen key that looks like a formula is defused with an apostrophe.
    expect(lines[1]).to.contain(`'=cmd|'/C.calc'!A0`);
    const json = JSON.parse(ledgerToJson(entries)) as { time: string; type: string; amount: string }[];
    expect(json.map((e) => e.amount)).to.deep.equal(entries.map((e) => e.amount.toString()));
    expect(await exportLedger({ store, from: t0 + 1000n, to: t0 + 2000n })).to.deep.equal([]);
    await store.close();
  });
});
