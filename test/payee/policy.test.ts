// Safe payee defaults: contract (ERC-1271) signers and ERC-20 tokens only when the policy lists them,
// one policy object read by the Payee and the HTTP gate, and no voucher stored that the chain would
// refuse at that moment (a close delay shorter than the payee's view can be old is refused by policy).
import { expect } from "chai";
import fc from "fast-check";
import { keccak256 } from "ethers";
import { generatePrivateKey } from "viem/accounts";
import { channelId, ETH, type ChannelConfig, type Hex } from "../../src/channel.ts";
import type { ChainWriter } from "../../src/chain/adapter.ts";
import { paymentGate } from "../../src/http/server.ts";
import { addressOfPrivateKey } from "../../src/payer.ts";
import { Payee } from "../../src/payee.ts";
import { AcceptancePolicy, CLAIM_MARGIN_SECONDS, minSafeCloseDelay } from "../../src/policy.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { signVoucher } from "../../src/voucher.ts";
import { salt } from "../chain/fixture.ts";
import { sdkSetup, type SdkSetup } from "./setup.ts";

const ONE = 10n ** 18n;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  return "resolved";
}

function codeOfSync(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  return "returned";
}

describe("Payee policy: safe defaults", function () {
  this.timeout(60_000);
  let s: SdkSetup;
  let nextSalt = 9000;

  before(async () => {
    s = await sdkSetup("ethers");
  });
  after(async () => s.dispose());

  async function walletChannel(): Promise<{ id: Hex; config: ChannelConfig; ownerKey: Hex; codeHash: Hex; setMode(mode: number): Promise<void> }> {
    const ownerKey = generatePrivateKey();
    const wallet = await s.d.connection.ethers.deployContract("ERC1271Wallet", [addressOfPrivateKey(ownerKey)]);
    const address = (await wallet.getAddress()) as Hex;
    const config = { payer: s.payerAddress, payee: s.payeeAddress, token: ETH, signer: address, closeDelay: 3600n, salt: salt(nextSalt++) };
    await s.payerChain.open(config, ONE);
    return {
      id: channelId(config),
      config,
      ownerKey,
      codeHash: keccak256(await s.d.connection.ethers.provider.getCode(address)) as Hex,
      async setMode(mode) {
        await (await wallet.getFunction("setMode")(mode)).wait();
      },
    };
  }

  it("refuses a contract signer by default, even one that approves the voucher, and stores nothing", async () => {
    const payee = s.newPayee();
    const w = await walletChannel();
    const domain = { chainId: s.d.chainId, verifyingContract: s.d.contract };
    expect(await codeOf(payee.accept(signVoucher(domain, w.id, 100n, w.ownerKey), w.config))).to.equal("BAD_SIGNATURE");
    expect(await s.payeeStore.bestVoucher(w.id)).to.equal(undefined);
  });

  it("accepts a contract signer whose code hash the policy lists, and only that code", async () => {
    const listed = await walletChannel();
    const other = await walletChannel();
    const payee = s.newPayee({ policy: { contractSignerCodeHashes: [`0x${"11".repeat(32)}`] } });
    const domain = { chainId: s.d.chainId, verifyingContract: s.d.contract };
    // Another code hash listed: this wallet's code is not trusted.
    expect(await codeOf(payee.accept(signVoucher(domain, other.id, 100n, other.ownerKey), other.config))).to.equal("BAD_SIGNATURE");
    const trusting = s.newPayee({ policy: { contractSignerCodeHashes: [listed.codeHash] } });
    expect(await trusting.accept(signVoucher(domain, listed.id, 100n, listed.ownerKey), listed.config)).to.deep.equal({
      channelId: listed.id,
      amount: 100n,
      increment: 100n,
    });
    // The trade-off the listing accepts: this wallet can turn its approval off before the claim.
    await listed.setMode(1);
    expect(await codeOf(trusting.claim(listed.id))).to.equal("CONTRACT_REVERT");
  });

  it("takes ETH only by default; an ERC-20 channel only when the policy lists the token", async () => {
    await s.d.mint(s.payerAddress, 10n ** 12n);
    const opened = await s.payer.open({ payee: s.payeeAddress, token: s.d.token, amount: 10n ** 9n, salt: salt(nextSalt++) });
    const voucher = await s.payer.pay(opened.channelId, 5n);
    expect(await codeOf(s.newPayee().accept(voucher, opened.config))).to.equal("WRONG_TOKEN");
    expect(await s.payeeStore.bestVoucher(opened.channelId)).to.equal(undefined);
    expect((await s.newPayee({ policy: { tokens: [s.d.token] } }).accept(voucher, opened.config)).amount).to.equal(5n);
  });

  it("the HTTP gate reads the Payee's policy: same close delay, same refusals, no policy of its own", async () => {
    const payee = s.newPayee({ policy: { minCloseDelay: 7200n } });
    const gate = paymentGate({ payee, store: s.payeeStore, chainId: s.d.chainId, contract: s.d.contract, payTo: s.payeeAddress, price: 10n });
    expect(gate.requirements(10n).minCloseDelay).to.equal(7200n);
    expect(gate.requirements(10n).token).to.equal(ETH);
    expect(payee.policy.minCloseDelay).to.equal(7200n);

    // A channel of 3600 s: the Payee and the gate both refuse it with CLOSE_DELAY_TOO_SHORT.
    const opened = await s.payer.open({ payee: s.payeeAddress, amount: ONE, closeDelay: 3600n, salt: salt(nextSalt++) });
    const voucher = await s.payer.pay(opened.channelId, 10n);
    expect(await codeOf(payee.accept(voucher, opened.config))).to.equal("CLOSE_DELAY_TOO_SHORT");
    const { encodePaymentPayload, TRICKLE_SCHEME } = await import("../../src/http/headers.ts");
    const header = encodePaymentPayload({ scheme: TRICKLE_SCHEME, chainId: s.d.chainId, contract: s.d.contract, ...voucher, config: opened.config });
    const outcome = await gate.check({ method: "GET", url: "/x", header: (name) => (name.toLowerCase() === "payment-signature" ? header : undefined) });
    expect(outcome.kind).to.equal("refused");
    expect(outcome.kind === "refused" && outcome.body.error).to.equal("CLOSE_DELAY_TOO_SHORT");

    // A gate cannot hold a token or payee the Payee does not, nor take contract signers it cannot check.
    const base = { payee, store: s.payeeStore, chainId: s.d.chainId, contract: s.d.contract, payTo: s.payeeAddress, price: 10n };
    expect(codeOfSync(() => paymentGate({ ...base, token: s.d.token }))).to.equal("INVALID_ARGUMENT");
    expect(codeOfSync(() => paymentGate({ ...base, payTo: s.payerAddress }))).to.equal("INVALID_ARGUMENT");
    const trusting = s.newPayee({ policy: { contractSignerCodeHashes: [`0x${"11".repeat(32)}`] } });
    expect(codeOfSync(() => paymentGate({ ...base, payee: trusting }))).to.equal("INVALID_ARGUMENT");
  });

  it("refuses a minimum close delay below what its sync interval can guarantee", () => {
    const base = { chain: s.payeeChain.chain, store: new MemoryStore(), payee: s.payeeAddress };
    expect(codeOfSync(() => new Payee({ ...base, policy: { minCloseDelay: 0n } }))).to.equal("INVALID_ARGUMENT");
    expect(minSafeCloseDelay(1000)).to.equal(1n + CLAIM_MARGIN_SECONDS);
    expect(minSafeCloseDelay(60_000)).to.equal(60n + CLAIM_MARGIN_SECONDS);
    expect(codeOfSync(() => new Payee({ ...base, policy: { minCloseDelay: minSafeCloseDelay(60_000) - 1n }, limits: { syncIntervalMs: 60_000 } }))).to.equal(
      "INVALID_ARGUMENT",
    );
    expect(new Payee({ ...base, policy: { minCloseDelay: minSafeCloseDelay(60_000) }, limits: { syncIntervalMs: 60_000 } }).policy.minCloseDelay).to.equal(
      120n,
    );
    expect(codeOfSync(() => new AcceptancePolicy(s.payeeAddress, { tokens: [] }, 1000))).to.equal("INVALID_ARGUMENT");
  });

  it("a voucher sent just after requestClose, on a view up to a sync interval old, is one the chain still pays", async () => {
    const syncIntervalMs = 60_000;
    const closeDelay = minSafeCloseDelay(syncIntervalMs);
    const payee = s.newPayee({ policy: { minCloseDelay: closeDelay }, limits: { syncIntervalMs } });
    const opened = await s.payer.open({ payee: s.payeeAddress, amount: ONE, closeDelay, salt: salt(nextSalt++) });
    await payee.accept(await s.payer.pay(opened.channelId, 10n), opened.config);
    // The payer's key signs one more voucher, then the payer asks to close; the payee has not pulled
    // the event (its interval is a minute), so it accepts and stores the voucher.
    const late = await s.payer.pay(opened.channelId, 10n);
    await s.payer.requestClose(opened.channelId);
    expect((await payee.accept(late)).amount).to.equal(20n);
    // At that moment, and for closeDelay more seconds, the chain pays it.
    await payee.claim(opened.channelId);
    expect((await s.d.reader().readChannel(opened.channelId)).claimed).to.equal(20n);
  });

  it("stops accepting when event pulls keep failing for longer than the policy can vouch for", async () => {
    let failing = false;
    const inner = s.payeeChain.chain;
    const flaky = new Proxy(inner, {
      get(target, property, receiver) {
        if (property === "blockNumber" && failing) return () => Promise.reject(new Error("RPC down"));
        return Reflect.get(target, property, receiver);
      },
    }) as ChainWriter;
    // 61 s of close delay with a 500 ms interval: the view may be at most 1 s old.
    const payee = new Payee({ chain: flaky, store: new MemoryStore(), payee: s.payeeAddress, policy: { minCloseDelay: 61n }, limits: { syncIntervalMs: 500 } });
    expect(payee.policy.maxStalenessMs).to.equal(1000);
    const opened = await s.payer.open({ payee: s.payeeAddress, amount: ONE, closeDelay: 61n, salt: salt(nextSalt++) });
    await payee.accept(await s.payer.pay(opened.channelId, 1n), opened.config);
    failing = true;
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    await sleep(1100);
    // The pull this accept triggers fails: the accept fails with it.
    expect(await codeOf(payee.accept(await s.payer.pay(opened.channelId, 1n)))).to.equal("Error: RPC down");
    // The next one, inside the interval, would run on a view over a second old: refused, nothing stored.
    const refused = await s.payer.pay(opened.channelId, 1n);
    expect(await codeOf(payee.accept(refused))).to.equal("STALE_CHAIN_STATE");
    failing = false;
    await sleep(600);
    expect((await payee.accept(await s.payer.pay(opened.channelId, 1n))).amount).to.equal(4n);

  });
});

describe("Payee policy: checkConfig (property)", () => {
  const PAYEE = "0x00000000000000000000000000000000000000b1";
  const TOKENS = [ETH, "0x00000000000000000000000000000000000000e2", "0x00000000000000000000000000000000000000e3"] as const;
  it("accepts a config exactly when its payee, token and close delay are within the policy, and refuses with the first failing code", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(PAYEE, "0x00000000000000000000000000000000000000b2"),
        fc.constantFrom(...TOKENS),
        fc.subarray([...TOKENS], { minLength: 1 }),
        fc.bigInt({ min: 0n, max: 200_000n }),
        fc.bigInt({ min: 61n, max: 100_000n }),
        (payee, token, listed, closeDelay, minCloseDelay) => {
          const policy = new AcceptancePolicy(PAYEE, { tokens: [...listed], minCloseDelay }, 1000);
          const config = { payer: PAYEE, payee, token, signer: PAYEE, closeDelay, salt: salt(1) } as ChannelConfig;
          const expected =
            payee !== PAYEE ? "WRONG_PAYEE" : !listed.includes(token) ? "WRONG_TOKEN" : closeDelay < minCloseDelay ? "CLOSE_DELAY_TOO_SHORT" : "returned";
          expect(codeOfSync(() => policy.checkConfig(channelId(config), config))).to.equal(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});
