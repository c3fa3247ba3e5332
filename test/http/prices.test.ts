// Gate prices in currency units: "0.001 USDC" read exactly with the gate's token, base units on the wire,
// and a typed error (never a rounding) for another symbol or more decimals than the token has.
import { expect } from "chai";
import type { Address } from "../../src/channel.ts";
import { ethersChain } from "../../src/chain/ethers.ts";
import { ETH } from "../../src/channel.ts";
import {
  decodePaymentReceipt,
  decodePaymentRequired,
  encodePaymentPayload,
  PAYMENT_REQUIRED_HEADER,
  PAYMENT_RESPONSE_HEADER,
  PAYMENT_SIGNATURE_HEADER,
  TRICKLE_SCHEME,
} from "../../src/http/headers.ts";
import { paymentGate } from "../../src/http/server.ts";
import type { GateRequest } from "../../src/http/server.ts";
import { Payee } from "../../src/payee.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { TrickleError } from "../../src/errors.ts";
import { channelIdOf, startChain, startClient, startPaidApi } from "./fixture.ts";
import type { Chain, PaidApi } from "./fixture.ts";

const USDC_ADDRESS = "0x00000000000000000000000000000000000000c6" as Address;
const USDC = { symbol: "USDC", decimals: 6, address: USDC_ADDRESS };

function request(url: string): GateRequest {
  return { method: "GET", url, header: () => undefined };
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(TrickleError);
    return (error as TrickleError).code;
  }
  return undefined;
}

describe("http: prices in currency units", function () {
  this.timeout(60_000);
  let chain: Chain;
  const apis: PaidApi[] = [];

  before(async () => {
    chain = await startChain();
  });
  afterEach(async () => {
    for (const api of apis.splice(0)) await api.stop();
  });

  async function usdcPayee(): Promise<{ payee: Payee; payTo: Address }> {
    const [, signer] = await chain.connection.ethers.getSigners();
    const payTo = signer.address as Address;
    const store = new MemoryStore().forDeployment({ chainId: chain.chainId, contract: chain.contract });
    const payee = new Payee({ chain: ethersChain({ runner: signer, contract: chain.contract }), store, payee: payTo, policy: { minCloseDelay: 3600n, tokens: [USDC_ADDRESS] } });
    return { payee, payTo };
  }

  it("reads human prices exactly in the gate's token: strings, bigints, bare numbers and the deposit", async () => {
    const { payee, payTo } = await usdcPayee();
    const base = { payee, payTo, chainId: chain.chainId, contract: chain.contract, token: USDC };
    const gate = paymentGate({
      ...base,
      minDeposit: "2.5 USDC",
      price: (r) => (r.url === "/a" ? "0.001 USDC" : r.url === "/b" ? "4.99" : r.url === "/c" ? 7n : r.url === "/zero" ? "0 USDC" : undefined),
    });
    expect(gate.priceOf(request("/a"))).to.equal(1000n);
    expect(gate.priceOf(request("/b"))).to.equal(4_990_000n);
    expect(gate.priceOf(request("/c"))).to.equal(7n);
    expect(gate.priceOf(request("/zero"))).to.equal(undefined);
    expect(gate.priceOf(request("/free"))).to.equal(undefined);
    expect(gate.token).to.deep.equal(USDC);
    // On the wire: base units, as before.
    const outcome = await gate.check(request("/a"));
    expect(outcome.kind).to.equal("refused");
    const required = decodePaymentRequired((outcome as { headers: Record<string, string> }).headers[PAYMENT_REQUIRED_HEADER]!);
    expect(required).to.include({ price: 1000n, minDeposit: 2_500_000n, token: USDC_ADDRESS });
    // A symbol matched case-insensitively when unambiguous.
    expect(paymentGate({ ...base, price: "0.5 usdc" }).priceOf(request("/"))).to.equal(500_000n);
  });

  it("refuses at configuration a constant price in another symbol, too precise, malformed, or a token the payee does not take", async () => {
    const { payee, payTo } = await usdcPayee();
    const base = { payee, payTo, chainId: chain.chainId, contract: chain.contract, token: USDC };
    expect(codeOf(() => paymentGate({ ...base, price: "0.001 ETH" }))).to.equal("UNKNOWN_TOKEN");
    expect(codeOf(() => paymentGate({ ...base, price: "0.0000001 USDC" }))).to.equal("AMOUNT_TOO_PRECISE");
    expect(codeOf(() => paymentGate({ ...base, price: "1e-3 USDC" }))).to.equal("AMOUNT_MALFORMED");
    expect(codeOf(() => paymentGate({ ...base, price: -1n }))).to.equal("AMOUNT_MALFORMED");
    expect(codeOf(() => paymentGate({ ...base, price: 1n, minDeposit: "0.0000001 USDC" }))).to.equal("AMOUNT_TOO_PRECISE");
    expect(codeOf(() => paymentGate({ ...base, price: 1n, token: { ...USDC, decimals: 99 } }))).to.equal("INVALID_TOKEN");
    expect(codeOf(() => paymentGate({ ...base, price: 1n, token: { ...USDC, address: "0x00000000000000000000000000000000000000c7" } }))).to.equal("INVALID_ARGUMENT");
    // Only the address of an ERC-20: its decimals are unknown, so a human price is refused, a bigint is fine.
    expect(codeOf(() => paymentGate({ ...base, token: USDC_ADDRESS, price: "0.001" }))).to.equal("UNKNOWN_TOKEN");
    expect(paymentGate({ ...base, token: USDC_ADDRESS, price: 5n }).priceOf(request("/"))).to.equal(5n);
    // Trailing zeros past the token's decimals are exact, not extra precision.
    expect(paymentGate({ ...base, price: "0.00100000 USDC" }).priceOf(request("/"))).to.equal(1000n);
  });

  it("refuses at first use a price function's amount that does not fit the token, and rejects the request (500 in an adapter)", async () => {
    const { payee, payTo } = await usdcPayee();
    const gate = paymentGate({ payee, payTo, chainId: chain.chainId, contract: chain.contract, token: USDC, price: (r) => (r.url === "/eth" ? "0.001 ETH" : "0.0000005 USDC") });
    expect(codeOf(() => gate.priceOf(request("/eth")))).to.equal("UNKNOWN_TOKEN");
    expect(codeOf(() => gate.priceOf(request("/precise")))).to.equal("AMOUNT_TOO_PRECISE");
    let rejected: unknown;
    await gate.check(request("/precise")).catch((error: unknown) => (rejected = error));
    expect((rejected as TrickleError).code).to.equal("AMOUNT_TOO_PRECISE");
  });

  it("serves a paid API priced in ETH as a human amount, paid end to end in base units", async () => {
    const [payeeIndex, payerIndex] = [3, 4];
    const api = await startPaidApi(chain, payeeIndex, { price: "0.000000000000001 ETH", minDeposit: "0.00000000000001 ETH" });
    apis.push(api);
    expect(api.gate.token?.symbol).to.equal("ETH");
    const unpaid = await fetch(`${api.url}/paid`);
    expect(unpaid.status).to.equal(402);
    await unpaid.body?.cancel();
    expect(decodePaymentRequired(unpaid.headers.get(PAYMENT_REQUIRED_HEADER) as string)).to.include({ price: 1000n, minDeposit: 10_000n });
    const client = await startClient(chain, payerIndex);
    const paid = await client.paidFetch(`${api.url}/paid`);
    expect(paid.status).to.equal(200);
    await paid.body?.cancel();
    expect(decodePaymentReceipt(paid.headers.get(PAYMENT_RESPONSE_HEADER) as string)).to.include({ charged: 1000n, cumulative: 1000n });
    expect(api.served()).to.equal(1);
  });

  describe("several tokens, priced each", () => {
    let usdc: Address;
    const USDC_PRICE = 10_000n; // "0.01 USDC"
    const ETH_PRICE = 5_000_000_000_000n; // "0.000005 ETH"

    before(async () => {
      const [deployer] = await chain.connection.ethers.getSigners();
      const token = await chain.connection.ethers.deployContract("TestUsdc", [], deployer);
      usdc = (await token.getAddress()) as Address;
      const signers = await chain.connection.ethers.getSigners();
      for (const index of [6, 7, 8, 9]) await (await token.getFunction("mint")(signers[index].address, 1_000_000_000n)).wait();
    });

    async function twoTokenApi(): Promise<PaidApi> {
      const tokens = [{ symbol: "USDC", decimals: 6, address: usdc }, { symbol: "ETH", decimals: 18, address: ETH }];
      const api = await startPaidApi(chain, 5, {
        price: undefined,
        minDeposit: undefined,
        tokens,
        // Every route in both; /usdc-only in USDC alone.
        prices: (r): Record<string, string> => (r.url.startsWith("/usdc-only") ? { USDC: "0.01 USDC" } : { USDC: "0.01 USDC", ETH: "0.000005 ETH" }),
      }, {}, { tokens: [ETH, usdc] });
      apis.push(api);
      return api;
    }

    it("offers each accepted token in the 402, and the paying fetch pays in the one its policy prefers", async () => {
      const api = await twoTokenApi();
      const unpaid = await fetch(`${api.url}/paid`);
      await unpaid.body?.cancel();
      const required = decodePaymentRequired(unpaid.headers.get(PAYMENT_REQUIRED_HEADER) as string);
      expect(required).to.include({ token: usdc.toLowerCase(), price: USDC_PRICE, minDeposit: 1000n * USDC_PRICE });
      expect(required.accepts).to.deep.equal([
        { token: usdc.toLowerCase(), price: USDC_PRICE, minDeposit: 1000n * USDC_PRICE },
        { token: ETH, price: ETH_PRICE, minDeposit: 1000n * ETH_PRICE },
      ]);

      const ethClient = await startClient(chain, 6, { tokens: [ETH, usdc], budget: 10n ** 17n, maxDeposit: 10n ** 17n, requestsPerDeposit: 1000n });
      const paidEth = await ethClient.paidFetch(`${api.url}/paid`);
      expect(paidEth.status).to.equal(200);
      await paidEth.body?.cancel();
      expect(decodePaymentReceipt(paidEth.headers.get(PAYMENT_RESPONSE_HEADER) as string)).to.include({ charged: ETH_PRICE, cumulative: ETH_PRICE });
      expect(ethClient.paidFetch.channels()[0]!.config.token).to.equal(ETH);

      const usdcClient = await startClient(chain, 7, { tokens: [usdc], budget: 10n ** 8n, maxDeposit: 10n ** 8n, requestsPerDeposit: 1000n });
      for (let i = 0; i < 2; i++) {
        const paid = await usdcClient.paidFetch(`${api.url}/paid?i=${i}`);
        expect(paid.status).to.equal(200);
        await paid.body?.cancel();
        expect(decodePaymentReceipt(paid.headers.get(PAYMENT_RESPONSE_HEADER) as string).cumulative).to.equal(BigInt(i + 1) * USDC_PRICE);
      }
      expect(usdcClient.paidFetch.channels()[0]!.config.token.toLowerCase()).to.equal(usdc.toLowerCase());

      // No preference: the 402's first offer.
      const anyClient = await startClient(chain, 8, { budget: 10n ** 8n, maxDeposit: 10n ** 8n, requestsPerDeposit: 1000n });
      expect((await anyClient.paidFetch(`${api.url}/paid`)).status).to.equal(200);
      expect(anyClient.paidFetch.channels()[0]!.config.token.toLowerCase()).to.equal(usdc.toLowerCase());
      expect(api.served()).to.equal(4);
    });

    it("refuses a token the route is not priced in: the fetch signs nothing, and a voucher of it is WRONG_TOKEN", async () => {
      const api = await twoTokenApi();
      const ethClient = await startClient(chain, 9, { tokens: [ETH], budget: 10n ** 17n, maxDeposit: 10n ** 17n, requestsPerDeposit: 1000n });
      expect((await ethClient.paidFetch(`${api.url}/paid`)).status).to.equal(200);
      const channelId = channelIdOf(ethClient);
      const signedBefore = (await ethClient.payer.channel(channelId))?.signedAmount;

      let code: unknown;
      await ethClient.paidFetch(`${api.url}/usdc-only`).catch((error: { code?: unknown }) => (code = error.code));
      expect(code).to.equal("WRONG_TOKEN");
      expect((await ethClient.payer.channel(channelId))?.signedAmount).to.equal(signedBefore);

      // The ETH channel pays for /usdc-only by hand: refused, not stored, not served.
      const voucher = await ethClient.payer.pay(channelId, ETH_PRICE);
      const payment = encodePaymentPayload({ scheme: TRICKLE_SCHEME, chainId: chain.chainId, contract: chain.contract, channelId, amount: voucher.amount, signature: voucher.signature });
      const refused = await fetch(`${api.url}/usdc-only`, { headers: { [PAYMENT_SIGNATURE_HEADER]: payment } });
      expect(refused.status).to.equal(402);
      expect(((await refused.json()) as { error: string }).error).to.equal("WRONG_TOKEN");
      expect(decodePaymentRequired(refused.headers.get(PAYMENT_REQUIRED_HEADER) as string).accepts).to.deep.equal([
        { token: usdc.toLowerCase(), price: USDC_PRICE, minDeposit: 1000n * USDC_PRICE },
      ]);
      expect((await api.payeeStore.bestVoucher(channelId))?.amount).to.equal(ETH_PRICE);
      expect(api.served()).to.equal(1);
    });

    it("refuses at configuration prices in a symbol it was not given, too precise, or without tokens", async () => {
      const { payee, payTo } = await usdcPayee();
      const base = { payee, payTo, chainId: chain.chainId, contract: chain.contract };
      const tokens = [USDC];
      expect(codeOf(() => paymentGate({ ...base, tokens, prices: { ETH: "0.001 ETH" } }))).to.equal("UNKNOWN_TOKEN");
      expect(codeOf(() => paymentGate({ ...base, tokens, prices: { USDC: "0.001 ETH" } }))).to.equal("UNKNOWN_TOKEN");
      expect(codeOf(() => paymentGate({ ...base, tokens, prices: { USDC: "0.0000001" } }))).to.equal("AMOUNT_TOO_PRECISE");
      expect(codeOf(() => paymentGate({ ...base, prices: { USDC: "1" } }))).to.equal("INVALID_ARGUMENT");
      expect(codeOf(() => paymentGate({ ...base, tokens, prices: { USDC: "1" }, price: 1n }))).to.equal("INVALID_ARGUMENT");
      expect(codeOf(() => paymentGate({ ...base, tokens, prices: { USDC: "1" }, minDeposit: "5 USDC" }))).to.equal("INVALID_ARGUMENT");
      const gate = paymentGate({ ...base, tokens, prices: { USDC: "0.5" }, minDeposit: { USDC: "2 USDC" } });
      expect(gate.offersOf(request("/"))).to.deep.equal([{ token: USDC_ADDRESS, price: 500_000n, minDeposit: 2_000_000n }]);
    });
  });
});
