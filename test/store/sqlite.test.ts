import { expect } from "chai";
import type { Hex } from "../../src/channel.ts";
import { prepaidChain } from "../../src/store/prepaid.ts";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { channelId as computeChannelId } from "../../src/channel.ts";
import { SCHEMA_VERSION, SqliteStore } from "../../src/store/sqlite.ts";
import { channelOf, configOf, expectCode, MAX_UINT256, payerRecordOf, shouldBehaveLikeAStore, signatureOf, TEST_DEPLOYMENT } from "./behaviour.ts";
import { dumpDatabase } from "./dump.ts";

describe("store/SqliteStore", () => {
  let dir: string;
  let files = 0;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "trickle-store-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const nextPath = () => join(dir, `store-${files++}.db`);

  shouldBehaveLikeAStore(
    async () => {
      const path = nextPath();
      const backend = SqliteStore.open(path);
      const store = backend.forDeployment(TEST_DEPLOYMENT);
      return { store, backend, snapshot: async () => dumpDatabase(path), dispose: () => store.close() };
    },
    { propertyRuns: 100 },
  );

  describe("durability and layout", () => {
    it("keeps everything across close and reopen", async () => {
      const path = nextPath();
      const record = payerRecordOf(0);
      let store = SqliteStore.open(path).forDeployment(TEST_DEPLOYMENT);
      await store.saveVoucherIfHigher({ channelId: channelOf(0), amount: MAX_UINT256, signature: signatureOf(1) });
      await store.savePayerChannel(record);
      await store.recordSigned(record.channelId, 12n, signatureOf(12));
      await store.setMeta("lastBlock", "7");
      await store.close();
      store = SqliteStore.open(path).forDeployment(TEST_DEPLOYMENT);
      expect(await store.bestVoucher(channelOf(0))).to.deep.equal({ channelId: channelOf(0), amount: MAX_UINT256, signature: signatureOf(1) });
      expect(await store.payerChannel(record.channelId)).to.deep.equal({ ...record, signedAmount: 12n, signature: signatureOf(12) });
      expect(await store.getMeta("lastBlock")).to.equal("7");
      await store.close();
    });

    it("uses WAL, records its schema version and stores amounts as 32-byte big-endian blobs", async () => {
      const path = nextPath();
      const store = SqliteStore.open(path).forDeployment(TEST_DEPLOYMENT);
      await store.saveVoucherIfHigher({ channelId: channelOf(0), amount: 0x0102n, signature: signatureOf(1) });
      const db = new DatabaseSync(path, { readOnly: true });
      expect((db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode).to.equal("wal");
      expect((db.prepare("SELECT max(version) AS version FROM schema_version").get() as { version: number }).version).to.equal(SCHEMA_VERSION);
      const row = db.prepare("SELECT amount FROM payee_vouchers").get() as { amount: Uint8Array };
      expect(Buffer.from(row.amount).toString("hex")).to.equal("0102".padStart(64, "0"));
      db.close();
      await store.close();
    });

    it("migrates a version 2 file to 3: its vouchers are kept and count as served", async () => {
      const path = nextPath();
      let store = SqliteStore.open(path).forDeployment(TEST_DEPLOYMENT);
      await store.saveVoucherIfHigher({ channelId: channelOf(0), amount: 50n, signature: signatureOf(1) });
      await store.close();
      const db = new DatabaseSync(path);
      db.exec("DROP TABLE payee_ledgers; UPDATE schema_version SET version = 2");
      db.close();
      store = SqliteStore.open(path).forDeployment(TEST_DEPLOYMENT);
      expect((await store.bestVoucher(channelOf(0)))?.amount).to.equal(50n);
      expect(await store.chargeVoucher({ channelId: channelOf(0), amount: 40n, signature: signatureOf(2) }, 10n)).to.deep.include({ charged: false });
      expect(await store.chargeVoucher({ channelId: channelOf(0), amount: 60n, signature: signatureOf(3) }, 10n)).to.deep.equal({
        charged: true,
        stored: true,
        best: 60n,
        served: 60n,
      });
      await store.close();
    });

    it("migrates a version 3 file to 4: its charge ledgers are kept, and gain the prepaid token chain", async () => {
      const path = nextPath();
      let store = SqliteStore.open(path).forDeployment(TEST_DEPLOYMENT);
      expect(await store.chargeVoucher({ channelId: channelOf(0), amount: 50n, signature: signatureOf(1) }, 10n)).to.deep.include({ charged: true });
      await store.close();
      const db = new DatabaseSync(path);
      db.exec("ALTER TABLE payee_ledgers DROP COLUMN prepaid; UPDATE schema_version SET version = 3");
      db.close();
      store = SqliteStore.open(path).forDeployment(TEST_DEPLOYMENT);
      expect(await store.chargeLedger(channelOf(0))).to.deep.equal({ served: 10n, floor: 0n, used: [50n] });
      const { anchor, tokens } = prepaidChain(new Uint8Array(32).fill(7), 3);
      const prepaid = (index: number) => ({ prepaid: { anchor, index, token: tokens[index - 1] as Hex } });
      expect(await store.chargeVoucher({ channelId: channelOf(0), amount: 80n, signature: signatureOf(2) }, 10n, prepaid(1))).to.deep.include({ charged: true, stored: true });
      expect(await store.chargeVoucher({ channelId: channelOf(0), amount: 80n, signature: signatureOf(2) }, 10n, prepaid(2))).to.deep.include({ charged: true, stored: false });
      expect((await store.chargeLedger(channelOf(0)))?.prepaid).to.deep.equal({ anchor, top: 2, topToken: tokens[1], used: [1, 2] });
      await store.close();
      const after = new DatabaseSync(path);
      expect((after.prepare("SELECT version FROM schema_version").get() as { version: number }).version).to.equal(SCHEMA_VERSION);
      after.close();
    });

    it("two stores on one file (two processes) share one ledger: together they charge exactly what was paid", async () => {
      const path = nextPath();
      const stores = [SqliteStore.open(path).forDeployment(TEST_DEPLOYMENT), SqliteStore.open(path).forDeployment(TEST_DEPLOYMENT)];
      const price = 7n;
      // Both take every voucher of two channels, each in its own order: every amount is offered twice.
      const amounts = Array.from({ length: 60 }, (_, i) => BigInt(i + 1) * price);
      const offers = stores.flatMap((store, s) =>
        [0, 1].flatMap((channel) =>
          (s === 0 ? amounts : [...amounts].reverse()).map((amount) =>
            store.chargeVoucher({ channelId: channelOf(channel), amount, signature: signatureOf(Number(amount)) }, price),
          ),
        ),
      );
      const results = await Promise.all(offers);
      const charged = results.filter((r) => r.charged);
      expect(charged, "each voucher amount buys exactly one request").to.have.length(120);
      for (const store of stores) {
        for (const channel of [0, 1]) {
          expect((await store.bestVoucher(channelOf(channel)))?.amount).to.equal(60n * price);
          expect((await store.chargeLedger(channelOf(channel)))?.served).to.equal(60n * price);
        }
      }
      for (const store of stores) await store.close();
    });

    it("refuses a file written by a newer schema", async () => {
      const path = nextPath();
      await SqliteStore.open(path).close();
      const db = new DatabaseSync(path);
      db.exec(`UPDATE schema_version SET version = ${SCHEMA_VERSION + 1}`);
      db.close();
      expect(() => SqliteStore.open(path)).to.throw().with.property("code", "STORE");
    });

    it("group commit: concurrent saves across channels share one transaction", async () => {
      const backend = SqliteStore.open(nextPath());
      const store = backend.forDeployment(TEST_DEPLOYMENT);
      const before = backend.commits;
      const saves = [];
      for (let i = 0; i < 500; i++) {
        saves.push(store.saveVoucherIfHigher({ channelId: channelOf(i % 50), amount: BigInt(i + 1), signature: signatureOf(i) }));
      }
      const results = await Promise.all(saves);
      expect(backend.commits - before).to.equal(1);
      expect(results.filter((r) => r.stored)).to.have.length(50);
      expect((await store.bestVouchers()).map((v) => v.amount)).to.deep.equal(Array.from({ length: 50 }, (_, c) => BigInt(451 + c)));
      await store.close();
    });

    it("a commit that fails rejects its whole batch with STORE and writes nothing", async () => {
      const path = nextPath();
      const store = SqliteStore.open(path).forDeployment(TEST_DEPLOYMENT);
      await store.saveVoucherIfHigher({ channelId: channelOf(0), amount: 5n, signature: signatureOf(1) });
      // Corrupt the row behind the store's back (bypassing the CHECK), so reading it fails mid-commit.
      const other = new DatabaseSync(path);
      other.exec("PRAGMA ignore_check_constraints = ON");
      other.exec(`UPDATE payee_vouchers SET amount = x'${"01".repeat(31)}'`);
      other.close();
      const before = dumpDatabase(path);
      const [meta, save] = await Promise.allSettled([
        store.setMeta("k", "v"),
        store.saveVoucherIfHigher({ channelId: channelOf(0), amount: 6n, signature: signatureOf(2) }),
      ]);
      for (const outcome of [meta, save]) {
        expect(outcome.status).to.equal("rejected");
        expect((outcome as PromiseRejectedResult).reason.code).to.equal("STORE");
      }
      expect(dumpDatabase(path)).to.equal(before);
      // The store stays usable for the other channels.
      expect(await store.saveVoucherIfHigher({ channelId: channelOf(1), amount: 1n, signature: signatureOf(3) })).to.deep.equal({
        stored: true,
        previousAmount: 0n,
      });
      await store.close();
    });
  });

  describe("migration from schema version 1 (records keyed by channel id alone)", () => {
    // Written by the version-1 store (Trickle before chain keying): three payee channels with vouchers,
    // a watchtower cursor, and one payer channel of chain 31337, contract 0x44..44.
    const FIXTURE = fileURLToPath(new URL("./fixtures/v1-payee-and-payer.sqlite", import.meta.url));
    const legacyDeployment = { chainId: 31337n, contract: `0x${"44".repeat(20)}` as const };
    const copy = () => {
      const path = nextPath();
      copyFileSync(FIXTURE, path);
      return path;
    };
    const idOf = (n: number) => computeChannelId(configOf(n));

    it("refuses to guess whose payee records they are: STORE_MIGRATION, file unchanged", () => {
      const path = copy();
      const before = dumpDatabase(path);
      expect(() => SqliteStore.open(path)).to.throw().with.property("code", "STORE_MIGRATION");
      expect(dumpDatabase(path)).to.equal(before);
    });

    it("moves every record under its deployment, keeps every amount, and records version 2", async () => {
      const path = copy();
      const backend = SqliteStore.open(path, { legacyDeployment });
      const store = backend.forDeployment(legacyDeployment);
      for (let n = 0; n < 3; n++) {
        expect(await store.bestVoucher(idOf(n))).to.deep.equal({ channelId: idOf(n), amount: BigInt(n + 1) * 1000n, signature: signatureOf(n + 1) });
        expect(await store.channel(idOf(n))).to.deep.equal(configOf(n));
      }
      expect((await store.unclaimedVouchers()).map((v) => v.claimed)).to.deep.equal([0n, 0n, 0n]);
      const cursor = `watchtower:${legacyDeployment.contract}:0x${"22".repeat(20)}:lastBlock`;
      expect(await store.getMeta(cursor)).to.equal("42");
      expect(await store.payerChannel(idOf(7))).to.deep.include({ chainId: 31337n, contract: legacyDeployment.contract, signedAmount: 77n });
      // Only that deployment: the same ids on another chain start empty.
      const other = backend.forDeployment({ chainId: 1n, contract: legacyDeployment.contract });
      expect(await other.bestVouchers()).to.deep.equal([]);
      expect(await other.payerChannels()).to.deep.equal([]);
      // Monotonicity survives the move.
      expect(await store.saveVoucherIfHigher({ channelId: idOf(0), amount: 999n, signature: signatureOf(9) })).to.deep.equal({
        stored: false,
        previousAmount: 1000n,
      });
      await backend.close();
      const db = new DatabaseSync(path, { readOnly: true });
      expect((db.prepare("SELECT version FROM schema_version").all() as { version: number }[]).map((r) => r.version)).to.deep.equal([SCHEMA_VERSION]);
      db.close();
      // Reopened later without the option: already migrated, nothing more is asked.
      const again = SqliteStore.open(path).forDeployment(legacyDeployment);
      expect((await again.bestVouchers()).length).to.equal(3);
      await again.close();
    });

    it("migrates a file with only payer records without being told a deployment", async () => {
      const path = copy();
      const db = new DatabaseSync(path);
      db.exec("DELETE FROM payee_vouchers; DELETE FROM payee_channels; DELETE FROM meta;");
      db.close();
      const store = SqliteStore.open(path).forDeployment(legacyDeployment);
      expect((await store.payerChannel(idOf(7)))?.signedAmount).to.equal(77n);
      await expectCode(store.recordSigned(idOf(7), 77n, signatureOf(1)), "NOT_INCREASING");
      await store.close();
    });
  });
});
