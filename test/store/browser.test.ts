// The IndexedDB store against the shared store behaviour, in Node on fake-indexeddb (a test in
// test/browser/ runs it in Chromium). Each harness gets its own database name.
import { expect } from "chai";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { IndexedDbStore } from "../../src/store/browser.ts";
import { channelOf, jsonOf, MAX_UINT256, payerRecordOf, shouldBehaveLikeAStore, signatureOf, TEST_DEPLOYMENT } from "./behaviour.ts";

describe("store/IndexedDbStore", () => {
  let databases = 0;
  const factory = new IDBFactory();
  const nextName = () => `trickle-test-${databases++}`;

  /** Every row of every object store, through a raw IndexedDB connection. */
  async function dump(name: string): Promise<string> {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = factory.open(name);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const names = Array.from({ length: db.objectStoreNames.length }, (_, i) => db.objectStoreNames.item(i) as string).sort();
    const tx = db.transaction(names, "readonly");
    const rows = await Promise.all(
      names.map(
        (store) =>
          new Promise<unknown[]>((resolve, reject) => {
            const request = tx.objectStore(store).getAll();
            request.onsuccess = () => resolve(request.result);
            request.onerror = () => reject(request.error);
          }),
      ),
    );
    db.close();
    return jsonOf(Object.fromEntries(names.map((store, i) => [store, rows[i]])));
  }

  shouldBehaveLikeAStore(
    async () => {
      const name = nextName();
      const backend = await IndexedDbStore.open(name, { indexedDB: factory, IDBKeyRange });
      const store = backend.forDeployment(TEST_DEPLOYMENT);
      return { store, backend, snapshot: () => dump(name), dispose: () => store.close() };
    },
    { propertyRuns: 50 },
  );

  const open = async (name: string) => (await IndexedDbStore.open(name, { indexedDB: factory, IDBKeyRange })).forDeployment(TEST_DEPLOYMENT);

  describe("durability", () => {
    it("keeps the session key, the signed amount, vouchers and meta across close and reopen (a page reload)", async () => {
      const name = nextName();
      const record = payerRecordOf(0);
      let store = await open(name);
      await store.savePayerChannel(record);
      await store.recordSigned(record.channelId, 12n, signatureOf(12));
      await store.saveVoucherIfHigher({ channelId: channelOf(0), amount: MAX_UINT256, signature: signatureOf(1) });
      await store.setMeta("lastBlock", "7");
      await store.close();
      store = await open(name);
      expect(await store.payerChannel(record.channelId)).to.deep.equal({ ...record, signedAmount: 12n, signature: signatureOf(12) });
      expect((await store.payerChannel(record.channelId))?.sessionKey).to.equal(record.sessionKey);
      await expectRefused(store.recordSigned(record.channelId, 12n, signatureOf(13)));
      expect(await store.bestVoucher(channelOf(0))).to.deep.equal({ channelId: channelOf(0), amount: MAX_UINT256, signature: signatureOf(1) });
      expect(await store.getMeta("lastBlock")).to.equal("7");
      await store.close();
    });

    it("two connections to one database (two tabs) never both record the same amount", async () => {
      const name = nextName();
      const record = payerRecordOf(1);
      const tabA = await open(name);
      const tabB = await open(name);
      await tabA.savePayerChannel(record);
      const amounts = [5n, 5n, 6n, 6n, 7n, 7n];
      const outcomes = await Promise.allSettled(amounts.map((amount, i) => (i % 2 === 0 ? tabA : tabB).recordSigned(record.channelId, amount, signatureOf(Number(amount)))));
      const recorded = amounts.filter((_, i) => outcomes[i].status === "fulfilled");
      expect(new Set(recorded).size, "an amount recorded by both tabs").to.equal(recorded.length);
      expect((await tabB.payerChannel(record.channelId))?.signedAmount).to.equal(7n);
      await tabA.close();
      await tabB.close();
    });

    it("a transaction that fails half-way writes nothing: every op of its commit is refused with STORE", async () => {
      const name = nextName();
      const record = payerRecordOf(2);
      const store = await open(name);
      await store.savePayerChannel(record);
      await store.recordSigned(record.channelId, 5n, signatureOf(5));
      const before = await dump(name);
      // The second put of the next commit throws, as a full disk or a quota error would.
      const { IDBObjectStore } = await import("fake-indexeddb");
      const put = IDBObjectStore.prototype.put;
      let puts = 0;
      IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<typeof put>) {
        if (++puts === 2) throw new DOMException("quota exceeded", "QuotaExceededError");
        return put.apply(this, args);
      };
      try {
        const outcomes = await Promise.allSettled([
          store.saveVoucherIfHigher({ channelId: channelOf(5), amount: 9n, signature: signatureOf(9) }),
          store.recordSigned(record.channelId, 6n, signatureOf(6)),
        ]);
        expect(outcomes.map((o) => (o.status === "rejected" ? (o.reason as { code?: string }).code : "fulfilled"))).to.deep.equal(["STORE", "STORE"]);
      } finally {
        IDBObjectStore.prototype.put = put;
      }
      expect(await dump(name), "nothing of the failed commit is stored").to.equal(before);
      await store.recordSigned(record.channelId, 6n, signatureOf(6));
      expect((await store.payerChannel(record.channelId))?.signedAmount).to.equal(6n);
      await store.close();
    });

    it("refuses a database written by a newer layout", async () => {
      const name = nextName();
      await new Promise<void>((resolve, reject) => {
        const request = factory.open(name, 99);
        request.onsuccess = () => {
          request.result.close();
          resolve();
        };
        request.onerror = () => reject(request.error);
      });
      try {
        await open(name);
        expect.fail("opened a newer database");
      } catch (error) {
        expect((error as { code?: string }).code).to.equal("STORE");
      }
    });
  });

  describe("migration from layout 1 (rows keyed by channel id alone)", () => {
    /** A database as layout 1 wrote it: one payer channel signed up to 12, and optionally a payee voucher and a meta row. */
    async function writeV1(name: string, payee: boolean): Promise<void> {
      const record = payerRecordOf(3);
      await new Promise<void>((resolve, reject) => {
        const request = factory.open(name, 1);
        request.onupgradeneeded = () => {
          const db = request.result;
          for (const store of ["payeeVouchers", "payeeChannels", "payerChannels"]) db.createObjectStore(store, { keyPath: "channelId" });
          db.createObjectStore("meta", { keyPath: "key" });
          const tx = request.transaction as IDBTransaction;
          tx.objectStore("payerChannels").put({
            channelId: record.channelId,
            chainId: record.chainId.toString(),
            contract: record.contract.toUpperCase().replace("0X", "0x"),
            config: { ...record.config, closeDelay: record.config.closeDelay.toString() },
            sessionKey: record.sessionKey ?? null,
            signedAmount: "12",
            signature: signatureOf(12),
          });
          if (payee) {
            tx.objectStore("payeeVouchers").put({ channelId: channelOf(4), amount: "9", signature: signatureOf(9) });
            tx.objectStore("meta").put({ key: "lastBlock", value: "5" });
          }
        };
        request.onsuccess = () => {
          request.result.close();
          resolve();
        };
        request.onerror = () => reject(request.error);
      });
    }

    it("moves payer channels to their own deployment: a migrated page never signs at or below what it signed", async () => {
      const name = nextName();
      await writeV1(name, false);
      const record = payerRecordOf(3);
      const store = await open(name);
      expect(await store.payerChannel(record.channelId)).to.deep.equal({ ...record, signedAmount: 12n, signature: signatureOf(12) });
      await expectRefused(store.recordSigned(record.channelId, 12n, signatureOf(13)));
      await store.recordSigned(record.channelId, 13n, signatureOf(13));
      expect((await store.payerChannel(record.channelId))?.signedAmount).to.equal(13n);
      await store.close();
    });

    it("refuses payee rows without legacyDeployment (STORE_MIGRATION, nothing changed), then migrates them with it", async () => {
      const name = nextName();
      await writeV1(name, true);
      const before = await dump(name);
      try {
        await IndexedDbStore.open(name, { indexedDB: factory, IDBKeyRange });
        expect.fail("migrated payee rows without a deployment");
      } catch (error) {
        expect((error as { code?: string }).code).to.equal("STORE_MIGRATION");
      }
      expect(await dump(name), "the layout-1 database is untouched").to.equal(before);
      const backend = await IndexedDbStore.open(name, { indexedDB: factory, IDBKeyRange, legacyDeployment: TEST_DEPLOYMENT });
      const store = backend.forDeployment(TEST_DEPLOYMENT);
      expect(await store.bestVoucher(channelOf(4))).to.deep.equal({ channelId: channelOf(4), amount: 9n, signature: signatureOf(9) });
      expect(await store.getMeta("lastBlock")).to.equal("5");
      expect((await store.payerChannel(payerRecordOf(3).channelId))?.signedAmount).to.equal(12n);
      const other = backend.forDeployment({ chainId: 1n, contract: TEST_DEPLOYMENT.contract });
      expect(await other.bestVoucher(channelOf(4)), "another chain does not see the migrated rows").to.equal(undefined);
      await backend.close();
    });
  });
});

async function expectRefused(promise: Promise<unknown>): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect((error as { code?: string }).code).to.equal("NOT_INCREASING");
    return;
  }
  expect.fail("expected NOT_INCREASING");
}
