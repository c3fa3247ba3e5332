// The payee's chain traffic is bounded: known channels cost no call per voucher, unknown ids are remembered,
// concurrent lookups share one call, lookups of new ids are rate-limited, and state follows the contract's events.
import { expect } from "chai";
import { keccak256 } from "ethers";
import { generatePrivateKey } from "viem/accounts";
import { channelId, ChannelStatus, ETH, type Hex } from "../../src/channel.ts";
import { addressOfPrivateKey } from "../../src/payer.ts";
import { Payee } from "../../src/payee.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { signVoucher } from "../../src/voucher.ts";
import { ADAPTERS, salt } from "../chain/fixture.ts";
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

for (const kind of ADAPTERS) {
  describe(`Payee chain traffic and event refresh (${kind})`, function () {
    let s: SdkSetup;

    before(async () => {
      s = await sdkSetup(kind);
    });
    after(async () => s.dispose());

    it("makes no chain call per voucher on a known channel, even for a flood of forged ones", async () => {
      const payee = s.newPayee({ limits: { syncIntervalMs: 60_000 } });
      const { channelId: id } = await s.payer.open({ payee: s.payeeAddress, amount: ONE });
      await payee.accept(await s.payer.pay(id, 1n));
      s.payeeChain.calls.clear();
      const domain = { chainId: s.d.chainId, verifyingContract: s.d.contract };
      const forger = generatePrivateKey();
      for (let i = 0; i < 1000; i++) {
        expect(await codeOf(payee.accept(signVoucher(domain, id, 10n + BigInt(i), forger)))).to.equal("BAD_SIGNATURE");
      }
      for (let i = 0; i < 100; i++) await payee.accept(await s.payer.pay(id, 1n));
      // One call in all: whether the signer has code (an ERC-1271 wallet), asked once per channel.
      expect(s.payeeChain.total()).to.equal(1);
      expect(s.payeeChain.calls.get("hasCode")).to.equal(1);
    });

    it("remembers unknown ids, shares concurrent lookups, and rate-limits lookups of new ids", async () => {
      const payee = s.newPayee({ limits: { lookupBurst: 20, lookupsPerSecond: 10, syncIntervalMs: 60_000 } });
      const domain = { chainId: s.d.chainId, verifyingContract: s.d.contract };
      const key = generatePrivateKey();
      s.payeeChain.calls.clear();
      const same = salt(5_000_000);
      const codes = await Promise.all(Array.from({ length: 500 }, (_, i) => codeOf(payee.accept(signVoucher(domain, same, BigInt(i + 1), key)))));
      expect(new Set(codes)).to.deep.equal(new Set(["UNKNOWN_CHANNEL"]));
      for (let i = 0; i < 500; i++) expect(await codeOf(payee.accept(signVoucher(domain, same, 1n, key)))).to.equal("UNKNOWN_CHANNEL");
      expect(s.payeeChain.calls.get("findChannelConfig")).to.equal(1);

      const started = Date.now();
      for (let i = 0; i < 1000; i++) {
        expect(await codeOf(payee.accept(signVoucher(domain, salt(6_000_000 + i), 1n, key)))).to.equal("UNKNOWN_CHANNEL");
      }
      const seconds = (Date.now() - started) / 1000;
      const lookups = s.payeeChain.calls.get("findChannelConfig") ?? 0;
      expect(lookups).to.be.lessThanOrEqual(1 + 20 + Math.ceil(10 * seconds) + 1);
      expect(s.payeeChain.total()).to.be.lessThan(2 * lookups + 10);

      // Concurrent first vouchers of a new channel share one lookup.
      const fresh = s.newPayee({ limits: { syncIntervalMs: 60_000 } });
      const opened = await s.payer.open({ payee: s.payeeAddress, amount: ONE, salt: salt(1) });
      s.payeeChain.calls.clear();
      const vouchers = await Promise.all(Array.from({ length: 20 }, (_, i) => s.payer.payUpTo(opened.channelId, BigInt(i + 1))));
      const results = await Promise.allSettled(vouchers.map((v) => fresh.accept(v)));
      expect(results.filter((r) => r.status === "fulfilled").length).to.be.greaterThan(0);
      expect(s.payeeChain.calls.get("findChannelConfig")).to.equal(1);
      expect(s.payeeChain.calls.get("readChannel")).to.equal(1);
    });

    it("finds a channel remembered as unknown once its ChannelOpened event is pulled", async () => {
      const payee = s.newPayee({ limits: { syncIntervalMs: 0 } });
      const key = generatePrivateKey();
      const config = { payer: s.payerAddress, payee: s.payeeAddress, token: ETH, signer: addressOfPrivateKey(key), closeDelay: 3600n, salt: salt(4242) };
      const domain = { chainId: s.d.chainId, verifyingContract: s.d.contract };
      const voucher = signVoucher(domain, channelId(config), 10n, key);
      expect(await codeOf(payee.accept(voucher))).to.equal("UNKNOWN_CHANNEL");
      await s.payerChain.open(config, ONE);
      expect(await payee.accept(voucher)).to.deep.equal({ channelId: channelId(config), amount: 10n, increment: 10n });
    });

    it("retries a failed event pull only after the interval, not once per voucher", async () => {
      let eventCalls = 0;
      const broken = new Proxy(s.payeeChain.chain, {
        get(target, property, receiver) {
          if (property === "events") {
            return async () => {
              eventCalls++;
              throw new Error("node unreachable");
            };
          }
          const value = Reflect.get(target, property, receiver);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      const payee = new Payee({ chain: broken, store: new MemoryStore(), payee: s.payeeAddress, limits: { syncIntervalMs: 60_000 } });
      const { channelId: id } = await s.payer.open({ payee: s.payeeAddress, amount: ONE });
      await payee.accept(await s.payer.pay(id, 1n));
      await s.payer.topUp(id, 1n); // a new block, so the pull has something to fetch
      expect(await codeOf(payee.sync())).to.equal("Error: node unreachable");
      for (let i = 0; i < 200; i++) await payee.accept(await s.payer.pay(id, 1n));
      expect(eventCalls).to.equal(1);
    });

    it("learns a close request and a top-up from the contract's events", async () => {
      const payee = s.newPayee({ limits: { syncIntervalMs: 0 } });
      const { channelId: id } = await s.payer.open({ payee: s.payeeAddress, amount: 1000n });
      await payee.accept(await s.payer.pay(id, 1000n));
      await s.payer.topUp(id, 600n);
      expect((await payee.accept(await s.payer.pay(id, 500n))).amount).to.equal(1500n);
      expect((await payee.channelState(id))?.deposit).to.equal(1600n);
      const next = await s.payer.pay(id, 1n);
      await s.payer.requestClose(id);
      expect(await codeOf(payee.accept(next))).to.equal("CHANNEL_CLOSING");
      expect((await payee.channelState(id))?.status).to.equal(ChannelStatus.Closing);
      expect(await payee.channelState(salt(31337) as Hex)).to.equal(undefined);
    });

    it("accepts vouchers of an ERC-1271 wallet signer that approves them, when the policy lists its code", async () => {
      const ownerKey = generatePrivateKey();
      const wallet = await s.d.connection.ethers.deployContract("ERC1271Wallet", [addressOfPrivateKey(ownerKey)]);
      const codeHash = keccak256(await s.d.connection.ethers.provider.getCode(await wallet.getAddress())) as Hex;
      const payee = s.newPayee({ policy: { contractSignerCodeHashes: [codeHash] } });
      const config = {
        payer: s.payerAddress,
        payee: s.payeeAddress,
        token: ETH,
        signer: (await wallet.getAddress()) as Hex,
        closeDelay: 3600n,
        salt: salt(1272),
      };
      await s.payerChain.open(config, ONE);
      const id = channelId(config);
      const domain = { chainId: s.d.chainId, verifyingContract: s.d.contract };
      expect(await payee.accept(signVoucher(domain, id, 100n, ownerKey), config)).to.deep.equal({ channelId: id, amount: 100n, increment: 100n });
      expect(await codeOf(payee.accept(signVoucher(domain, id, 200n, generatePrivateKey())))).to.equal("BAD_SIGNATURE");
      await payee.claim(id);
      expect((await s.d.reader().readChannel(id)).claimed).to.equal(100n);
    });
  });
}
