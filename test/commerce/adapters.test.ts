// The tier gate through Express and Hono: the same checks as the node:http one (no receipt, a forged
// receipt, a lower tier are refused with the stable code; an entitled payer is served).
import { serve } from "@hono/node-server";
import { expect } from "chai";
import express from "express";
import { Hono } from "hono";
import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expressTierMiddleware, honoTierMiddleware, RECEIPT_HEADER, type TierVariables } from "../../src/commerce/http.ts";
import { signReceipt } from "../../src/commerce/receipt.ts";
import { MemoryCommerceStore } from "../../src/commerce/store-memory.ts";
import { encodeReceiptHeader } from "../../src/commerce/wire.ts";
import { DEPLOYMENT, DOMAIN, openChannel, shop } from "./fixture.ts";

async function listening(server: Server): Promise<string> {
  if (!server.listening) await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("commerce tier gate adapters", function () {
  const servers: Server[] = [];
  after(() => {
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
  });

  it("Express and Hono serve an entitled payer and refuse the others", async function () {
    const store = new MemoryCommerceStore().forDeployment(DEPLOYMENT);
    const s = shop(store);
    const p = openChannel(s.chain, 10_000_000n);
    const sale = await s.seller.renew({ voucher: p.sign(100_000n), config: p.config, plan: "basic-daily", sequence: 0 });

    const app = express();
    app.get("/basic", expressTierMiddleware(s.seller, "basic"), (_req, res) => void res.json({ payer: (res.locals.entitlement as { payer: string }).payer }));
    app.get("/pro", expressTierMiddleware(s.seller, "pro"), (_req, res) => void res.json({}));
    const expressServer = app.listen(0, "127.0.0.1");
    const hono = new Hono<{ Variables: TierVariables }>();
    hono.get("/basic", honoTierMiddleware(s.seller, "basic"), (c) => c.json({ payer: c.get("entitlement").payer }));
    hono.get("/pro", honoTierMiddleware(s.seller, "pro"), (c) => c.json({}));
    const honoServer = serve({ fetch: hono.fetch, port: 0, hostname: "127.0.0.1" }) as Server;
    servers.push(expressServer, honoServer);

    const good = { [RECEIPT_HEADER]: encodeReceiptHeader(sale.receipt) };
    const forged = { [RECEIPT_HEADER]: encodeReceiptHeader(signReceipt(DOMAIN, { ...sale.receipt, item: "pro-daily" }, `0x${"11".repeat(32)}`)) };
    for (const url of [await listening(expressServer), await listening(honoServer)]) {
      const served = await fetch(`${url}/basic`, { headers: good });
      expect(served.status, url).to.equal(200);
      expect(await served.json()).to.deep.equal({ payer: p.address.toLowerCase() });
      const missing = await fetch(`${url}/basic`);
      expect([missing.status, ((await missing.json()) as { error: string }).error], url).to.deep.equal([402, "NOT_ENTITLED"]);
      const lower = await fetch(`${url}/pro`, { headers: good });
      expect([lower.status, ((await lower.json()) as { error: string }).error], url).to.deep.equal([402, "NOT_ENTITLED"]);
      const fake = await fetch(`${url}/pro`, { headers: forged });
      expect([fake.status, ((await fake.json()) as { error: string }).error], url).to.deep.equal([400, "BAD_RECEIPT"]);
    }
    s.clock.now += 86_400n;
    expect((await fetch(`${await listening(expressServer)}/basic`, { headers: good })).status).to.equal(402);
    await store.close();
  });
});
