import { expect } from "chai";
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { channelId, ETH, type Hex } from "../../src/channel.ts";
import type { ChainWriter } from "../../src/chain/adapter.ts";
import { StoreError } from "../../src/errors.ts";
import { addressOfPrivateKey, Payer } from "../../src/payer.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import type { PayerChannelRecord, PayerStore } from "../../src/store/store.ts";
import { deploymentOf } from "../store/behaviour.ts";
import { recoverVoucherSigner, type Voucher } from "../../src/voucher.ts";
import { ADAPTERS, deploy, salt, type Deployment } from "../chain/fixture.ts";

const ONE = 10n ** 18n;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  return "resolved";
}

/** A payer store whose `recordSigned` fails on demand, to show that a voucher is never handed out unrecorded. */
class FlakyStore implements PayerStore {
  readonly inner: PayerStore;
  readonly deployment: PayerStore["deployment"];
  failNext = false;
  constructor(deployment: PayerStore["deployment"]) {
    this.inner = new MemoryStore().forDeployment(deployment);
    this.deployment = this.inner.deployment;
  }
  savePayerChannel(record: PayerChannelRecord) {
    return this.inner.savePayerChannel(record);
  }
  payerChannel(id: Hex) {
    return this.inner.payerChannel(id);
  }
  payerChannels() {
    return this.inner.payerChannels();
  }
  async recordSigned(id: Hex, amount: bigint, signature: Hex) {
    if (this.failNext) {
      this.failNext = false;
      throw new StoreError("disk full");
    }
    return this.inner.recordSigned(id, amount, signature);
  }
  close() {
    return this.inner.close();
  }
}

for (const kind of ADAPTERS) {
  describe(`Payer (${kind})`, function () {
    let d: Deployment;
    let chain: ChainWriter;

    before(async () => {
      d = await deploy(kind);
      chain = await d.writer(1);
    });

    it("opens with a fresh session key as the signer, kept in the store", async () => {
      const store = new MemoryStore().forDeployment(deploymentOf(d));
      const payer = new Payer({ chain, store });
      const a = await payer.open({ payee: d.accounts[2], amount: ONE });
      const b = await payer.open({ payee: d.accounts[2], amount: ONE });
      const record = await store.payerChannel(a.channelId);
      expect(record?.sessionKey).to.match(/^0x[0-9a-f]{64}$/);
      expect(addressOfPrivateKey(record!.sessionKey!).toLowerCase()).to.equal(a.config.signer.toLowerCase());
      expect(a.config.signer).to.not.equal(b.config.signer);
      expect(a.config).to.include({ token: ETH, closeDelay: 86_400n });
      expect(a.config.payer.toLowerCase()).to.equal(d.accounts[1].toLowerCase());
      expect(a.channelId).to.equal(channelId(a.config));
      expect({ chainId: a.chainId, contract: a.contract }).to.deep.equal({ chainId: d.chainId, contract: d.contract });
      const voucher = await payer.pay(a.channelId, 5n);
      expect(recoverVoucherSigner({ chainId: d.chainId, verifyingContract: d.contract }, voucher).toLowerCase()).to.equal(a.config.signer.toLowerCase());
    });

    it("signs cumulative vouchers, persisted before they are returned, and refuses above the deposit", async () => {
      const store = new MemoryStore().forDeployment(deploymentOf(d));
      const payer = new Payer({ chain, store });
      const { channelId: id } = await payer.open({ payee: d.accounts[2], amount: 1000n });
      expect((await payer.pay(id, 100n)).amount).to.equal(100n);
      expect((await store.payerChannel(id))?.signedAmount).to.equal(100n);
      const concurrent = await Promise.all([payer.pay(id, 10n), payer.pay(id, 20n), payer.pay(id, 30n)]);
      expect(concurrent.map((v) => v.amount)).to.deep.equal([110n, 130n, 160n]);
      expect((await payer.payUpTo(id, 1000n)).amount).to.equal(1000n);
      expect(await codeOf(payer.pay(id, 1n))).to.equal("INSUFFICIENT_FUNDS");
      expect(await codeOf(payer.payUpTo(id, 999n))).to.equal("NOT_INCREASING");
      expect(await codeOf(payer.pay(id, 0n))).to.equal("INVALID_ARGUMENT");
      expect(await codeOf(payer.pay(id, -5n))).to.equal("INVALID_ARGUMENT");
      expect(await codeOf(payer.pay(salt(12345), 1n))).to.equal("UNKNOWN_CHANNEL");
      const record = await store.payerChannel(id);
      expect(record).to.include({ signedAmount: 1000n });
    });

    it("never hands out a voucher the store did not record", async () => {
      const store = new FlakyStore(deploymentOf(d));
      const payer = new Payer({ chain, store });
      const { channelId: id } = await payer.open({ payee: d.accounts[2], amount: 1000n });
      await payer.pay(id, 10n);
      store.failNext = true;
      expect(await codeOf(payer.pay(id, 10n))).to.equal("STORE");
      expect((await store.payerChannel(id))?.signedAmount).to.equal(10n);
      expect((await payer.pay(id, 5n)).amount).to.equal(15n);
    });

    it("signs with a given private key, which a restarted payer needs again", async () => {
      const key = generatePrivateKey();
      const store = new MemoryStore().forDeployment(deploymentOf(d));
      const payer = new Payer({ chain, store });
      const opened = await payer.open({ payee: d.accounts[2], amount: 1000n, signer: { privateKey: key }, salt: salt(77), closeDelay: 3600n });
      expect(opened.config.signer.toLowerCase()).to.equal(privateKeyToAccount(key).address.toLowerCase());
      expect((await store.payerChannel(opened.channelId))?.sessionKey).to.equal(undefined);
      await payer.pay(opened.channelId, 1n);
      expect(await codeOf(new Payer({ chain, store }).pay(opened.channelId, 1n))).to.equal("INVALID_ARGUMENT");
      expect((await new Payer({ chain, store, privateKeys: [key] }).pay(opened.channelId, 1n)).amount).to.equal(2n);
    });

    it("refuses bad open parameters before sending anything", async () => {
      const payer = new Payer({ chain, store: new MemoryStore() });
      const payee = d.accounts[2];
      expect(await codeOf(payer.open({ payee, amount: 0n }))).to.equal("INVALID_ARGUMENT");
      expect(await codeOf(payer.open({ payee, amount: 1n << 104n }))).to.equal("INVALID_ARGUMENT");
      expect(await codeOf(payer.open({ payee: "0x1234", amount: 1n }))).to.equal("INVALID_ARGUMENT");
      expect(await codeOf(payer.open({ payee, amount: 1n, closeDelay: 366n * 86_400n }))).to.equal("INVALID_ARGUMENT");
      expect(await codeOf(payer.open({ payee, amount: 1n, permit: true }))).to.equal("INVALID_ARGUMENT");
      expect(await codeOf(payer.open({ payee, amount: 1n, salt: "0x12" }))).to.equal("INVALID_ARGUMENT");
    });

    it("property: across restarts (SQLite store reopened), no cumulative amount is ever signed twice, and it continues from the store", async () => {
      const dir = mkdtempSync(join(tmpdir(), "trickle-payer-"));
      const path = join(dir, "payer.sqlite");
      let store = SqliteStore.open(path).forDeployment(deploymentOf(d));
      const deposit = 10n ** 12n;
      const { channelId: id } = await new Payer({ chain, store }).open({ payee: d.accounts[2], amount: deposit });
      const handedOut = new Map<bigint, Hex>();
      let last = 0n;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.oneof(
              fc.record({ op: fc.constant("pay" as const), value: fc.bigInt({ min: 1n, max: 1000n }) }),
              fc.record({ op: fc.constant("payUpTo" as const), value: fc.bigInt({ min: 0n, max: 2000n }) }),
              fc.record({ op: fc.constant("concurrent" as const), value: fc.bigInt({ min: 1n, max: 50n }) }),
              fc.constant({ op: "restart" as const, value: 0n }),
            ),
            { minLength: 1, maxLength: 12 },
          ),
          async (steps) => {
            let payer = new Payer({ chain, store });
            const take = (voucher: Voucher) => {
              // One cumulative amount, one voucher: never a second signature for an amount already handed out.
              expect(handedOut.has(voucher.amount), `amount ${voucher.amount} signed twice`).to.equal(false);
              expect(voucher.amount > last).to.equal(true);
              handedOut.set(voucher.amount, voucher.signature);
              last = voucher.amount;
            };
            for (const step of steps) {
              if (step.op === "restart") {
                await store.close();
                store = SqliteStore.open(path).forDeployment(deploymentOf(d));
                payer = new Payer({ chain, store });
              }
              else if (step.op === "pay") take(await payer.pay(id, step.value));
              else if (step.op === "payUpTo") {
                const target = last + step.value - 1000n;
                if (target > last) take(await payer.payUpTo(id, target));
                else expect(await codeOf(payer.payUpTo(id, target))).to.be.oneOf(["NOT_INCREASING", "INVALID_ARGUMENT"]);
              } else {
                const results = await Promise.all([payer.pay(id, step.value), payer.pay(id, step.value + 1n), payer.pay(id, step.value + 2n)]);
                for (const voucher of results) take(voucher);
              }
              expect((await store.payerChannel(id))?.signedAmount).to.equal(last);
            }
          },
        ),
        { numRuns: process.env.TRICKLE_DEEP === "1" ? 500 : 30 },
      );
      expect(handedOut.size).to.be.greaterThan(0);
      expect((await store.payerChannel(id))?.signature).to.equal(handedOut.get(last));
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
  });
}
