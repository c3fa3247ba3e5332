// A hostile or compromised server against the paying fetch: every 402 it sends is checked against the
// payer's policy before anything is opened or signed, and what the payer signs never goes beyond the
// policy, nor beyond the price of the requests that were served.
import { once } from "node:events";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import fc from "fast-check";
import { ChannelStatus, ETH } from "../../src/channel.ts";
import type { Address, ChannelConfig, ChannelState, Hex } from "../../src/channel.ts";
import type { ChainWriter, TxResult } from "../../src/chain/adapter.ts";
import { ethersChain } from "../../src/chain/ethers.ts";
import { createPayingFetch } from "../../src/http/fetch.ts";
import type { PayingFetch, PayingFetchOptions } from "../../src/http/fetch.ts";
import { decodePaymentPayload, encodePaymentRequired, PAYMENT_REQUIRED_HEADER, PAYMENT_SIGNATURE_HEADER, TRICKLE_SCHEME } from "../../src/http/headers.ts";
import type { PaymentErrorCode, PaymentPayload, PaymentRequirements } from "../../src/http/headers.ts";
import { Payer } from "../../src/payer.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { channelId as computeChannelId } from "../../src/channel.ts";
import { balanceOf, PRICE, startChain, startClient, startPaidApi } from "./fixture.ts";
import type { Chain, PaidApi } from "./fixture.ts";

/** What the hostile server answers: a 402 with these requirements, or a plain status. */
type Answer = { status: 402; requirements: PaymentRequirements } | { status: number };

interface HostileServer {
  url: string;
  /** Every payment the server received, decoded. */
  payments: PaymentPayload[];
  stop(): Promise<void>;
}

async function startHostileServer(answer: (paid: PaymentPayload | undefined, request: IncomingMessage) => Answer): Promise<HostileServer> {
  const payments: PaymentPayload[] = [];
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const header = request.headers[PAYMENT_SIGNATURE_HEADER.toLowerCase()];
    const paid = typeof header === "string" ? decodePaymentPayload(header) : undefined;
    if (paid !== undefined) payments.push(paid);
    const reply = answer(paid, request);
    if ("requirements" in reply) {
      response.writeHead(402, { [PAYMENT_REQUIRED_HEADER]: encodePaymentRequired(reply.requirements), "Content-Type": "application/json" });
      response.end(JSON.stringify({ error: reply.requirements.error ?? "PAYMENT_REQUIRED" }));
    } else {
      response.writeHead(reply.status);
      response.end("ok");
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    payments,
    async stop() {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

function highest(payments: PaymentPayload[]): bigint {
  return payments.reduce((best, p) => (p.amount > best ? p.amount : best), 0n);
}

describe("http: a hostile server against the paying fetch", function () {
  this.timeout(60_000);
  let chain: Chain;
  const stops: (() => Promise<void>)[] = [];
  let accountsUsed = 0;
  /** Accounts 1..19 in turn; tests run one after another, so each sees only its own money move. */
  const nextAccount = () => (accountsUsed++ % 19) + 1;

  before(async () => {
    chain = await startChain();
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  async function hostile(answer: (paid: PaymentPayload | undefined, request: IncomingMessage) => Answer): Promise<HostileServer> {
    const server = await startHostileServer(answer);
    stops.push(() => server.stop());
    return server;
  }

  const BUDGET = 1_000_000n;
  /** The policy of every client below: maxPrice 10,000, originBudget and maxDeposit 100,000, one day. */
  async function client(options: Partial<PayingFetchOptions> = {}) {
    const payerIndex = nextAccount();
    const payeeIndex = nextAccount();
    const c = await startClient(chain, payerIndex, { budget: BUDGET, requestsPerDeposit: 10n, ...options });
    const signers = await chain.connection.ethers.getSigners();
    const payee = signers[payeeIndex].address as Address;
    const requirements = (overrides: Partial<PaymentRequirements> = {}): PaymentRequirements => ({
      scheme: TRICKLE_SCHEME,
      chainId: chain.chainId,
      contract: chain.contract,
      payee,
      token: ETH,
      price: PRICE,
      minDeposit: 10n * PRICE,
      minCloseDelay: 3600n,
      ...overrides,
    });
    return { ...c, payee, payeeSigner: signers[payeeIndex], requirements, balance: () => balanceOf(chain, c.payerAddress) };
  }

  async function expectRefusedBeforeSigning(answer: (r: (o?: Partial<PaymentRequirements>) => PaymentRequirements) => PaymentRequirements, code: string, options: Partial<PayingFetchOptions> = {}) {
    const c = await client(options);
    const server = await hostile(() => ({ status: 402, requirements: answer(c.requirements) }));
    const before = await c.balance();
    let caught: unknown;
    try {
      await c.paidFetch(`${server.url}/data`);
    } catch (error) {
      caught = error;
    }
    expect(caught).to.have.property("code", code);
    expect(server.payments).to.have.length(0); // nothing sent
    expect(c.paidFetch.channels()).to.have.length(0); // nothing opened
    expect(c.paidFetch.budgetLeft()).to.equal(BUDGET);
    expect(await c.balance()).to.equal(before); // not a wei moved, not even gas
    expect(c.sentPayments).to.have.length(0);
  }

  it("refuses a price equal to the budget (PRICE_TOO_HIGH)", async () => {
    await expectRefusedBeforeSigning((r) => r({ price: BUDGET, minDeposit: BUDGET }), "PRICE_TOO_HIGH");
  });

  it("refuses a close delay of a year (CLOSE_DELAY_TOO_LONG)", async () => {
    await expectRefusedBeforeSigning((r) => r({ minCloseDelay: 365n * 86_400n }), "CLOSE_DELAY_TOO_LONG");
  });

  it("refuses a payee outside the allowed list (PAYEE_NOT_ALLOWED)", async () => {
    const signers = await chain.connection.ethers.getSigners();
    await expectRefusedBeforeSigning((r) => r(), "PAYEE_NOT_ALLOWED", { payees: [signers[0].address as Address] });
  });

  it("refuses an origin outside the allowed list (ORIGIN_NOT_ALLOWED)", async () => {
    await expectRefusedBeforeSigning((r) => r(), "ORIGIN_NOT_ALLOWED", { origins: ["https://api.example"] });
  });

  it("refuses another chain and another contract (WRONG_CHAIN)", async () => {
    await expectRefusedBeforeSigning((r) => r({ chainId: chain.chainId + 1n }), "WRONG_CHAIN");
    await expectRefusedBeforeSigning((r) => r({ contract: "0x000000000000000000000000000000000000dEaD" }), "WRONG_CHAIN");
  });

  it("refuses a minimum deposit above maxDeposit (DEPOSIT_TOO_HIGH)", async () => {
    await expectRefusedBeforeSigning((r) => r({ minDeposit: BUDGET / 2n }), "DEPOSIT_TOO_HIGH");
  });

  it("signs nothing before the request's own price is known: every request goes unpaid first", async () => {
    const c = await client();
    let price = PRICE;
    const server = await hostile((paid) => (paid === undefined ? { status: 402, requirements: c.requirements({ price }) } : { status: 200 }));
    expect((await c.paidFetch(`${server.url}/a`)).status).to.equal(200);
    price = 3n * PRICE; // the route got dearer: the next voucher is for the new price, no other
    expect((await c.paidFetch(`${server.url}/a`)).status).to.equal(200);
    expect(server.payments.map((p) => p.amount)).to.deep.equal([PRICE, 4n * PRICE]);
    expect(c.roundTrips()).to.equal(4);
  });

  it("a price raised between the 402 and the retry: the new voucher supersedes the refused one", async () => {
    const c = await client();
    const server = await hostile((paid) => {
      if (paid === undefined) return { status: 402, requirements: c.requirements() };
      if (paid.amount < 5n * PRICE) return { status: 402, requirements: c.requirements({ price: 5n * PRICE, error: "INSUFFICIENT_PAYMENT", channelId: paid.channelId, cumulative: 0n }) };
      return { status: 200 };
    });
    expect((await c.paidFetch(`${server.url}/data`)).status).to.equal(200);
    // One served request at 5 × PRICE: the payee can claim exactly that, not PRICE more.
    expect(server.payments.map((p) => p.amount)).to.deep.equal([PRICE, 5n * PRICE]);
    const record = await c.payer.channel(server.payments[0].channelId);
    expect(record?.signedAmount).to.equal(5n * PRICE);
  });

  it("a price raised above maxPrice on the retry: refused with one voucher of the first price out", async () => {
    const c = await client();
    const server = await hostile((paid) =>
      paid === undefined
        ? { status: 402, requirements: c.requirements() }
        : { status: 402, requirements: c.requirements({ price: BUDGET, error: "INSUFFICIENT_PAYMENT", channelId: paid.channelId, cumulative: 0n }) },
    );
    let caught: unknown;
    try {
      await c.paidFetch(`${server.url}/data`);
    } catch (error) {
      caught = error;
    }
    expect(caught).to.have.property("code", "PRICE_TOO_HIGH");
    expect(server.payments.map((p) => p.amount)).to.deep.equal([PRICE]);
  });

  it("a payee that never serves gets maxUnservedPayments vouchers of its price, then nothing, and can claim no more", async () => {
    const c = await client({ maxUnservedPayments: 2 });
    const server = await hostile((paid) => (paid === undefined ? { status: 402, requirements: c.requirements() } : { status: 500 }));
    for (let i = 0; i < 2; i++) expect((await c.paidFetch(`${server.url}/data`)).status).to.equal(500);
    let caught: unknown;
    try {
      await c.paidFetch(`${server.url}/data`);
    } catch (error) {
      caught = error;
    }
    expect(caught).to.have.property("code", "PAYEE_NOT_SERVING");
    expect(server.payments).to.have.length(2);
    const best = server.payments[1];
    expect(best.amount).to.equal(2n * PRICE);
    const channelId = best.channelId;
    expect((await c.payer.channel(channelId))?.signedAmount).to.equal(2n * PRICE);

    // The payee claims the best voucher it got: that, and only that, leaves the payer.
    const payeeChain = ethersChain({ runner: c.payeeSigner, contract: chain.contract });
    const config = (await c.payer.channel(channelId))?.config as ChannelConfig;
    const payeeBefore = await balanceOf(chain, c.payee);
    const claim = await payeeChain.claim(config, best.amount, best.signature);
    const receipt = await chain.connection.ethers.provider.getTransactionReceipt(claim.hash);
    const gas = (receipt?.gasUsed ?? 0n) * (receipt?.gasPrice ?? 0n);
    expect((await balanceOf(chain, c.payee)) - payeeBefore + gas).to.equal(2n * PRICE);
    const state = await payeeChain.readChannel(channelId);
    expect(state.claimed).to.equal(2n * PRICE);
  });

  it("with prepay, a payee that never serves holds at most prepay x price: the credit is sent again, never signed again", async () => {
    const c = await client({ maxUnservedPayments: 2, prepay: 5 });
    const server = await hostile((paid) => (paid === undefined ? { status: 402, requirements: c.requirements({ prepaid: true }) } : { status: 500 }));
    for (let i = 0; i < 2; i++) expect((await c.paidFetch(`${server.url}/data`)).status).to.equal(500);
    let caught: unknown;
    try {
      await c.paidFetch(`${server.url}/data`);
    } catch (error) {
      caught = error;
    }
    expect(caught).to.have.property("code", "PAYEE_NOT_SERVING");
    expect(server.payments.map((p) => p.amount)).to.deep.equal([5n * PRICE, 5n * PRICE]);
    expect((await c.payer.channel(server.payments[0].channelId))?.signedAmount).to.equal(5n * PRICE);
  });

  it("with prepay, a server refusing every prepaid voucher gets two new vouchers per request, each prepay x price above the last", async () => {
    const c = await client({ maxUnservedPayments: 1, prepay: 5 });
    const server = await hostile((paid) =>
      paid === undefined ? { status: 402, requirements: c.requirements({ prepaid: true }) } : { status: 402, requirements: c.requirements({ prepaid: true, error: "NOT_INCREASING", channelId: paid.channelId, cumulative: 0n }) },
    );
    const response = await c.paidFetch(`${server.url}/data`);
    expect(response.status).to.equal(402);
    await response.body?.cancel();
    expect(server.payments.map((p) => p.amount)).to.deep.equal([5n * PRICE, 10n * PRICE]);
    let caught: unknown;
    try {
      await c.paidFetch(`${server.url}/data`);
    } catch (error) {
      caught = error;
    }
    expect(caught).to.have.property("code", "PAYEE_NOT_SERVING");
    expect(server.payments).to.have.length(2);
  });

  it("stops at the origin budget whatever the server keeps asking", async () => {
    const c = await client({ originBudget: 3n * PRICE });
    const server = await hostile((paid) => (paid === undefined ? { status: 402, requirements: c.requirements() } : { status: 200 }));
    for (let i = 0; i < 3; i++) expect((await c.paidFetch(`${server.url}/data?i=${i}`)).status).to.equal(200);
    let caught: unknown;
    try {
      await c.paidFetch(`${server.url}/data`);
    } catch (error) {
      caught = error;
    }
    expect(caught).to.have.property("code", "ORIGIN_BUDGET_EXCEEDED");
    expect(highest(server.payments)).to.equal(3n * PRICE);
    expect(c.paidFetch.originSpent(server.url)).to.equal(3n * PRICE);
  });

  it("a refused request against a real payee costs nothing: a price change between the 402 and the payment", async () => {
    const payeeIndex = nextAccount();
    let price = PRICE;
    const api: PaidApi = await startPaidApi(chain, payeeIndex, { price: () => price });
    stops.push(() => api.stop());
    const c = await startClient(chain, nextAccount(), { budget: BUDGET, requestsPerDeposit: 10n, reuseQuotedPrices: true });
    expect((await c.paidFetch(`${api.url}/paid`)).status).to.equal(200);
    price = 2n * PRICE; // the quoted price is stale: the payment at PRICE is refused, and superseded
    expect((await c.paidFetch(`${api.url}/paid`)).status).to.equal(200);
    const channelId = c.paidFetch.channels()[0].channelId;
    expect((await api.payeeStore.bestVoucher(channelId))?.amount).to.equal(3n * PRICE);
    expect((await c.payer.channel(channelId))?.signedAmount).to.equal(3n * PRICE);
    expect(api.served()).to.equal(2);
  });
});

// ------------------------------------------------------------------------------------------------
// Property: random hostile 402s against an in-memory chain. Whatever the server answers, the payer
// never signs beyond its policy.

const CHAIN_ID = 31337n;
const CONTRACT = "0x00000000000000000000000000000000000000c0" as Address;
const PAYER = "0x00000000000000000000000000000000000000a1" as Address;
const PAYEES = ["0x00000000000000000000000000000000000000b1", "0x00000000000000000000000000000000000000b2"] as Address[];

/** The chain calls a Payer makes, in memory. */
function memoryChain(): ChainWriter {
  const states = new Map<Hex, ChannelState>();
  const tx = (): TxResult => ({ hash: `0x${"00".repeat(32)}` as Hex, gasUsed: 0n, blockNumber: 0n });
  const partial: Partial<ChainWriter> = {
    contract: CONTRACT,
    account: PAYER,
    chainId: async () => CHAIN_ID,
    readChannel: async (id) => ({ ...(states.get(id.toLowerCase() as Hex) ?? { deposit: 0n, claimed: 0n, closesAt: 0n, status: ChannelStatus.None }) }),
    open: async (config, amount) => {
      states.set(computeChannelId(config), { deposit: amount, claimed: 0n, closesAt: 0n, status: ChannelStatus.Open });
      return tx();
    },
    topUp: async (config, amount) => {
      const state = states.get(computeChannelId(config)) as ChannelState;
      state.deposit += amount;
      return tx();
    },
  };
  return partial as ChainWriter;
}

interface HostileStep {
  price: bigint;
  minDeposit: bigint;
  minCloseDelay: bigint;
  payee: number;
  otherChain: boolean;
  /** What the server does with a paid request. */
  paid: { kind: "serve" } | { kind: "fail" } | { kind: "refuse"; error: PaymentErrorCode; price: bigint; cumulative: bigint };
}

const step: fc.Arbitrary<HostileStep> = fc.record({
  price: fc.bigInt({ min: 1n, max: 20_000n }),
  minDeposit: fc.bigInt({ min: 0n, max: 200_000n }),
  minCloseDelay: fc.constantFrom(0n, 3600n, 86_400n, 86_401n, 365n * 86_400n),
  payee: fc.integer({ min: 0, max: 1 }),
  otherChain: fc.boolean(),
  paid: fc.oneof(
    fc.constant({ kind: "serve" as const }),
    fc.constant({ kind: "fail" as const }),
    fc.record({
      kind: fc.constant("refuse" as const),
      error: fc.constantFrom<PaymentErrorCode>("INSUFFICIENT_PAYMENT", "NOT_INCREASING", "UNKNOWN_CHANNEL", "CHANNEL_CLOSING", "BAD_SIGNATURE"),
      price: fc.bigInt({ min: 1n, max: 20_000n }),
      cumulative: fc.bigInt({ min: 0n, max: 1_000_000n }),
    }),
  ),
});

describe("http: paying fetch policy holds against random hostile 402s", function () {
  this.timeout(120_000);

  it("never signs above maxPrice a request, originBudget an origin, maxDeposit a channel, nor for a 402 outside the policy", async () => {
    const policy = { budget: 400_000n, maxPrice: 10_000n, originBudget: 60_000n, maxDeposit: 50_000n, maxCloseDelay: 86_400n, payees: [PAYEES[0]] };
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        const payments: PaymentPayload[] = [];
        let current: HostileStep = steps[0];
        const requirementsOf = (s: HostileStep, extra: Partial<PaymentRequirements> = {}): PaymentRequirements => ({
          scheme: TRICKLE_SCHEME,
          chainId: s.otherChain ? CHAIN_ID + 1n : CHAIN_ID,
          contract: CONTRACT,
          payee: PAYEES[s.payee],
          token: ETH,
          price: s.price,
          minDeposit: s.minDeposit,
          minCloseDelay: s.minCloseDelay,
          ...extra,
        });
        const hostileFetch: typeof fetch = async (input, init) => {
          const request = new Request(input, init);
          const header = request.headers.get(PAYMENT_SIGNATURE_HEADER);
          const reply = (status: number, requirements?: PaymentRequirements) =>
            new Response("x", { status, headers: requirements === undefined ? {} : { [PAYMENT_REQUIRED_HEADER]: encodePaymentRequired(requirements) } });
          if (header === null) return reply(402, requirementsOf(current));
          const paid = decodePaymentPayload(header);
          payments.push(paid);
          if (current.paid.kind === "serve") return reply(200);
          if (current.paid.kind === "fail") return reply(503);
          const { error, price, cumulative } = current.paid;
          return reply(402, requirementsOf(current, { error, price, cumulative, channelId: paid.channelId }));
        };
        const payer = new Payer({ chain: memoryChain(), store: new MemoryStore() });
        const paidFetch: PayingFetch = createPayingFetch({ payer, fetch: hostileFetch, chain: { chainId: CHAIN_ID, contract: CONTRACT }, ...policy });

        const allowed: boolean[] = [];
        for (const s of steps) {
          current = s;
          const inPolicy =
            !s.otherChain &&
            s.payee === 0 &&
            s.price <= policy.maxPrice &&
            s.minCloseDelay <= policy.maxCloseDelay &&
            (s.minDeposit > s.price ? s.minDeposit : s.price) <= policy.maxDeposit;
          allowed.push(inPolicy);
          const before = payments.length;
          try {
            await paidFetch("https://hostile.example/data");
          } catch (error) {
            expect(error).to.have.property("code").that.is.a("string");
          }
          if (!inPolicy) expect(payments.length).to.equal(before); // refused before signing
        }

        // Per voucher: it raises its channel's amount by at most maxPrice.
        const lastOf = new Map<string, bigint>();
        for (const p of payments) {
          const last = lastOf.get(p.channelId) ?? 0n;
          expect(p.amount - last).to.be.at.most(policy.maxPrice);
          expect(p.amount).to.be.greaterThan(last);
          lastOf.set(p.channelId, p.amount);
        }
        const signed = [...lastOf.values()].reduce((a, b) => a + b, 0n);
        expect(signed).to.be.at.most(policy.originBudget);
        expect(paidFetch.originSpent("https://hostile.example")).to.equal(signed);
        for (const channel of paidFetch.channels()) {
          expect(channel.deposit).to.be.at.most(policy.maxDeposit);
          expect(channel.config.closeDelay).to.be.at.most(policy.maxCloseDelay);
          expect(channel.config.payee.toLowerCase()).to.equal(PAYEES[0]);
          expect(channel.signed).to.be.at.most(channel.deposit);
        }
        expect(policy.budget - paidFetch.budgetLeft()).to.equal(paidFetch.channels().reduce((a, c) => a + c.deposit, 0n));
      }),
      { numRuns: 60 },
    );
  });
});
