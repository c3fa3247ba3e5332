// Pay-per-request end to end: real HTTP on localhost, the in-process chain, the Payer and Payee SDK.
import { expect } from "chai";
import { ChannelStatus } from "../../src/channel.ts";
import type { Hex } from "../../src/channel.ts";
import {
  decodePaymentPayload,
  decodePaymentReceipt,
  decodePaymentRequired,
  encodePaymentPayload,
  PAYMENT_REQUIRED_HEADER,
  PAYMENT_RESPONSE_HEADER,
  PAYMENT_SIGNATURE_HEADER,
  TRICKLE_SCHEME,
} from "../../src/http/headers.ts";
import type { PaymentPayload } from "../../src/http/headers.ts";
import { signVoucher } from "../../src/voucher.ts";
import { balanceOf, channelIdOf, PRICE, startChain, startClient, startPaidApi } from "./fixture.ts";
import type { Chain, Client, PaidApi } from "./fixture.ts";

async function refusalOf(response: Response): Promise<string | undefined> {
  expect(response.status).to.equal(402);
  const body = (await response.json()) as { error: string; content?: string };
  expect(body).to.not.have.property("content");
  const header = response.headers.get(PAYMENT_REQUIRED_HEADER);
  expect(header).to.be.a("string");
  const requirements = decodePaymentRequired(header as string);
  expect(requirements.error ?? "PAYMENT_REQUIRED").to.equal(body.error);
  return requirements.error;
}

function sendPayment(api: PaidApi, payment: string, path = "/paid"): Promise<Response> {
  return fetch(`${api.url}${path}`, { headers: { [PAYMENT_SIGNATURE_HEADER]: payment } });
}

async function closeCost(chain: Chain, hash: Hex): Promise<bigint> {
  const receipt = await chain.connection.ethers.provider.getTransactionReceipt(hash);
  if (receipt === null) throw new Error("no receipt");
  return receipt.gasUsed * receipt.gasPrice;
}

describe("http: paid API end to end", function () {
  this.timeout(60_000);
  let chain: Chain;
  const apis: PaidApi[] = [];
  let nextAccount = 1;
  /** Fresh accounts per test, so balance checks see only that test's money. */
  const accounts = () => [nextAccount++, nextAccount++] as const;

  before(async () => {
    chain = await startChain();
  });
  afterEach(async () => {
    for (const api of apis.splice(0)) await api.stop();
  });

  async function setUp(gateOptions = {}, clientOptions = {}, payeeLimits = {}): Promise<{ api: PaidApi; client: Client }> {
    const [payeeIndex, payerIndex] = accounts();
    const api = await startPaidApi(chain, payeeIndex, gateOptions, payeeLimits);
    apis.push(api);
    return { api, client: await startClient(chain, payerIndex, clientOptions) };
  }

  it("runs the 402 flow from the first request to the payee's close, one round trip per paid request after the first", async () => {
    const { api, client } = await setUp({}, { reuseQuotedPrices: true });
    const unpaid = await fetch(`${api.url}/paid`);
    expect(await refusalOf(unpaid)).to.equal(undefined);
    const requirements = decodePaymentRequired(unpaid.headers.get(PAYMENT_REQUIRED_HEADER) as string);
    expect(requirements).to.include({ scheme: TRICKLE_SCHEME, chainId: chain.chainId, price: PRICE, minDeposit: 10n * PRICE, minCloseDelay: 3600n });
    expect(requirements.payee).to.equal(api.payeeAddress.toLowerCase());

    const first = await client.paidFetch(`${api.url}/paid`);
    expect(first.status).to.equal(200);
    expect(((await first.json()) as { content: string }).content).to.equal("paid content");
    expect(client.roundTrips()).to.equal(2); // the 402, then the paid retry
    const receipt = decodePaymentReceipt(first.headers.get(PAYMENT_RESPONSE_HEADER) as string);
    const channelId = channelIdOf(client);
    const deposit = 100n * PRICE;
    expect(receipt).to.deep.equal({ channelId, charged: PRICE, cumulative: PRICE, depositRemaining: deposit - PRICE });

    for (let i = 2; i <= 5; i++) {
      const response = await client.paidFetch(`${api.url}/paid?i=${i}`);
      expect(response.status).to.equal(200);
      expect(decodePaymentReceipt(response.headers.get(PAYMENT_RESPONSE_HEADER) as string).cumulative).to.equal(BigInt(i) * PRICE);
      await response.body?.cancel();
    }
    expect(client.roundTrips()).to.equal(6);
    // Only the first payment carries the channel config.
    expect(client.sentPayments.map((p) => decodePaymentPayload(p).config !== undefined)).to.deep.equal([true, false, false, false, false]);

    const payerBefore = await balanceOf(chain, client.payerAddress);
    const payeeBefore = await balanceOf(chain, api.payeeAddress);
    const closed = await api.payee.close(channelId);
    const state = await chain.connection.ethers.getContractAt("PaymentChannels", chain.contract).then((c) => c.channels(channelId));
    expect(state.status).to.equal(BigInt(ChannelStatus.Finished));
    expect(state.claimed).to.equal(5n * PRICE);
    expect((await balanceOf(chain, client.payerAddress)) - payerBefore).to.equal(deposit - 5n * PRICE);
    expect((await balanceOf(chain, api.payeeAddress)) - payeeBefore).to.equal(5n * PRICE - (await closeCost(chain, closed.hash)));
    expect(api.served()).to.equal(5);
  });

  it("serves many parallel paid requests from one channel and both sides end with the same total", async () => {
    const { api, client } = await setUp({}, { requestsPerDeposit: 1000n });
    const warmUp = await client.paidFetch(`${api.url}/paid`);
    expect(warmUp.status).to.equal(200);
    const n = 300;
    const responses = await Promise.all(Array.from({ length: n }, (_, i) => client.paidFetch(`${api.url}/paid?i=${i}`)));
    const statuses = await Promise.all(responses.map(async (r) => (await r.body?.cancel(), r.status)));
    expect(statuses.filter((s) => s === 200)).to.have.length(n);

    const channelId = channelIdOf(client);
    const signed = (await client.payer.channel(channelId))?.signedAmount;
    const best = (await api.payeeStore.bestVoucher(channelId))?.amount;
    expect(best).to.equal(signed);
    expect(api.served()).to.equal(n + 1);
    // Every served request was paid for exactly once: no request rode on another's payment.
    expect(best).to.equal(BigInt(n + 1) * PRICE);
    const closed = await api.payee.close(channelId);
    expect(closed.gasUsed).to.be.greaterThan(0n);
    const state = await chain.connection.ethers.getContractAt("PaymentChannels", chain.contract).then((c) => c.channels(channelId));
    expect(state.claimed).to.equal(best);
  });

  it("never serves a client that stops paying, nor a replayed voucher", async () => {
    const { api, client } = await setUp();
    for (let i = 0; i < 3; i++) expect((await client.paidFetch(`${api.url}/paid`)).status).to.equal(200);
    const lastPayment = client.sentPayments.at(-1) as string;

    for (let i = 0; i < 3; i++) expect(await refusalOf(await fetch(`${api.url}/paid`))).to.equal(undefined);
    const replayed = await sendPayment(api, lastPayment);
    expect(await refusalOf(replayed)).to.equal("NOT_INCREASING");
    expect(decodePaymentRequired(replayed.headers.get(PAYMENT_REQUIRED_HEADER) as string).cumulative).to.equal(3n * PRICE);
    expect(await refusalOf(await sendPayment(api, client.sentPayments[0]))).to.equal("NOT_INCREASING");
    expect(api.served()).to.equal(3);
  });

  it("refuses a voucher that adds less than the price, and does not store it", async () => {
    const { api, client } = await setUp();
    expect((await client.paidFetch(`${api.url}/paid`)).status).to.equal(200);
    const channelId = channelIdOf(client);
    const record = await client.payer.channel(channelId);
    const voucher = signVoucher({ chainId: chain.chainId, verifyingContract: chain.contract }, channelId, PRICE + PRICE / 2n, record?.sessionKey as Hex);
    const payment = encodePaymentPayload({ scheme: TRICKLE_SCHEME, chainId: chain.chainId, contract: chain.contract, ...voucher });
    expect(await refusalOf(await sendPayment(api, payment))).to.equal("INSUFFICIENT_PAYMENT");
    expect((await api.payeeStore.bestVoucher(channelId))?.amount).to.equal(PRICE);
  });

  it("issue 12.4: of two concurrent vouchers B + price and B + price + 1, the refused request stores nothing and costs nothing", async () => {
    // A chain of its own: the shared one has no spare accounts left for another payee and payer.
    const own = await startChain();
    const api = await startPaidApi(own, 1);
    apis.push(api);
    const client = await startClient(own, 2);
    expect((await client.paidFetch(`${api.url}/paid`)).status).to.equal(200);
    const channelId = channelIdOf(client);
    const sessionKey = (await client.payer.channel(channelId))?.sessionKey as Hex;
    const domain = { chainId: own.chainId, verifyingContract: own.contract };
    const pay = (amount: bigint) =>
      sendPayment(api, encodePaymentPayload({ scheme: TRICKLE_SCHEME, chainId: own.chainId, contract: own.contract, ...signVoucher(domain, channelId, amount, sessionKey) }));
    let best = PRICE;
    for (let round = 0; round < 20; round++) {
      const amounts = [best + PRICE, best + PRICE + 1n];
      const responses = await Promise.all(amounts.map(pay));
      const servedIndex = responses.findIndex((r) => r.status === 200);
      expect(responses.filter((r) => r.status === 200), `round ${round}`).to.have.length(1);
      expect(["INSUFFICIENT_PAYMENT", "NOT_INCREASING"]).to.include(await refusalOf(responses[1 - servedIndex]));
      const receipt = decodePaymentReceipt(responses[servedIndex].headers.get(PAYMENT_RESPONSE_HEADER) as string);
      await responses[servedIndex].body?.cancel();
      const stored = (await api.payeeStore.bestVoucher(channelId))?.amount;
      // The payee holds exactly the voucher of the request it served: the refused one added nothing.
      expect(stored, `round ${round}: the refused voucher was stored`).to.equal(amounts[servedIndex]);
      expect(receipt.cumulative).to.equal(stored);
      best = stored as bigint;
    }
    expect(api.served()).to.equal(21);
  });

  it("stops at the budget with a typed error and never deposits beyond it", async () => {
    const budget = 12n * PRICE;
    const { api, client } = await setUp({}, { budget, requestsPerDeposit: 10n, maxPrice: PRICE, maxDeposit: budget, originBudget: 2n * budget });
    for (let i = 0; i < 12; i++) {
      const response = await client.paidFetch(`${api.url}/paid`);
      expect(response.status).to.equal(200);
      await response.body?.cancel();
    }
    let thrown: unknown;
    try {
      await client.paidFetch(`${api.url}/paid`);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).to.have.property("code", "INSUFFICIENT_FUNDS");
    expect(client.paidFetch.budgetLeft()).to.equal(0n);
    const deposits = client.paidFetch.channels().reduce((sum, c) => sum + c.deposit, 0n);
    expect(deposits).to.equal(budget);
    const state = await chain.connection.ethers.getContractAt("PaymentChannels", chain.contract).then((c) => c.channels(channelIdOf(client)));
    expect(state.deposit).to.equal(budget);
    expect(api.served()).to.equal(12);
  });

  it("refuses vouchers for another payee, chain or contract with their codes", async () => {
    const { api, client } = await setUp();
    expect((await client.paidFetch(`${api.url}/paid`)).status).to.equal(200);
    const valid = decodePaymentPayload(client.sentPayments[0]);
    const resend = (change: Partial<PaymentPayload>) => sendPayment(api, encodePaymentPayload({ ...valid, ...change }));

    expect(await refusalOf(await resend({ chainId: 1n }))).to.equal("WRONG_CHAIN");
    expect(await refusalOf(await resend({ contract: `0x${"12".repeat(20)}` }))).to.equal("WRONG_CHAIN");

    // Signed for another contract, presented as ours: the signature does not verify.
    const channelId = channelIdOf(client);
    const sessionKey = (await client.payer.channel(channelId))?.sessionKey as Hex;
    const elsewhere = signVoucher({ chainId: chain.chainId, verifyingContract: `0x${"12".repeat(20)}` }, channelId, 2n * PRICE, sessionKey);
    expect(await refusalOf(await resend({ amount: elsewhere.amount, signature: elsewhere.signature }))).to.equal("BAD_SIGNATURE");
    const otherChain = signVoucher({ chainId: 1n, verifyingContract: chain.contract }, channelId, 2n * PRICE, sessionKey);
    expect(await refusalOf(await resend({ amount: otherChain.amount, signature: otherChain.signature }))).to.equal("BAD_SIGNATURE");

    // A channel to another payee, paid with valid vouchers.
    const [otherPayee] = accounts();
    const otherPayeeAddress = (await chain.connection.ethers.getSigners())[otherPayee].address as Hex;
    const other = await client.payer.open({ payee: otherPayeeAddress, amount: 10n * PRICE, closeDelay: 3600n });
    const voucher = await client.payer.pay(other.channelId, PRICE);
    const payment = encodePaymentPayload({ scheme: TRICKLE_SCHEME, chainId: chain.chainId, contract: chain.contract, ...voucher, config: other.config });
    const callsBefore = api.chainCalls();
    expect(await refusalOf(await sendPayment(api, payment))).to.equal("WRONG_PAYEE");
    expect(api.chainCalls()).to.equal(callsBefore);
    expect(api.served()).to.equal(1);
  });

  it("stops serving a channel whose payer asked to close, and the payee closes with the best voucher", async () => {
    const { api, client } = await setUp({}, {}, { syncIntervalMs: 0 });
    for (let i = 0; i < 4; i++) expect((await client.paidFetch(`${api.url}/paid`)).status).to.equal(200);
    const channelId = channelIdOf(client);
    const sessionKey = (await client.payer.channel(channelId))?.sessionKey as Hex;
    await client.payer.requestClose(channelId);

    // The payer's SDK signs nothing more; a voucher signed by hand is refused by the server.
    let thrown: unknown;
    try {
      await client.paidFetch(`${api.url}/paid`);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).to.have.property("code", "CHANNEL_CLOSING");
    expect(client.paidFetch.channels().map((c) => c.retired)).to.deep.equal([true]);
    const late = signVoucher({ chainId: chain.chainId, verifyingContract: chain.contract }, channelId, 5n * PRICE, sessionKey);
    const payment = encodePaymentPayload({ scheme: TRICKLE_SCHEME, chainId: chain.chainId, contract: chain.contract, ...late });
    expect(await refusalOf(await sendPayment(api, payment))).to.equal("CHANNEL_CLOSING");
    expect(api.served()).to.equal(4);

    const payerBefore = await balanceOf(chain, client.payerAddress);
    await api.payee.close(channelId);
    const state = await chain.connection.ethers.getContractAt("PaymentChannels", chain.contract).then((c) => c.channels(channelId));
    expect(state.claimed).to.equal(4n * PRICE);
    expect(state.status).to.equal(BigInt(ChannelStatus.Finished));
    expect((await balanceOf(chain, client.payerAddress)) - payerBefore).to.equal(100n * PRICE - 4n * PRICE);
  });

  it("answers oversize and malformed payment headers, and a flood of forged vouchers, without a chain call", async () => {
    // No periodic event pull during the test: every chain call would be one a request caused.
    const { api, client } = await setUp({}, {}, { syncIntervalMs: 600_000 });
    expect((await client.paidFetch(`${api.url}/paid`)).status).to.equal(200);
    const callsBefore = api.chainCalls();

    const oversize = await sendPayment(api, "A".repeat(5000));
    expect(oversize.status).to.equal(431);
    expect(decodePaymentRequired(oversize.headers.get(PAYMENT_REQUIRED_HEADER) as string).error).to.equal("MALFORMED");
    expect(await refusalOf(await sendPayment(api, "not-a-payment"))).to.equal("MALFORMED");
    // Beyond node's own header limit the connection gets 431 before any code of ours runs.
    expect((await sendPayment(api, "A".repeat(20_000))).status).to.equal(431);

    const valid = decodePaymentPayload(client.sentPayments[0]);
    const forged = await Promise.all(
      Array.from({ length: 100 }, (_, i) => {
        const signature = `0x${(BigInt(i + 1) * 7919n).toString(16).padStart(64, "0")}${"11".repeat(32)}1b` as Hex;
        return sendPayment(api, encodePaymentPayload({ ...valid, amount: BigInt(i + 2) * PRICE, signature }));
      }),
    );
    for (const response of forged) expect(["BAD_SIGNATURE", "MALFORMED"]).to.include(await refusalOf(response));
    const forgedAgain = await Promise.all(forged.map((_, i) => sendPayment(api, encodePaymentPayload({ ...valid, amount: BigInt(i + 2) * PRICE, signature: `0x${"33".repeat(64)}1c` }))));
    for (const response of forgedAgain) expect(["BAD_SIGNATURE", "MALFORMED"]).to.include(await refusalOf(response));
    // Fresh channel ids with configs that do not hash to them, and ids nobody sent a config for.
    const unknown = await Promise.all(
      Array.from({ length: 50 }, (_, i) => sendPayment(api, encodePaymentPayload({ ...valid, channelId: `0x${(i + 1).toString(16).padStart(64, "0")}` }))),
    );
    for (const response of unknown) expect(["MALFORMED", "UNKNOWN_CHANNEL"]).to.include(await refusalOf(response));
    // 250 refused requests; the only chain call allowed is the Payee's one-time, cached check of whether
    // the channel's signer is a contract (ERC-1271), made on the channel's first bad signature.
    expect(api.chainCalls() - callsBefore).to.be.at.most(1);
    expect(api.served()).to.equal(1);
  });
});

describe("http: paying fetch and Payer on one channel", function () {
  this.timeout(60_000);
  let chain: Chain;
  before(async () => {
    chain = await startChain();
  });

  it("goes on paying after the same Payer signed on the channel outside the fetch, from the Payer's signed amount", async () => {
    const api = await startPaidApi(chain, 1);
    const client = await startClient(chain, 2);
    expect((await client.paidFetch(`${api.url}/paid`)).status).to.equal(200);
    const channelId = channelIdOf(client);
    const outside = await client.payer.pay(channelId, 7n * PRICE); // for instance a subscription period
    await api.payee.accept(outside);
    const response = await client.paidFetch(`${api.url}/paid`);
    expect(response.status).to.equal(200);
    expect((await client.payer.channel(channelId))?.signedAmount).to.equal(outside.amount + PRICE);
    expect((await api.payeeStore.bestVoucher(channelId))?.amount).to.equal(outside.amount + PRICE);
    await api.stop();
  });
});
