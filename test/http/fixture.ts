// One in-process chain with PaymentChannels for the HTTP tests, and a paid API on a free localhost
// port around a Payee. Each test gets its own payee store, payer store and session key, so its channel
// is its own.
import { once } from "node:events";
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { network } from "hardhat";
import type { Address, Hex } from "../../src/channel.ts";
import type { ChainReader, ChainWriter } from "../../src/chain/adapter.ts";
import { ethersChain } from "../../src/chain/ethers.ts";
import { createPayingFetch } from "../../src/http/fetch.ts";
import type { PayingFetchOptions } from "../../src/http/fetch.ts";
import { withPayment } from "../../src/http/node.ts";
import { paymentGate } from "../../src/http/server.ts";
import type { PaymentGate, PaymentGateOptions } from "../../src/http/server.ts";
import { Payee } from "../../src/payee.ts";
import type { PayeeLimits, PayeePolicy } from "../../src/payee.ts";
import { Payer } from "../../src/payer.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import type { DeploymentStore } from "../../src/store/deployment.ts";

export const PRICE = 1_000n;

export type Connection = Awaited<ReturnType<typeof network.create>>;

export interface Chain {
  connection: Connection;
  contract: Address;
  chainId: bigint;
}

export async function startChain(): Promise<Chain> {
  const connection = await network.create();
  const deployed = await connection.ethers.deployContract("PaymentChannels");
  const chainId = (await connection.ethers.provider.getNetwork()).chainId;
  return { connection, contract: (await deployed.getAddress()) as Address, chainId };
}

/** Counts every chain call a payee makes, to show that refusals cost none. */
export function countingChain<T extends ChainReader>(chain: T): { chain: T; calls: () => number } {
  let calls = 0;
  const proxy = new Proxy(chain, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { chain: proxy, calls: () => calls };
}

export interface PaidApi {
  url: string;
  server: Server;
  gate: PaymentGate;
  payee: Payee;
  payeeStore: DeploymentStore;
  payeeAddress: Address;
  chainCalls: () => number;
  /** Requests that reached the handler. */
  served: () => number;
  stop(): Promise<void>;
}

export async function startPaidApi(
  chain: Chain,
  payeeIndex: number,
  gateOptions: Partial<PaymentGateOptions> = {},
  payeeLimits: PayeeLimits = {},
  payeePolicy: Omit<PayeePolicy, "minCloseDelay"> = {},
): Promise<PaidApi> {
  const signers = await chain.connection.ethers.getSigners();
  const payeeSigner = signers[payeeIndex];
  const payeeAddress = payeeSigner.address as Address;
  const counted = countingChain(ethersChain({ runner: payeeSigner, contract: chain.contract }));
  const payeeStore = new MemoryStore().forDeployment({ chainId: chain.chainId, contract: chain.contract });
  const payee = new Payee({ chain: counted.chain as ChainWriter, store: payeeStore, payee: payeeAddress, policy: { minCloseDelay: 3600n, ...payeePolicy }, limits: payeeLimits });
  const gate = paymentGate({
    payee,
    chainId: chain.chainId,
    contract: chain.contract,
    payTo: payeeAddress,
    price: PRICE,
    minDeposit: 10n * PRICE,
    ...gateOptions,
  });
  let served = 0;
  const server = createServer(
    { maxHeaderSize: 16 * 1024 },
    withPayment(gate, (request, response, payment) => {
      served++;
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ content: "paid content", path: request.url, cumulative: payment?.cumulative.toString() }));
    }),
  );
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    gate,
    payee,
    payeeStore,
    payeeAddress,
    chainCalls: counted.calls,
    served: () => served,
    async stop() {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

export interface Client {
  payer: Payer;
  payerAddress: Address;
  store: DeploymentStore;
  paidFetch: ReturnType<typeof createPayingFetch>;
  /** Every PAYMENT-SIGNATURE header the paying fetch sent, in order. */
  sentPayments: string[];
  /** The PAYMENT-PREPAID header sent with each of them ("" when none). */
  sentPrepaid: string[];
  /** Requests that went out on the wire. */
  roundTrips: () => number;
}

export async function startClient(chain: Chain, payerIndex: number, options: Partial<PayingFetchOptions> = {}): Promise<Client> {
  const signers = await chain.connection.ethers.getSigners();
  const payerSigner = signers[payerIndex];
  const store = new MemoryStore().forDeployment({ chainId: chain.chainId, contract: chain.contract });
  const payer = new Payer({ chain: ethersChain({ runner: payerSigner, contract: chain.contract }), store });
  const sentPayments: string[] = [];
  const sentPrepaid: string[] = [];
  let roundTrips = 0;
  const recordingFetch: typeof fetch = async (input, init) => {
    roundTrips++;
    const request = new Request(input, init);
    const payment = request.headers.get("payment-signature");
    if (payment !== null) {
      sentPayments.push(payment);
      sentPrepaid.push(request.headers.get("payment-prepaid") ?? "");
    }
    return fetch(request);
  };
  const paidFetch = createPayingFetch({
    payer,
    budget: 10n ** 18n,
    fetch: recordingFetch,
    chain: { chainId: chain.chainId, contract: chain.contract },
    requestsPerDeposit: 100n,
    ...options,
  });
  return { payer, payerAddress: payerSigner.address as Address, store, paidFetch, sentPayments, sentPrepaid, roundTrips: () => roundTrips };
}

export async function balanceOf(chain: Chain, address: string): Promise<bigint> {
  return chain.connection.ethers.provider.getBalance(address);
}

export function channelIdOf(client: Client): Hex {
  const channels = client.paidFetch.channels();
  if (channels.length === 0) throw new Error("the client has no channel");
  return channels[channels.length - 1].channelId;
}
