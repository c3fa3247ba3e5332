// The Express and Hono adapters around the same gate: one paid request each, and a 402 without payment.
import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { expect } from "chai";
import express from "express";
import { Hono } from "hono";
import { paymentMiddleware as expressPayment } from "../../src/http/express.ts";
import { decodePaymentReceipt, decodePaymentRequired, PAYMENT_REQUIRED_HEADER, PAYMENT_RESPONSE_HEADER } from "../../src/http/headers.ts";
import { paymentMiddleware as honoPayment } from "../../src/http/hono.ts";
import type { PaymentVariables } from "../../src/http/hono.ts";
import type { PaymentReceipt } from "../../src/http/headers.ts";
import { PRICE, startChain, startClient, startPaidApi } from "./fixture.ts";
import type { Chain, PaidApi } from "./fixture.ts";

async function listening(server: Server): Promise<string> {
  if (!server.listening) await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("http: Express and Hono adapters", function () {
  this.timeout(60_000);
  let chain: Chain;
  let servers: Server[] = [];
  let apis: PaidApi[] = [];

  before(async () => {
    chain = await startChain();
  });
  afterEach(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
    for (const api of apis) await api.stop();
    servers = [];
    apis = [];
  });

  it("Express serves a paid request after the payment and refuses an unpaid one", async () => {
    // The node:http API is only used for its gate and payee; Express serves.
    const api = await startPaidApi(chain, 10);
    apis.push(api);
    const app = express();
    app.get("/free", (_request, response) => void response.json({ free: true }));
    app.get("/paid", expressPayment(api.gate), (_request, response) => {
      const payment = response.locals.payment as PaymentReceipt;
      response.json({ content: "express content", cumulative: payment.cumulative.toString() });
    });
    const server = app.listen(0, "127.0.0.1");
    servers.push(server);
    const url = await listening(server);

    const unpaid = await fetch(`${url}/paid`);
    expect(unpaid.status).to.equal(402);
    expect(decodePaymentRequired(unpaid.headers.get(PAYMENT_REQUIRED_HEADER) as string).price).to.equal(PRICE);
    const client = await startClient(chain, 11);
    const paid = await client.paidFetch(`${url}/paid`);
    expect(paid.status).to.equal(200);
    expect(await paid.json()).to.deep.equal({ content: "express content", cumulative: PRICE.toString() });
    expect(decodePaymentReceipt(paid.headers.get(PAYMENT_RESPONSE_HEADER) as string).charged).to.equal(PRICE);
  });

  it("Hono serves a paid request after the payment and refuses an unpaid one", async () => {
    const api = await startPaidApi(chain, 12);
    apis.push(api);
    const app = new Hono<{ Variables: PaymentVariables }>();
    app.get("/paid", honoPayment(api.gate), (c) => c.json({ content: "hono content", cumulative: c.get("payment")?.cumulative.toString() }));
    const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }) as Server;
    servers.push(server);
    const url = await listening(server);

    const unpaid = await fetch(`${url}/paid`);
    expect(unpaid.status).to.equal(402);
    expect(await unpaid.json()).to.have.property("error", "PAYMENT_REQUIRED");
    const client = await startClient(chain, 13);
    const paid = await client.paidFetch(`${url}/paid`);
    expect(paid.status).to.equal(200);
    expect(await paid.json()).to.deep.equal({ content: "hono content", cumulative: PRICE.toString() });
    expect(decodePaymentReceipt(paid.headers.get(PAYMENT_RESPONSE_HEADER) as string).cumulative).to.equal(PRICE);
  });
});
