// Commerce over HTTP: the JSON API with the payer's httpCounter (Buyer and Subscriber over real sockets),
// routes gated by tier, routes sold per request, a failed handler not charged, restore with proof.
import { expect } from "chai";
import fc from "fast-check";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Buyer } from "../../src/commerce/buyer.ts";
import { httpCounter } from "../../src/commerce/client.ts";
import { commerceApi, PURCHASE_HEADER, RECEIPT_HEADER, withPurchase, withTier, encodePurchaseHeader } from "../../src/commerce/http.ts";
import { MemoryCommerceStore } from "../../src/commerce/store-memory.ts";
import type { CommerceStore } from "../../src/commerce/store.ts";
import { Subscriber } from "../../src/commerce/subscriber.ts";
import { encodeReceiptHeader, voucherToJson } from "../../src/commerce/wire.ts";
import { signReceipt } from "../../src/commerce/receipt.ts";
import { DAY, DEPLOYMENT, DOMAIN, openChannel, PAYEE, shop, type Shop, voucherSource } from "./fixture.ts";

async function listen(handler: RequestListener): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe("commerce over HTTP", function () {
  this.timeout(60_000);
  let store: CommerceStore;
  let s: Shop;
  let server: Server;
  let url: string;
  let failNext = false;

  beforeEach(async () => {
    store = new MemoryCommerceStore().forDeployment(DEPLOYMENT);
    s = shop(store);
    const silent = { onError: () => {} };
    const routes: RequestListener = (request, response) => {
      if (request.url === "/pro") return withTier(s.seller, "pro", (_q, r, e) => void r.end(`pro for ${e.payer}`), silent)(request, response);
      if (request.url === "/basic") return withTier(s.seller, "basic", (_q, r) => void r.end("basic"), silent)(request, response);
      if (request.url === "/coins")
        return withPurchase(
          s.seller,
          (_q, r, sale) => {
            if (failNext) {
              failNext = false;
              throw new Error("the coin service is down");
            }
            r.end(`100 coins, ${sale.replayed ? "again" : "new"}`);
          },
          silent,
        )(request, response);
      response.writeHead(404).end();
    };
    ({ server, url } = await listen(commerceApi(s.seller, silent, routes)));
  });
  afterEach(async () => {
    await new Promise((resolve) => server.close(resolve));
    await store.close();
  });

  it("a Buyer buys over HTTP; a lost answer is retried with the same voucher and charged once", async function () {
    const p = openChannel(s.chain, 10_000_000n);
    const source = voucherSource(p, s.chain);
    let dropped = 0;
    const lossyFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (dropped === 0) {
        dropped++;
        await response.arrayBuffer();
        throw new TypeError("fetch failed"); // the sale went through; its answer did not
      }
      return response;
    };
    const buyer = new Buyer({ payer: source, config: p.config, channelId: p.channelId, counter: httpCounter(`${url}/commerce`, { fetch: lossyFetch }), receiptSigner: PAYEE, domain: DOMAIN, maxPrice: 5_000_000n });
    const receipt = await buyer.buy("coins-100", 990_000n, "order-1");
    expect(receipt).to.include({ item: "coins-100", price: 990_000n });
    expect(dropped).to.equal(1);
    expect(source.signed).to.equal(990_000n);
    expect((await store.receiptsOf(p.address)).map((r) => r.key)).to.deep.equal(["order-1"]);
    const refused = await buyer.buy("nothing", 1n, "order-2").catch((e: { code: string }) => e.code);
    expect(refused).to.equal("UNKNOWN_ITEM");
  });

  it("gates routes by tier: no receipt or an expired period is refused, a forged receipt too, an entitled payer is served", async function () {
    const p = openChannel(s.chain, 10_000_000n);
    const sub = new Subscriber({ payer: voucherSource(p, s.chain), chain: s.chain, config: p.config, channelId: p.channelId, counter: httpCounter(`${url}/commerce`), limits: { plans: ["pro-daily", "basic-daily"], maxPerPeriod: 1_000_000n, until: s.clock.now + 30n * DAY }, receiptSigner: PAYEE, domain: DOMAIN, now: () => s.clock.now });
    expect((await fetch(`${url}/basic`)).status).to.equal(402);
    const receipt = await sub.subscribe("basic-daily");
    const headers = { [RECEIPT_HEADER]: encodeReceiptHeader(receipt) };
    expect(await (await fetch(`${url}/basic`, { headers })).text()).to.equal("basic");
    const pro = await fetch(`${url}/pro`, { headers });
    expect(pro.status).to.equal(402);
    expect(((await pro.json()) as { error: string }).error).to.equal("NOT_ENTITLED");
    // A receipt signed by anyone else, claiming pro: refused before the store is asked.
    const forged = signReceipt(DOMAIN, { ...receipt, item: "pro-daily" }, "0x0123456789012345678901234567890123456789012345678901234567890123");
    expect((await fetch(`${url}/pro`, { headers: { [RECEIPT_HEADER]: encodeReceiptHeader(forged) } })).status).to.equal(400);
    expect((await fetch(`${url}/pro`, { headers: { [RECEIPT_HEADER]: "!!" } })).status).to.equal(400);
    s.clock.now += DAY;
    expect((await fetch(`${url}/basic`, { headers })).status).to.equal(402);
  });

  it("a request whose handler fails is not charged: its charge is voided and credited to the next one", async function () {
    const p = openChannel(s.chain, 10_000_000n);
    const buy = (amount: bigint, purchaseId: string) =>
      fetch(`${url}/coins`, { headers: { [PURCHASE_HEADER]: encodePurchaseHeader({ voucher: p.sign(amount), config: p.config, item: "coins-100", purchaseId }) } });
    failNext = true;
    const failed = await buy(990_000n, "a");
    expect(failed.status).to.equal(500);
    expect(await failed.json()).to.deep.include({ error: "HANDLER_FAILED", credit: "990000" });
    expect(await store.receiptsOf(p.address)).to.deep.equal([]);
    const served = await buy(990_001n, "b"); // one more unit: the credit pays the rest
    expect(served.status).to.equal(200);
    expect(await served.text()).to.equal("100 coins, new");
    expect(served.headers.get(RECEIPT_HEADER)).to.be.a("string");
    const retry = await buy(990_001n, "b");
    expect(await retry.text()).to.equal("100 coins, again");
    expect((await store.receiptsOf(p.address)).map((r) => r.key)).to.deep.equal(["b"]);
    expect(await store.credit(p.channelId)).to.equal(1n);
    // A retry of a sale that was delivered, whose handler now fails: the earlier delivery stands, still charged.
    failNext = true;
    expect((await buy(990_001n, "b")).status).to.equal(500);
    expect((await store.receiptsOf(p.address)).map((r) => r.key)).to.deep.equal(["b"]);
    expect((await fetch(`${url}/coins`)).status).to.equal(400);
  });

  it("restores purchases for a caller holding the channel's latest voucher, and nobody else", async function () {
    const p = openChannel(s.chain, 10_000_000n);
    await s.seller.purchase({ voucher: p.sign(990_000n), config: p.config, item: "coins-100", purchaseId: "x" });
    const restore = (voucher: unknown) => fetch(`${url}/commerce/restore`, { method: "POST", body: JSON.stringify({ voucher }) });
    const ok = await restore(voucherToJson(p.sign(990_000n)));
    expect(((await ok.json()) as { receipts: { key: string }[] }).receipts.map((r) => r.key)).to.deep.equal(["x"]);
    expect((await restore(voucherToJson(p.sign(1n)))).status).to.equal(402);
    expect((await restore({ channelId: 1 })).status).to.equal(400);
  });

  it("property: over HTTP, an entitled payer is never refused and an unpaid one never served", async function () {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.record({ wait: fc.bigInt({ min: 1n, max: 2n * DAY }) }), fc.record({ renew: fc.constantFrom("basic-daily", "pro-daily") })), { maxLength: 12 }),
        async (ops) => {
          const p = openChannel(s.chain, 3_000_000n);
          const sub = new Subscriber({ payer: voucherSource(p, s.chain), chain: s.chain, config: p.config, channelId: p.channelId, counter: s.seller, limits: { plans: ["pro-daily", "basic-daily"], maxPerPeriod: 1_000_000n, until: s.clock.now + 30n * DAY }, receiptSigner: PAYEE, domain: DOMAIN, now: () => s.clock.now });
          let receipt = await sub.subscribe("basic-daily");
          for (const op of ops) {
            if ("wait" in op) s.clock.now += op.wait;
            else receipt = (await (sub.plan === op.renew ? sub.renewIfDue() : sub.changePlan(op.renew)).catch(() => undefined)) ?? receipt;
            const paid = (await store.receiptsOf(p.address)).filter((r) => r.validFrom <= s.clock.now && s.clock.now < r.validUntil).at(-1);
            const expectTier = paid === undefined ? undefined : paid.item === "pro-daily" ? "pro" : "basic";
            const headers = { [RECEIPT_HEADER]: encodeReceiptHeader(receipt) };
            const [basic, pro] = await Promise.all([fetch(`${url}/basic`, { headers }), fetch(`${url}/pro`, { headers })]);
            await Promise.all([basic.arrayBuffer(), pro.arrayBuffer()]);
            expect(basic.status).to.equal(expectTier === undefined ? 402 : 200);
            expect(pro.status).to.equal(expectTier === "pro" ? 200 : 402);
          }
        },
      ),
      { numRuns: 15 },
    );
  });
});
