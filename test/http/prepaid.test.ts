// Prepaid credit end to end: a payee whose policy takes it, a paying fetch that signs one voucher for
// its next k requests and sends it k times, each time with the next one-time token of the voucher's
// hash chain. The payee recovers each voucher's signature once, serves exactly what the best voucher
// pays for, and refuses a re-presented voucher without an unspent token, or once its credit is spent.
import { expect } from "chai";
import {
  decodePaymentPayload,
  decodePaymentRequired,
  decodePrepaidToken,
  encodePaymentPayload,
  encodePrepaidToken,
  PAYMENT_PREPAID_HEADER,
  PAYMENT_REQUIRED_HEADER,
  PAYMENT_SIGNATURE_HEADER,
  TRICKLE_SCHEME,
} from "../../src/http/headers.ts";
import { VoucherVerifier, signVoucher } from "../../src/voucher.ts";
import type { Hex } from "../../src/channel.ts";
import { channelIdOf, PRICE, startChain, startClient, startPaidApi } from "./fixture.ts";
import type { Chain, Client, PaidApi } from "./fixture.ts";

/** Counts signature checks (each one a secp256k1 recovery) while `work` runs. */
async function countingVerifications<T>(work: () => Promise<T>): Promise<{ result: T; verifications: number }> {
  const original = VoucherVerifier.prototype.verify;
  let verifications = 0;
  VoucherVerifier.prototype.verify = function (this: VoucherVerifier, ...args: Parameters<VoucherVerifier["verify"]>) {
    verifications++;
    return original.apply(this, args);
  };
  try {
    return { result: await work(), verifications };
  } finally {
    VoucherVerifier.prototype.verify = original;
  }
}

async function statusOf(response: Response): Promise<number> {
  await response.body?.cancel();
  return response.status;
}

describe("http: prepaid credit", function () {
  this.timeout(60_000);
  let chain: Chain;
  const apis: PaidApi[] = [];
  let nextAccount = 1;

  before(async () => {
    chain = await startChain();
  });
  afterEach(async () => {
    for (const api of apis.splice(0)) await api.stop();
  });

  async function setUp(prepaidCredit: boolean, clientOptions = {}): Promise<{ api: PaidApi; client: Client }> {
    const [payeeIndex, payerIndex] = [nextAccount++, nextAccount++];
    const api = await startPaidApi(chain, payeeIndex, {}, {}, { prepaidCredit });
    apis.push(api);
    return { api, client: await startClient(chain, payerIndex, { requestsPerDeposit: 1000n, ...clientOptions }) };
  }

  it("signs one voucher per k requests, recovers each voucher once, and serves exactly what the best voucher pays for", async () => {
    const { api, client } = await setUp(true, { prepay: 10, reuseQuotedPrices: true });
    const unpaid = await fetch(`${api.url}/paid`);
    await unpaid.body?.cancel();
    expect(decodePaymentRequired(unpaid.headers.get(PAYMENT_REQUIRED_HEADER) as string).prepaid).to.equal(true);

    const { verifications } = await countingVerifications(async () => {
      for (let i = 0; i < 25; i++) expect(await statusOf(await client.paidFetch(`${api.url}/paid?i=${i}`))).to.equal(200);
    });
    const channelId = channelIdOf(client);
    const amounts = [...new Set(client.sentPayments.map((p) => decodePaymentPayload(p).amount))];
    expect(amounts).to.deep.equal([10n * PRICE, 20n * PRICE, 30n * PRICE]);
    // The first voucher is checked by the gate (a new channel) and the Payee; each later one once.
    expect(verifications).to.equal(amounts.length + 1);
    expect(client.roundTrips()).to.equal(26); // the first 402, then one round trip per request
    expect((await api.payeeStore.bestVoucher(channelId))?.amount).to.equal(30n * PRICE);
    expect((await api.payeeStore.chargeLedger(channelId))?.served).to.equal(25n * PRICE);
    expect(api.served()).to.equal(25);

    // The credit left pays the next five requests with the same voucher, then a new one is signed.
    for (let i = 0; i < 6; i++) expect(await statusOf(await client.paidFetch(`${api.url}/paid?j=${i}`))).to.equal(200);
    expect((await api.payeeStore.chargeLedger(channelId))?.served).to.equal(31n * PRICE);
    expect((await client.payer.channel(channelId))?.signedAmount).to.equal(40n * PRICE);
  });

  it("each request carries the next one-time token: a copy of the voucher and of every token sent buys nothing, and a superseded voucher is refused", async () => {
    const { api, client } = await setUp(true, { prepay: 4 });
    expect(await statusOf(await client.paidFetch(`${api.url}/paid`))).to.equal(200);
    const voucher = client.sentPayments[0];
    expect(decodePaymentPayload(voucher).amount).to.equal(4n * PRICE);
    const first = decodePrepaidToken(client.sentPrepaid[0]);
    expect(first.index).to.equal(1);
    const send = (payment: string, prepaid?: string) =>
      fetch(`${api.url}/paid`, { headers: { [PAYMENT_SIGNATURE_HEADER]: payment, ...(prepaid === undefined ? {} : { [PAYMENT_PREPAID_HEADER]: prepaid }) } });
    const refusedWith = async (response: Response, error: string) => {
      expect(response.status).to.equal(402);
      expect(decodePaymentRequired(response.headers.get(PAYMENT_REQUIRED_HEADER) as string)).to.include({ error });
      await response.body?.cancel();
    };
    // Someone who copied the voucher and its token off the connection: without a token, with the spent
    // token, with a made-up token or with the spent token's hash, the copy buys nothing.
    await refusedWith(await send(voucher), "NOT_INCREASING");
    await refusedWith(await send(voucher, client.sentPrepaid[0]), "NOT_INCREASING");
    await refusedWith(await send(voucher, encodePrepaidToken({ ...first, index: 2, token: `0x${"11".repeat(32)}` })), "NOT_INCREASING");
    await refusedWith(await send(voucher, encodePrepaidToken({ ...first, index: 0 as never })), "MALFORMED");
    expect(api.served()).to.equal(1);
    // The payer's own next requests go on with tokens 2, 3 and 4, then a new voucher with a new chain.
    for (let i = 0; i < 4; i++) expect(await statusOf(await client.paidFetch(`${api.url}/paid`))).to.equal(200);
    expect(client.sentPrepaid.map((header) => decodePrepaidToken(header).index)).to.deep.equal([1, 2, 3, 4, 1]);
    expect(decodePrepaidToken(client.sentPrepaid[4]).anchor).to.not.equal(first.anchor);
    expect(api.served()).to.equal(5);
    const channelId = channelIdOf(client);
    expect((await api.payeeStore.chargeLedger(channelId))?.served).to.equal(5n * PRICE);
    expect((await api.payeeStore.bestVoucher(channelId))?.amount).to.equal(8n * PRICE);
    // The first voucher, no longer the best, buys nothing even with an unspent token of its chain.
    await refusedWith(await send(voucher, encodePrepaidToken({ ...first, index: 5, token: first.token })), "NOT_INCREASING");
    expect(api.served()).to.equal(5);
  });

  it("a payee without prepaidCredit: its 402 does not offer it, the fetch signs one voucher per request, and the best presented again is a replay", async () => {
    const { api, client } = await setUp(false, { prepay: 10 });
    for (let i = 0; i < 4; i++) expect(await statusOf(await client.paidFetch(`${api.url}/paid`))).to.equal(200);
    expect(client.sentPayments.map((p) => decodePaymentPayload(p).amount)).to.deep.equal([1n, 2n, 3n, 4n].map((n) => n * PRICE));
    const channelId = channelIdOf(client);
    expect((await client.payer.channel(channelId))?.signedAmount).to.equal(4n * PRICE);

    // Hand-made: a voucher for 3 more requests, then sent again: the second time is a replay.
    const sessionKey = (await client.payer.channel(channelId))?.sessionKey as Hex;
    const ahead = signVoucher({ chainId: chain.chainId, verifyingContract: chain.contract }, channelId, 7n * PRICE, sessionKey);
    const payment = encodePaymentPayload({ scheme: TRICKLE_SCHEME, chainId: chain.chainId, contract: chain.contract, ...ahead });
    const send = () => fetch(`${api.url}/paid`, { headers: { [PAYMENT_SIGNATURE_HEADER]: payment } });
    expect(await statusOf(await send())).to.equal(200);
    const again = await send();
    expect(again.status).to.equal(402);
    expect(decodePaymentRequired(again.headers.get(PAYMENT_REQUIRED_HEADER) as string)).to.include({ error: "NOT_INCREASING" });
    expect(decodePaymentRequired(again.headers.get(PAYMENT_REQUIRED_HEADER) as string).prepaid).to.equal(undefined);
    await again.body?.cancel();
  });

  it("parallel requests from one channel with prepay: every request is served, and what was served never exceeds the best voucher", async () => {
    const { api, client } = await setUp(true, { prepay: 16 });
    expect(await statusOf(await client.paidFetch(`${api.url}/paid`))).to.equal(200);
    const n = 300;
    const statuses = await Promise.all(Array.from({ length: n }, async (_, i) => statusOf(await client.paidFetch(`${api.url}/paid?i=${i}`))));
    expect(statuses.filter((s) => s === 200)).to.have.length(n);
    const channelId = channelIdOf(client);
    const best = (await api.payeeStore.bestVoucher(channelId))?.amount as bigint;
    const served = (await api.payeeStore.chargeLedger(channelId))?.served as bigint;
    expect(api.served()).to.equal(n + 1);
    expect(served).to.equal(BigInt(n + 1) * PRICE);
    expect(best).to.equal((await client.payer.channel(channelId))?.signedAmount);
    // Paid ahead by at most one voucher's credit.
    expect(best - served < 16n * PRICE, `best ${best}, served ${served}`).to.equal(true);
    // Far fewer vouchers than requests.
    expect(new Set(client.sentPayments.map((p) => decodePaymentPayload(p).amount)).size).to.be.below(n / 8);
  });

  it("the payer's policy bounds the credit: prepay within originBudget and the deposit, and refuses a prepay out of range", async () => {
    const { api, client } = await setUp(true, { prepay: 50, originBudget: 20n * PRICE, requestsPerDeposit: 1000n });
    for (let i = 0; i < 3; i++) expect(await statusOf(await client.paidFetch(`${api.url}/paid`))).to.equal(200);
    expect(decodePaymentPayload(client.sentPayments[0]).amount).to.equal(20n * PRICE);
    for (const prepay of [0, 1.5, 10_001]) {
      let error: unknown;
      try {
        await startClient(chain, 0, { prepay });
      } catch (caught) {
        error = caught;
      }
      expect((error as { code?: string } | undefined)?.code, `prepay ${prepay}`).to.equal("INVALID_ARGUMENT");
    }
  });
});
