// Metered SSE end to end in Node: a MeteredStream on node:http charging through a real Payee, read by
// readMeteredStream paying from a real Payer, on an in-process chain.
import { expect } from "chai";
import fc from "fast-check";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Address } from "../../src/channel.ts";
import { ethersChain } from "../../src/chain/ethers.ts";
import { encodePaymentPayload, TRICKLE_SCHEME } from "../../src/http/headers.ts";
import { Payee } from "../../src/payee.ts";
import { Payer } from "../../src/payer.ts";
import type { DeploymentStore } from "../../src/store/deployment.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { payStreamFrom, readMeteredStream, type StreamChannel } from "../../src/stream/client.ts";
import { MeteredStream, type MeteredStreamOptions } from "../../src/stream/sse.ts";
import { startChain, type Chain } from "../http/fixture.ts";

const UNIT_PRICE = 1_000n;

interface Site {
  url: string;
  stream: MeteredStream;
  payee: Payee;
  payeeStore: DeploymentStore;
  /** Units the source produced (asked for by the server). */
  produced: () => number;
  stop(): Promise<void>;
}

describe("stream/MeteredStream over node:http", function () {
  let chain: Chain;
  let payeeAddress: Address;
  let signers: Awaited<ReturnType<Chain["connection"]["ethers"]["getSigners"]>>;
  const sites: Site[] = [];

  before(async () => {
    chain = await startChain();
    signers = await chain.connection.ethers.getSigners();
    payeeAddress = signers[2].address as Address;
  });
  afterEach(async () => {
    for (const site of sites.splice(0)) await site.stop();
  });

  async function startSite(options: Partial<MeteredStreamOptions> = {}): Promise<Site> {
    const payeeStore = new MemoryStore().forDeployment({ chainId: chain.chainId, contract: chain.contract });
    const payee = new Payee({ chain: ethersChain({ runner: signers[2], contract: chain.contract }), store: payeeStore, payee: payeeAddress });
    let produced = 0;
    const stream = new MeteredStream({
      payee,
      chainId: chain.chainId,
      contract: chain.contract,
      payTo: payeeAddress,
      unitPrice: UNIT_PRICE,
      unitMs: 0,
      prepayUnits: 4n,
      graceMs: 300,
      unit: (index) => {
        produced++;
        return `unit ${index}`;
      },
      ...options,
    });
    const server: Server = createServer((request, response) => {
      const path = new URL(request.url ?? "/", "http://x").pathname;
      if (path === "/live" && request.method === "GET") stream.handleStream(request, response);
      else if (path === "/live/pay" && request.method === "POST") void stream.handlePayment(request, response);
      else response.writeHead(404).end();
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const site: Site = {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      stream,
      payee,
      payeeStore,
      produced: () => produced,
      async stop() {
        stream.close();
        server.closeAllConnections();
        server.close();
        await once(server, "close");
      },
    };
    sites.push(site);
    return site;
  }

  async function openChannel(payerIndex: number, deposit = 10n ** 15n): Promise<{ payer: Payer; store: MemoryStore; channel: StreamChannel }> {
    const store = new MemoryStore();
    const payer = new Payer({ chain: ethersChain({ runner: signers[payerIndex], contract: chain.contract }), store });
    const opened = await payer.open({ payee: payeeAddress, amount: deposit, closeDelay: 3600n });
    return { payer, store, channel: opened };
  }

  it("pays ahead, pays again when asked in-band, and ends cleanly when the budget runs out: units served = units paid", async () => {
    const site = await startSite();
    const { payer, channel } = await openChannel(3);
    const seen: bigint[] = [];
    const payments: bigint[] = [];
    const result = await readMeteredStream({
      url: `${site.url}/live`,
      paymentUrl: `${site.url}/live/pay`,
      pay: payStreamFrom(payer, channel),
      budget: 10n * UNIT_PRICE + 500n, // 10 units and a half: the half is never paid
      onUnit: (unit) => seen.push(unit.index),
      onPayment: (payment) => payments.push(payment.amount),
    });
    expect(result.reason).to.equal("unpaid");
    expect(result.units).to.equal(10n);
    expect(result.paid).to.equal(10n * UNIT_PRICE);
    expect(seen).to.deep.equal(Array.from({ length: 10 }, (_, i) => BigInt(i)));
    expect(payments).to.deep.equal([4n * UNIT_PRICE, 4n * UNIT_PRICE, 2n * UNIT_PRICE]);
    // The payee's ledger (its store) holds exactly what the stream served, and the stream agrees.
    expect((await site.payeeStore.bestVoucher(channel.channelId))?.amount).to.equal(10n * UNIT_PRICE);
    const [session] = site.stream.sessions();
    expect(session).to.include({ paidUnits: 10n, servedUnits: 10n, credited: 10n * UNIT_PRICE });
    expect(site.produced()).to.equal(10);
  });

  it("ends with reason done when the source has no more units", async () => {
    const site = await startSite({ unit: (index) => (index < 3n ? `unit ${index}` : undefined) });
    const { payer, channel } = await openChannel(4);
    const result = await readMeteredStream({
      url: `${site.url}/live`,
      paymentUrl: `${site.url}/live/pay`,
      pay: payStreamFrom(payer, channel),
      budget: 100n * UNIT_PRICE,
      onUnit: () => undefined,
    });
    // The ask for more came before the source ran dry: a finished stream leaves at most one prepayment unused.
    expect(result).to.include({ reason: "done", units: 3n, paid: 8n * UNIT_PRICE });
    expect(site.stream.sessions()[0]).to.include({ servedUnits: 3n, paidUnits: 8n });
  });

  it("resumes after a dropped connection with Last-Event-ID: every unit once, none charged twice", async () => {
    const site = await startSite();
    const { payer, channel } = await openChannel(5);
    let streamConnections = 0;
    // Cuts the first two event-stream connections after a few bytes of units, as a flaky network would.
    const flakyFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const isStream = response.headers.get("content-type")?.startsWith("text/event-stream") === true;
      if (!isStream || ++streamConnections > 2 || response.body === null) return response;
      const reader = response.body.getReader();
      let units = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) return controller.close();
          controller.enqueue(value);
          units += (new TextDecoder().decode(value).match(/event: unit/g) ?? []).length;
          if (units >= 3) {
            await reader.cancel();
            controller.error(new TypeError("connection reset"));
          }
        },
      });
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const seen: bigint[] = [];
    const result = await readMeteredStream({
      url: `${site.url}/live`,
      paymentUrl: `${site.url}/live/pay`,
      pay: payStreamFrom(payer, channel),
      budget: 12n * UNIT_PRICE,
      onUnit: (unit) => seen.push(unit.index),
      fetch: flakyFetch,
    });
    expect(streamConnections).to.be.greaterThan(2);
    expect(result.reason).to.equal("unpaid");
    expect(seen).to.deep.equal(Array.from({ length: 12 }, (_, i) => BigInt(i)));
    expect(result.paid).to.equal(12n * UNIT_PRICE);
    expect((await site.payeeStore.bestVoucher(channel.channelId))?.amount).to.equal(12n * UNIT_PRICE);
    expect(site.stream.sessions()[0]).to.include({ servedUnits: 12n, paidUnits: 12n });
  });

  it("refuses bad payments with a code and changes nothing: garbage, a replayed voucher, another channel's voucher, no payment", async () => {
    const site = await startSite();
    const { payer, channel } = await openChannel(6);
    const post = (header: string | undefined, session?: string) =>
      fetch(`${site.url}/live/pay${session ? `?session=${session}` : ""}`, { method: "POST", headers: header === undefined ? {} : { "PAYMENT-SIGNATURE": header } });
    const pay = payStreamFrom(payer, channel);

    const unpaid = await post(undefined);
    expect(unpaid.status).to.equal(402);
    expect(((await unpaid.json()) as { terms: { unitPrice: string } }).terms.unitPrice).to.equal(UNIT_PRICE.toString());
    const garbage = await post("not a payment");
    expect(garbage.status).to.equal(402);
    expect(((await garbage.json()) as { error: string }).error).to.equal("MALFORMED");
    expect(site.stream.sessions()).to.have.length(0);

    const first = await pay(3n * UNIT_PRICE);
    const started = (await (await post(first)).json()) as { session: string; paidUnits: string };
    expect(started.paidUnits).to.equal("3");
    const replay = await post(first, started.session);
    expect(((await replay.json()) as { error: string }).error).to.equal("NOT_INCREASING");

    const other = await openChannel(7);
    const foreign = await payStreamFrom(other.payer, other.channel)(UNIT_PRICE);
    const wrong = await post(foreign, started.session);
    expect(((await wrong.json()) as { error: string }).error).to.equal("WRONG_CHANNEL");

    const forged = encodePaymentPayload({ scheme: TRICKLE_SCHEME, chainId: chain.chainId, contract: chain.contract, channelId: channel.channelId, amount: 10n ** 14n, signature: `0x${"11".repeat(32)}${"22".repeat(32)}1b` });
    expect(((await (await post(forged, started.session)).json()) as { error: string }).error).to.equal("BAD_SIGNATURE");

    const unknown = await fetch(`${site.url}/live?session=nope`);
    expect(unknown.status).to.equal(402);
    await unknown.body?.cancel();
    expect(site.stream.sessions()).to.have.length(1);
    expect(site.stream.sessions()[0]).to.include({ paidUnits: 3n, servedUnits: 0n });
    expect((await site.payeeStore.bestVoucher(channel.channelId))?.amount).to.equal(3n * UNIT_PRICE);
  });

  it("bounds its sessions: beyond maxSessions a new one is refused with 503 and its voucher is not accepted", async () => {
    const site = await startSite({ maxSessions: 1 });
    const a = await openChannel(9);
    const b = await openChannel(10);
    const post = (header: string) => fetch(`${site.url}/live/pay`, { method: "POST", headers: { "PAYMENT-SIGNATURE": header } });
    expect((await post(await payStreamFrom(a.payer, a.channel)(UNIT_PRICE))).status).to.equal(200);
    const busy = await post(await payStreamFrom(b.payer, b.channel)(UNIT_PRICE));
    expect(busy.status).to.equal(503);
    expect(((await busy.json()) as { error: string }).error).to.equal("BUSY");
    expect(await site.payeeStore.bestVoucher(b.channel.channelId), "no charge for a session not served").to.equal(undefined);
    expect(site.stream.sessions()).to.have.length(1);
  });

  it("property: for any price, prepayment and budget, the stream serves exactly the units the accepted payments cover", async () => {
    await fc.assert(
      fc.asyncProperty(fc.bigInt({ min: 1n, max: 5n }), fc.bigInt({ min: 1n, max: 6n }), fc.bigInt({ min: 1n, max: 20n }), fc.bigInt({ min: 0n, max: 999n }), async (priceK, prepay, wholeUnits, change) => {
        const unitPrice = priceK * UNIT_PRICE;
        const site = await startSite({ unitPrice, prepayUnits: prepay, graceMs: 100 });
        const { payer, channel } = await openChannel(8);
        const result = await readMeteredStream({
          url: `${site.url}/live`,
          paymentUrl: `${site.url}/live/pay`,
          pay: payStreamFrom(payer, channel),
          budget: wholeUnits * unitPrice + change,
          onUnit: () => undefined,
        });
        const [session] = site.stream.sessions();
        expect(session.servedUnits <= session.paidUnits).to.equal(true);
        expect(result.units).to.equal(wholeUnits);
        expect(session.servedUnits).to.equal(wholeUnits);
        expect(session.credited).to.equal(wholeUnits * unitPrice);
        expect(result.paid).to.equal(wholeUnits * unitPrice);
        await site.stop();
        sites.splice(sites.indexOf(site), 1);
      }),
      { numRuns: 8 },
    );
  });
});
