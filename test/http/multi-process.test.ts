// Several server processes behind one store serve exactly what was paid: 4 child processes (each a
// node:http server with its own Payee and gate) share one SQLite file and take 10,000 paid requests on
// 100 channels, sent out of order, to any server, with concurrent duplicates. Nothing in a process
// decides "paid" on its own: the store's charge ledger does.
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { network } from "hardhat";
import type { Address, Hex } from "../../src/channel.ts";
import { ethersChain } from "../../src/chain/ethers.ts";
import {
  decodePaymentRequired,
  encodePaymentPayload,
  encodePrepaidToken,
  PAYMENT_PREPAID_HEADER,
  PAYMENT_REQUIRED_HEADER,
  PAYMENT_SIGNATURE_HEADER,
  TRICKLE_SCHEME,
} from "../../src/http/headers.ts";
import { keccak256 } from "../../src/crypto/keccak.ts";
import { prepaidChain } from "../../src/store/prepaid.ts";
import { Payer } from "../../src/payer.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { PostgresStore } from "../../src/store/postgres.ts";
import { describeWithPostgres, freshSchema, postgresUrl } from "../store/postgres-server.ts";
import { signVoucher } from "../../src/voucher.ts";
import { startPaidApiProcess } from "../../scripts/http-worker.ts";
import type { PaidApiWorker } from "../../scripts/http-worker.ts";

const SERVERS = 4;
const CHANNELS = 100;
const VOUCHERS_PER_CHANNEL = 100; // 10,000 paid requests
const PRICE = 1_000n;
/** One voucher in this many is sent twice at once, to two servers. */
const DUPLICATE_EVERY = 7;
const IN_FLIGHT = 64;

interface Send {
  channel: number;
  amount: bigint;
  payment: string;
  /** Sent twice at the same time, to two different servers. */
  duplicate: boolean;
}

interface Answer {
  status: number;
  error?: string;
}

/** GET /paid on `server` with `headers`: its status, and the refusal code of a 402. */
function getPaid(server: PaidApiWorker, agent: Agent, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const { port } = new URL(server.url);
    const req = request({ host: "127.0.0.1", port, path: "/paid", agent, headers }, (res) => {
      res.resume();
      res.on("end", () => {
        const required = res.headers[PAYMENT_REQUIRED_HEADER.toLowerCase()];
        resolve({ status: res.statusCode ?? 0, ...(typeof required === "string" ? { error: decodePaymentRequired(required).error } : {}) });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

/** A small deterministic generator, so a failure reproduces. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe("http: several server processes share one ledger (SQLite)", function () {
  this.timeout(180_000);
  shouldShareOneLedger("sqlite");
});

describeWithPostgres("http: several server processes share one ledger (PostgreSQL)", function () {
  this.timeout(180_000);
  shouldShareOneLedger("postgres");
});

function shouldShareOneLedger(kind: "sqlite" | "postgres"): void {
  let dir: string;
  let servers: PaidApiWorker[] = [];
  let connection: Awaited<ReturnType<typeof network.create>>;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "trickle-multi-"));
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.stop().catch((error: unknown) => console.error(String(error)));
    await connection?.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`${SERVERS} processes on one ${kind === "sqlite" ? "SQLite file" : "PostgreSQL database"} take ${CHANNELS * VOUCHERS_PER_CHANNEL} paid requests on ${CHANNELS} channels: served equals paid, the best voucher is the max signed`, async () => {
    connection = await network.create();
    const { ethers } = connection;
    const [, payeeSigner, payerSigner] = await ethers.getSigners();
    const contract = (await (await ethers.deployContract("PaymentChannels")).getAddress()) as Address;
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const payee = payeeSigner.address as Address;
    const storePath = join(dir, "payee.sqlite");
    const postgres = kind === "postgres" ? { url: await postgresUrl(), schema: freshSchema("multi") } : undefined;
    const chain = ethersChain({ runner: ethers.provider, contract });

    servers = await Promise.all(
      Array.from({ length: SERVERS }, () =>
        startPaidApiProcess({ contract, chainId, payee, price: PRICE, minDeposit: PRICE, storePath, ...(postgres ? { postgres } : {}) }, chain),
      ),
    );

    // 100 channels, every voucher signed up front; the first of each carries the channel's config.
    const payer = new Payer({ chain: ethersChain({ runner: payerSigner, contract }), store: new MemoryStore() });
    const domain = { chainId, verifyingContract: contract };
    const channels: { id: Hex; payments: string[]; signatures: Hex[] }[] = [];
    for (let c = 0; c < CHANNELS; c++) {
      const salt = `0x${(c + 1).toString(16).padStart(64, "0")}` as Hex;
      const opened = await payer.open({ payee, amount: PRICE * BigInt(VOUCHERS_PER_CHANNEL), closeDelay: 3600n, salt });
      const sessionKey = (await payer.channel(opened.channelId))?.sessionKey as Hex;
      const payments: string[] = [];
      const signatures: Hex[] = [];
      for (let i = 1; i <= VOUCHERS_PER_CHANNEL; i++) {
        const voucher = signVoucher(domain, opened.channelId, PRICE * BigInt(i), sessionKey);
        signatures.push(voucher.signature);
        payments.push(encodePaymentPayload({ scheme: TRICKLE_SCHEME, chainId, contract, ...voucher, ...(i === 1 ? { config: opened.config } : {}) }));
      }
      channels.push({ id: opened.channelId, payments, signatures });
    }

    const agents = servers.map(() => new Agent({ keepAlive: true, maxSockets: IN_FLIGHT }));
    const post = (server: number, payment: string): Promise<Answer> => getPaid(servers[server], agents[server], { [PAYMENT_SIGNATURE_HEADER]: payment });

    const next = random(16);
    const pick = () => Math.floor(next() * SERVERS);
    let ok = 0;
    let refusedDuplicates = 0;
    const unexpected: string[] = [];

    // Each channel's first payment (with its config), each to some server.
    for (const answer of await Promise.all(channels.map((channel) => post(pick(), channel.payments[0])))) {
      if (answer.status === 200) ok++;
      else unexpected.push(`first payment: ${answer.status} ${answer.error}`);
    }

    // The rest: each channel's vouchers shuffled within windows of 8 (out of order, as parallel requests
    // arrive), channels interleaved, each voucher to a random server, some twice at once.
    const perChannel = channels.map((channel, c) => {
      const sends: Send[] = channel.payments.slice(1).map((payment, i) => ({ channel: c, amount: PRICE * BigInt(i + 2), payment, duplicate: next() * DUPLICATE_EVERY < 1 }));
      for (let start = 0; start < sends.length; start += 8) {
        for (let i = Math.min(start + 7, sends.length - 1); i > start; i--) {
          const j = start + Math.floor(next() * (i - start + 1));
          [sends[i], sends[j]] = [sends[j], sends[i]];
        }
      }
      return sends;
    });
    const queue: Send[] = [];
    for (let i = 0; i < VOUCHERS_PER_CHANNEL - 1; i++) for (const sends of perChannel) queue.push(sends[i]);
    const duplicates = queue.filter((send) => send.duplicate).length;

    let cursor = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (cursor < queue.length) {
          const send = queue[cursor++];
          const first = pick();
          const targets = send.duplicate ? [first, (first + 1 + Math.floor(next() * (SERVERS - 1))) % SERVERS] : [first];
          const answers = await Promise.all(targets.map((server) => post(server, send.payment)));
          const served = answers.filter((a) => a.status === 200).length;
          ok += served;
          if (served !== 1) unexpected.push(`channel ${send.channel} amount ${send.amount}: served ${served} times`);
          for (const answer of answers) {
            if (answer.status === 200) continue;
            if (send.duplicate && answer.error === "NOT_INCREASING") refusedDuplicates++;
            else unexpected.push(`channel ${send.channel} amount ${send.amount}: ${answer.status} ${answer.error}`);
          }
        }
      }),
    );
    for (const agent of agents) agent.destroy();

    expect(unexpected.slice(0, 10), `${unexpected.length} unexpected answers`).to.deep.equal([]);
    expect(ok, "served requests").to.equal(CHANNELS * VOUCHERS_PER_CHANNEL);
    expect(refusedDuplicates, "each duplicate is refused once").to.equal(duplicates);
    expect(duplicates).to.be.greaterThan(1000);

    const counts = await Promise.all(servers.splice(0).map((server) => server.stop()));
    const handled = counts.map((c) => c.paidServed);
    expect(handled.reduce((a, b) => a + b, 0), "requests that reached a handler").to.equal(CHANNELS * VOUCHERS_PER_CHANNEL);
    for (const n of handled) expect(n, "every server took a share").to.be.greaterThan(1000);

    const backend = postgres === undefined ? SqliteStore.open(storePath) : await PostgresStore.open(postgres.url, { schema: postgres.schema });
    const store = backend.forDeployment({ chainId, contract });
    try {
      for (const channel of channels) {
        const best = await store.bestVoucher(channel.id);
        // The best stored voucher is the highest signed, with its own signature: no voucher lost.
        expect(best).to.deep.equal({ channelId: channel.id, amount: PRICE * BigInt(VOUCHERS_PER_CHANNEL), signature: channel.signatures.at(-1) });
        // And what the ledger served is exactly what the vouchers paid.
        expect((await store.chargeLedger(channel.id))?.served).to.equal(PRICE * BigInt(VOUCHERS_PER_CHANNEL));
      }
    } finally {
      await store.close();
    }
  });

  it(`${SERVERS} processes on one ${kind === "sqlite" ? "SQLite file" : "PostgreSQL database"} with prepaid credit: re-presented vouchers, out of order, to any server, serve exactly what the best voucher pays for`, async () => {
    connection = await network.create();
    const { ethers } = connection;
    const [, payeeSigner, payerSigner] = await ethers.getSigners();
    const contract = (await (await ethers.deployContract("PaymentChannels")).getAddress()) as Address;
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const payee = payeeSigner.address as Address;
    const storePath = join(dir, "payee-prepaid.sqlite");
    const postgres = kind === "postgres" ? { url: await postgresUrl(), schema: freshSchema("multi_prepaid") } : undefined;
    const chain = ethersChain({ runner: ethers.provider, contract });
    servers = await Promise.all(
      Array.from({ length: SERVERS }, () =>
        startPaidApiProcess({ contract, chainId, payee, price: PRICE, minDeposit: PRICE, storePath, prepaidCredit: true, ...(postgres ? { postgres } : {}) }, chain),
      ),
    );

    // Each channel's payer signs one voucher per PREPAY requests (cumulative amount = PREPAY x price x j)
    // and sends voucher j with each of its PREPAY requests; a request refused (its voucher superseded by
    // a newer one stored first, or its credit taken by a later request) is sent again with the newest
    // voucher the payer has sent, as the paying fetch does.
    const CHANNELS_PREPAID = 40;
    const PREPAY = 6;
    const VOUCHERS = 10;
    const payer = new Payer({ chain: ethersChain({ runner: payerSigner, contract }), store: new MemoryStore() });
    const domain = { chainId, verifyingContract: contract };
    // Every voucher has its chain of one-time tokens; each send takes the voucher's next one.
    const TOKENS = 500;
    const channels: { id: Hex; payments: string[]; chains: { anchor: Hex; tokens: Hex[]; next: number }[]; newest: number }[] = [];
    for (let c = 0; c < CHANNELS_PREPAID; c++) {
      const salt = `0x${(c + 1).toString(16).padStart(64, "0")}` as Hex;
      const opened = await payer.open({ payee, amount: PRICE * BigInt(PREPAY * VOUCHERS), closeDelay: 3600n, salt });
      const sessionKey = (await payer.channel(opened.channelId))?.sessionKey as Hex;
      const payments = Array.from({ length: VOUCHERS }, (_, j) => {
        const voucher = signVoucher(domain, opened.channelId, PRICE * BigInt(PREPAY * (j + 1)), sessionKey);
        return encodePaymentPayload({ scheme: TRICKLE_SCHEME, chainId, contract, ...voucher, config: opened.config });
      });
      const chains = payments.map((_, j) => ({ ...prepaidChain(keccak256(new TextEncoder().encode(`${c}:${j}`)), TOKENS), next: 1 }));
      channels.push({ id: opened.channelId, payments, chains, newest: 0 });
    }
    const agents = servers.map(() => new Agent({ keepAlive: true, maxSockets: IN_FLIGHT }));
    const post = (server: number, channel: (typeof channels)[number], voucher: number): Promise<Answer> => {
      const chain = channel.chains[voucher];
      const index = chain.next++;
      const token = encodePrepaidToken({ anchor: chain.anchor, index, token: chain.tokens[index - 1] });
      return getPaid(servers[server], agents[server], { [PAYMENT_SIGNATURE_HEADER]: channel.payments[voucher], [PAYMENT_PREPAID_HEADER]: token });
    };

    const next = random(61);
    const pick = () => Math.floor(next() * SERVERS);
    // Request i of a channel carries voucher floor(i / PREPAY); shuffled within windows of 8.
    const perChannel = channels.map((_channel, c) => {
      const slots = Array.from({ length: PREPAY * VOUCHERS }, (_, i) => ({ channel: c, voucher: Math.floor(i / PREPAY) }));
      for (let start = 0; start < slots.length; start += 8) {
        for (let i = Math.min(start + 7, slots.length - 1); i > start; i--) {
          const j = start + Math.floor(next() * (i - start + 1));
          [slots[i], slots[j]] = [slots[j], slots[i]];
        }
      }
      return slots;
    });
    const queue: { channel: number; voucher: number }[] = [];
    for (let i = 0; i < PREPAY * VOUCHERS; i++) for (const slots of perChannel) queue.push(slots[i]);

    let served = 0;
    let resent = 0;
    const unexpected: string[] = [];
    let cursor = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (cursor < queue.length) {
          const send = queue[cursor++];
          const channel = channels[send.channel];
          let voucher = send.voucher;
          channel.newest = Math.max(channel.newest, voucher);
          for (let attempt = 0; ; attempt++) {
            const answer = await post(pick(), channel, voucher);
            if (answer.status === 200) {
              served++;
              break;
            }
            if (answer.error !== "NOT_INCREASING" || attempt === 20) {
              unexpected.push(`channel ${send.channel} voucher ${voucher}: ${answer.status} ${answer.error}`);
              break;
            }
            resent++;
            voucher = channel.newest;
          }
        }
      }),
    );

    expect(unexpected.slice(0, 10), `${unexpected.length} unexpected answers`).to.deep.equal([]);
    expect(served, "every request served").to.equal(CHANNELS_PREPAID * PREPAY * VOUCHERS);
    // The best voucher of each channel, once more: its credit is spent, so it buys nothing.
    for (const channel of channels) expect((await post(pick(), channel, VOUCHERS - 1)).error).to.equal("NOT_INCREASING");
    for (const agent of agents) agent.destroy();
    const counts = await Promise.all(servers.splice(0).map((server) => server.stop()));
    expect(counts.reduce((sum, c) => sum + c.paidServed, 0), "requests that reached a handler").to.equal(served);

    const backend = postgres === undefined ? SqliteStore.open(storePath) : await PostgresStore.open(postgres.url, { schema: postgres.schema });
    const store = backend.forDeployment({ chainId, contract });
    try {
      for (const channel of channels) {
        const paid = PRICE * BigInt(PREPAY * VOUCHERS);
        expect((await store.bestVoucher(channel.id))?.amount, "the best voucher is the highest signed").to.equal(paid);
        // Served x price is exactly the best voucher: never more, and no credit left unserved.
        expect((await store.chargeLedger(channel.id))?.served).to.equal(paid);
      }
    } finally {
      await store.close();
    }
    expect(resent, "some presentations raced a newer voucher and were sent again").to.be.greaterThan(0);
  });
}
