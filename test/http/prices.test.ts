// Gate prices in currency units: "0.001 USDC" read exactly with the gate's token, base units on the wire,
// and a typed error (never a rounding) for another symbol or more decimals than the token has.
import { expect } from "chai";
import type { Address } from "../../src/channel.ts";
import { ethersChain } from "../../src/chain/ethers.ts";
import { decodePaymentReceipt, decodePaymentRequired, PAYMENT_REQUIRED_HEADER, PAYMENT_RESPONSE_HEADER } from "../../src/http/headers.ts";
import { paymentGate } from "../../src/http/server.ts";
import type { GateRequest } from "../../src/http/server.ts";
import { Payee } from "../../src/payee.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { TrickleError } from "../../src/errors.ts";
import { startChain, startClient, startPaidApi } from "./fixture.ts";
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
});
