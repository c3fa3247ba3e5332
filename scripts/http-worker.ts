// The paid HTTP API of `npm run demo` and `npm run bench:http`, run in a worker thread, or in a child
// process (`startPaidApiProcess`: several servers sharing one store, as behind a load balancer).
// SQLite commits are synchronous (node:sqlite): in the client's thread, every fsync would also stall
// the client, and the measurement would be of one thread taking turns. In its own thread the server
// batches the requests that arrive during an fsync into the next group commit, as a real server does.
//
// The Payee's few chain reads (chain id, channel state, events once a second) are forwarded to the
// parent, which owns the Hardhat network connection.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { isMainThread, MessageChannel, parentPort, Worker, workerData } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import { fileURLToPath } from "node:url";
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
  /** A PostgreSQL store to share instead of the SQLite file at `storePath`. */
  postgres?: { url: string; schema: string };
  /** The channel token the API takes; ETH when omitted. */
  token?: Address;
  /** The Payee's `policy.prepaidCredit`: a channel's best voucher sent again pays from its credit. */
  prepaidCredit?: boolean;
}

interface WorkerData extends PaidApiSettings {
  kind: "trickle-paid-api";
  chainPort: MessagePort;
}

/** The two ends a server talks through: chain calls out and replies in, a stop request, a report. */
interface Link {
  callChain(call: ChainCall): void;
  onChainReply(listener: (reply: ChainReply) => void): void;
  onStop(listener: () => void): void;
  ready(port: number, commits: () => number): void;
  report(counts: { served: number; paidServed: number }): Promise<void>;
  close(): void;
}

/** What a child process and its parent send each other over the IPC channel. */
type ProcessMessage =
  | { type: "settings"; settings: PaidApiSettings }
  | { type: "chain"; call: ChainCall }
  | { type: "chainReply"; reply: ChainReply }
  | { type: "ready"; port: number }
  | { type: "stop" }
  | { type: "cpu" }
  | { type: "cpuReply"; micros: number; commits: number }
  | { type: "report"; served: number; paidServed: number };

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
  /**
   * CPU time (user + system) the server process has used so far, µs, and the store's group commits
   * (transactions, each one fsync) so far; child processes only.
   */
  usage?(): Promise<{ cpuMicros: number; commits: number }>;
}

/** Answers a server's chain call with `chain` (reads only). */
function answerChainCall(chain: ChainReader, call: ChainCall, reply: (reply: ChainReply) => void): void {
  if (!READ_METHODS.has(call.method)) {
    reply({ id: call.id, error: `${call.method} is not a read` });
    return;
  }
  const method = chain[call.method] as (...args: unknown[]) => Promise<unknown>;
  method.apply(chain, call.args).then(
    (result) => reply({ id: call.id, result }),
    (error: unknown) => reply({ id: call.id, error: error instanceof Error ? error.message : String(error) }),
  );
}

/** Starts the paid API in a worker thread; `chain` answers the payee's reads. */
export async function startPaidApiWorker(settings: PaidApiSettings, chain: ChainReader): Promise<PaidApiWorker> {
  const { port1, port2 } = new MessageChannel();
  port1.on("message", (call: ChainCall) => answerChainCall(chain, call, (reply) => port1.postMessage(reply)));
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

/**
 * Starts the paid API in a child process; `chain` answers the payee's reads. `cpus` (a `taskset` CPU
 * list such as "0" or "0,1") pins the process, so a benchmark can keep servers and load apart.
 */
export async function startPaidApiProcess(settings: PaidApiSettings, chain: ChainReader, options: { cpus?: string } = {}): Promise<PaidApiWorker> {
  const script = fileURLToPath(import.meta.url);
  const [command, args] = options.cpus === undefined ? [process.execPath, [script]] : ["taskset", ["-c", options.cpus, process.execPath, script]];
  const child = spawn(command, args, {
    stdio: ["ignore", "inherit", "pipe", "ipc"],
    serialization: "advanced", // bigints cross the channel as they are
    env: { ...process.env, TRICKLE_PAID_API_PROCESS: "1" },
  });
  const send = (message: ProcessMessage) => {
    if (child.connected) child.send(message);
  };
  // Its stderr is kept (the last 64 KiB) and passed on, so a failure says what the server said.
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    process.stderr.write(chunk);
    stderr = (stderr + chunk).slice(-65_536);
  });
  let counts: { served: number; paidServed: number } | undefined;
  const usageWaiters: ((usage: { cpuMicros: number; commits: number }) => void)[] = [];
  const started = new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`the paid API process exited with code ${code} before it was ready`)));
    child.on("message", (message: ProcessMessage) => {
      if (message.type === "ready") resolve(message.port);
      else if (message.type === "chain") answerChainCall(chain, message.call, (reply) => send({ type: "chainReply", reply }));
      else if (message.type === "report") counts = { served: message.served, paidServed: message.paidServed };
      else if (message.type === "cpuReply") usageWaiters.shift()?.({ cpuMicros: message.micros, commits: message.commits });
    });
  });
  send({ type: "settings", settings });
  let port: number;
  try {
    port = await started;
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    url: `http://127.0.0.1:${port}`,
    usage() {
      return new Promise((resolve) => {
        usageWaiters.push(resolve);
        send({ type: "cpu" });
      });
    },
    async stop() {
      send({ type: "stop" });
      const code = await exited;
      if (counts === undefined) throw new Error(`the paid API process exited with code ${code} before reporting: ${stderr}`);
      return counts;
    },
  };
}

function remoteChain(link: Link, contract: Address): ChainReader {
  let nextId = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  link.onChainReply((reply) => {
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
      link.callChain({ id, method, args });
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

async function serve(settings: PaidApiSettings, link: Link): Promise<void> {
  const [{ withPayment }, { paymentGate }, { Payee }, { SqliteStore }] = await Promise.all([
    import("../src/http/node.ts"),
    import("../src/http/server.ts"),
    import("../src/payee.ts"),
    import("../src/store/sqlite.ts"),
  ]);
  const deployment = { chainId: BigInt(settings.chainId), contract: settings.contract };
  const backend =
    settings.postgres === undefined
      ? SqliteStore.open(settings.storePath)
      : await (await import("../src/store/postgres.ts")).PostgresStore.open(settings.postgres.url, { schema: settings.postgres.schema });
  const store = backend.forDeployment(deployment);
  const chain = remoteChain(link, settings.contract);
  const policy = { ...(settings.token === undefined ? {} : { tokens: [settings.token] }), ...(settings.prepaidCredit === true ? { prepaidCredit: true } : {}) };
  const payee = new Payee({ chain, store, payee: settings.payee, policy });
  const gate = paymentGate({
    payee,
    chainId: settings.chainId,
    contract: settings.contract,
    payTo: settings.payee,
    minDeposit: settings.minDeposit,
    ...(settings.token === undefined ? {} : { token: settings.token }),
    price: (request) => (request.url.startsWith("/paid") ? settings.price : undefined),
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
  // Idle keep-alive connections stay open longer than a client or load balancer keeps them, so a client
  // never writes a request on a socket the server is closing (an ECONNRESET for a request never read).
  server.keepAliveTimeout = 65_000;
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  link.ready((server.address() as AddressInfo).port, () => backend.commits);
  link.onStop(async () => {
    server.closeAllConnections();
    server.close();
    await store.close();
    await link.report({ served, paidServed });
    link.close();
  });
}

function threadLink(data: WorkerData): Link {
  const chainPort = data.chainPort;
  return {
    callChain: (call) => chainPort.postMessage(call),
    onChainReply: (listener) => chainPort.on("message", listener),
    onStop: (listener) => parentPort?.once("message", listener),
    ready: (port) => parentPort?.postMessage({ port }),
    report: async (counts) => parentPort?.postMessage(counts),
    close: () => {
      chainPort.close();
      parentPort?.close();
    },
  };
}

function processLink(): Link {
  const send = (message: ProcessMessage) => process.send?.(message);
  const on = <T extends ProcessMessage["type"]>(type: T, listener: (message: Extract<ProcessMessage, { type: T }>) => void) =>
    process.on("message", (message: ProcessMessage) => {
      if (message.type === type) listener(message as Extract<ProcessMessage, { type: T }>);
    });
  return {
    callChain: (call) => send({ type: "chain", call }),
    onChainReply: (listener) => on("chainReply", (message) => listener(message.reply)),
    onStop: (listener) => on("stop", listener),
    ready: (port, commits) => {
      on("cpu", () => {
        const { user, system } = process.cpuUsage();
        send({ type: "cpuReply", micros: user + system, commits: commits() });
      });
      send({ type: "ready", port });
    },
    // Disconnecting right after a send could drop it: wait until it is handed over.
    report: (counts) => new Promise((resolve) => process.send?.({ type: "report", ...counts } satisfies ProcessMessage, undefined, {}, () => resolve())),
    close: () => process.disconnect(),
  };
}

if (!isMainThread && (workerData as WorkerData | undefined)?.kind === "trickle-paid-api") {
  const data = workerData as WorkerData;
  await serve(data, threadLink(data));
} else if (isMainThread && process.env.TRICKLE_PAID_API_PROCESS === "1" && process.send !== undefined) {
  // A server whose parent is gone has no one to report to: it exits rather than linger.
  process.once("disconnect", () => process.exit(0));
  const [message] = (await once(process, "message")) as [ProcessMessage];
  if (message.type !== "settings") throw new Error("the paid API process expects its settings first");
  await serve(message.settings, processLink());
}
