// docs/operators.md's API server, run as the doc says: two processes of docs/examples/operators/api-server.ts
// on one PostgreSQL payee store, each holding no key, behind which one payer pays request by request. Every
// paid request is served by whichever process gets it, and the store's ledger counts each one once.
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { parseEther } from "viem";
import { Payer } from "../../src/payer.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { PostgresStore } from "../../src/store/postgres.ts";
import { createPayingFetch } from "../../src/http/fetch.ts";
import { expectShownVerbatim, root, TRICKLE_FROM_SOURCES } from "../doc-examples.ts";
import { describeWithPostgres, freshSchema, postgresUrl } from "../store/postgres-server.ts";
import { deploy } from "../watchtower/fixture.ts";
import { startHardhatNode, type HardhatNode } from "../watchtower/hardhat-node.ts";

const EXAMPLE = "docs/examples/operators/api-server.ts";

describe("docs/operators.md API server example", () => {
  it("is shown verbatim", async () => {
    await expectShownVerbatim("docs/operators.md", [EXAMPLE]);
  });
});

describeWithPostgres("docs/operators.md API server example, two processes on one PostgreSQL store", function () {
  this.timeout(120_000);
  let node: HardhatNode;
  const servers: ChildProcess[] = [];

  before(async () => {
    node = await startHardhatNode();
  });
  after(async () => {
    for (const server of servers) if (server.exitCode === null && server.signalCode === null) server.kill("SIGTERM");
    await node?.stop();
  });

  function startServer(env: Record<string, string>): Promise<number> {
    // The example imports `trickle`: every entry point resolves to its source, so no build is needed.
    const child = spawn(process.execPath, ["--no-warnings", "--import", TRICKLE_FROM_SOURCES, EXAMPLE], {
      cwd: root,
      env: { ...process.env, PORT: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    servers.push(child);
    let out = "";
    let err = "";
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    return new Promise((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const port = out.match(/api server on port (\d+)/)?.[1];
        if (port !== undefined) resolve(Number(port));
      });
      child.once("exit", (code) => reject(new Error(`the API server exited (${code}): ${err}`)));
    });
  }

  it("serves every paid request from either process, and the shared ledger counts each once", async () => {
    const d = await deploy(node);
    const payee = d.party(2);
    const url = await postgresUrl();
    const schema = freshSchema("api");
    // What `trickle:watch --create --once` does first: the servers refuse a database without a store.
    const env = { TRICKLE_PAYEE_STORE_URL: url, TRICKLE_STORE_SCHEMA: schema, RPC_URL: node.url, TRICKLE_CONTRACT: d.contract, TRICKLE_PAYEE_ADDRESS: payee.address };
    const refused = await startServer(env).then(() => undefined, (error: Error) => error.message);
    expect(refused).to.match(/STORE_NOT_FOUND|no Trickle store/);
    await (await PostgresStore.open(url, { schema })).close();
    const ports = await Promise.all([startServer(env), startServer(env)]);

    const payer = new Payer({ chain: d.party(1).chain, store: new MemoryStore() });
    const paidFetch = createPayingFetch({
      payer,
      chain: { chainId: 31337n, contract: d.contract },
      budget: parseEther("0.05"),
      originBudget: parseEther("0.05"),
      maxPrice: parseEther("0.0001"),
      maxDeposit: parseEther("0.01"),
    });
    const requests = 8;
    for (let i = 0; i < requests; i++) {
      const response = await paidFetch(`http://127.0.0.1:${ports[i % 2]}/quote`);
      expect(response.status, `request ${i}`).to.equal(200);
      expect(await response.text()).to.equal("paid content");
    }

    const store = await PostgresStore.open(url, { schema, create: false });
    const view = store.forDeployment({ chainId: 31337n, contract: d.contract });
    let served = 0n;
    for (const voucher of await view.bestVouchers()) served += (await view.chargeLedger(voucher.channelId))?.served ?? 0n;
    await store.close();
    expect(served).to.equal(BigInt(requests) * parseEther("0.00001"));
  });
});
