// The paid HTTP API of `npm run demo` and `npm run bench:http`, run in a worker thread. SQLite commits
// are synchronous (node:sqlite): in the client's thread, every fsync would also stall the client,
// and the measurement would be of one thread taking turns. In its own thread the server batches the
// requests that arrive during an fsync into the next group commit, as a real server does.
//
// The Payee's few chain reads (chain id, channel state, events once a second) are forwarded to the
// main thread, which owns the Hardhat network connection.
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { isMainThread, MessageChannel, parentPort, Worker, workerData } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import type { Address } from "../src/channel.ts";
import type { ChainReader } from "../src/chain/adapter.ts";

export interface PaidApiSettings {
  contract: Address;
  chainId: bigint;
  payee: Address;
  /** Price of `/paid`; `/free` is served by the same handler behind the same gate, unpriced. */
  price: bigint;
  minDeposit: bigint;
  storePath: string;
  /** The channel token the API takes; ETH when omitted. */
  token?: Address;
}

interface WorkerData extends PaidApiSettings {
  kind: "trickle-paid-api";
  chainPort: MessagePort;
}

interface ChainCall {
  id: number;
  method: keyof ChainReader;
  args: unknown[];
}

type ChainReply = { id: number; result: unknown } | { id: number; error: string };

const READ_METHODS = new Set<keyof ChainReader>([
  "chainId",
  "blockNumber",
  "blockTimestamp",
  "readChannel",
  "findChannelConfig",
  "events",
  "hasCode",
  "isValidErc1271Signature",
]);

export interface PaidApiWorker {
  url: string;
  /** Stops the server, closes its store, and says how many requests reached the handler. */
  stop(): Promise<{ served: number; paidServed: number }>;
}

/** Starts the paid API in a worker thread; `chain` answers the payee's reads. */
export async function startPaidApiWorker(settings: PaidApiSettings, chain: ChainReader): Promise<PaidApiWorker> {
  const { port1, port2 } = new MessageChannel();
  port1.on("message", (call: ChainCall) => {
    if (!READ_METHODS.has(call.method)) {
      port1.postMessage({ id: call.id, error: `${call.method} is not a read` } satisfies ChainReply);
      return;
    }
    const method = chain[call.method] as (...args: unknown[]) => Promise<unknown>;
    method.apply(chain, call.args).then(
      (result) => port1.postMessage({ id: call.id, result } satisfies ChainReply),
      (error: unknown) => port1.postMessage({ id: call.id, error: error instanceof Error ? error.message : String(error) } satisfies ChainReply),
    );
  });
  const data: WorkerData = { ...settings, kind: "trickle-paid-api", chainPort: port2 };
  const worker = new Worker(new URL(import.meta.url), { workerData: data, transferList: [port2] });
  const [ready] = (await once(worker, "message")) as [{ port: number }];
  return {
    url: `http://127.0.0.1:${ready.port}`,
    stop() {
      return new Promise((resolve, reject) => {
        let counts: { served: number; paidServed: number } | undefined;
        worker.once("message", (message: { served: number; paidServed: number }) => (counts = message));
        worker.once("error", reject);
        worker.once("exit", (code) => {
          port1.close();
          if (counts !== undefined) resolve(counts);
          else reject(new Error(`the paid API worker exited with code ${code} before reporting`));
        });
        worker.postMessage("stop");
      });
    },
  };
}

function remoteChain(port: MessagePort, contract: Address): ChainReader {
  let nextId = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  port.on("message", (reply: ChainReply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (waiter === undefined) return;
    if ("error" in reply) waiter.reject(new Error(reply.error));
    else waiter.resolve(reply.result);
  });
  const call = (method: keyof ChainReader) => (...args: unknown[]) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      port.postMessage({ id, method, args } satisfies ChainCall);
    });
  return {
    contract,
    chainId: call("chainId"),
    blockNumber: call("blockNumber"),
    blockTimestamp: call("blockTimestamp"),
    readChannel: call("readChannel"),
    findChannelConfig: call("findChannelConfig"),
    events: call("events"),
    hasCode: call("hasCode"),
    isValidErc1271Signature: call("isValidErc1271Signature"),
  } as ChainReader;
}

async function runWorker(data: WorkerData): Promise<void> {
  const [{ withPayment }, { paymentGate }, { Payee }, { SqliteStore }] = await Promise.all([
    import("../src/http/node.ts"),
    import("../src/http/server.ts"),
    import("../src/payee.ts"),
    import("../src/store/sqlite.ts"),
  ]);
  const store = SqliteStore.open(data.storePath);
  const chain = remoteChain(data.chainPort, data.contract);
  const payee = new Payee({ chain, store, payee: data.payee });
  const gate = paymentGate({
    payee,
    store,
    chainId: data.chainId,
    contract: data.contract,
    payTo: data.payee,
    minDeposit: data.minDeposit,
    ...(data.token === undefined ? {} : { token: data.token }),
    price: (request) => (request.url.startsWith("/paid") ? data.price : undefined),
  });
  let served = 0;
  let paidServed = 0;
  const body = JSON.stringify({ quote: "Every drop counts." });
  const server = createServer(
    { maxHeaderSize: 8192 },
    withPayment(gate, (_request, response, payment) => {
      served++;
      if (payment !== undefined) paidServed++;
      response.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
      response.end(body);
    }),
  );
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  parentPort?.postMessage({ port: (server.address() as AddressInfo).port });
  parentPort?.once("message", async () => {
    server.closeAllConnections();
    server.close();
    await store.close();
    parentPort?.postMessage({ served, paidServed });
    data.chainPort.close();
    parentPort?.close();
  });
}

if (!isMainThread && (workerData as WorkerData | undefined)?.kind === "trickle-paid-api") {
  await runWorker(workerData as WorkerData);
}
