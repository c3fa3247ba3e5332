import { expect } from "chai";
import type { Hex } from "../../src/channel.ts";
import { prepaidChain } from "../../src/store/prepaid.ts";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { POSTGRES_SCHEMA_VERSION, PostgresStore } from "../../src/store/postgres.ts";
import { channelOf, jsonOf, MAX_UINT256, payerRecordOf, shouldBehaveLikeAStore, signatureOf, TEST_DEPLOYMENT } from "./behaviour.ts";
import { describeWithPostgres, freshSchema, postgresUrl, sql } from "./postgres-server.ts";

const SAVER = fileURLToPath(new URL("./fixtures/postgres-saver.ts", import.meta.url));

/** Everything a schema holds, every table in key order: equal strings mean nothing changed. */
async function dumpSchema(schema: string): Promise<string> {
  const tables = await sql<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name",
    [schema],
  );
  const dump: Record<string, unknown> = {};
  for (const { table_name } of tables) dump[table_name] = await sql(`SELECT * FROM ${schema}.${table_name} AS t ORDER BY t::text`);
  return jsonOf(dump);
}

/** Runs the saver child: saves its share of the vouchers and prints one line per result. */
function runSaver(args: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--experimental-transform-types", "--no-warnings", SAVER, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out.trim().split("\n").filter(Boolean)) : reject(new Error(`saver failed (${code}): ${err}`))));
  });
}

describeWithPostgres("store/PostgresStore", () => {
  shouldBehaveLikeAStore(
    async () => {
      const schema = freshSchema();
      const backend = await PostgresStore.open(await postgresUrl(), { schema, poolSize: 2 });
      const store = backend.forDeployment(TEST_DEPLOYMENT);
      return { store, backend, snapshot: () => dumpSchema(schema), dispose: () => store.close() };
    },
    { propertyRuns: 25 },
  );

  describe("durability, layout and concurrency", function () {
    this.timeout(120_000);

    it("keeps everything across close and reopen, and records its schema version", async () => {
      const url = await postgresUrl();
      const schema = freshSchema();
      const record = payerRecordOf(0);
      let store = (await PostgresStore.open(url, { schema })).forDeployment(TEST_DEPLOYMENT);
      await store.saveVoucherIfHigher({ channelId: channelOf(0), amount: MAX_UINT256, signature: signatureOf(1) });
      await store.savePayerChannel(record);
      await store.recordSigned(record.channelId, 12n, signatureOf(12));
      await store.setMeta("lastBlock", "7");
      await store.recordClaimed(channelOf(0), 5n);
      await store.close();
      store = (await PostgresStore.open(url, { schema })).forDeployment(TEST_DEPLOYMENT);
      expect(await store.bestVoucher(channelOf(0))).to.deep.equal({ channelId: channelOf(0), amount: MAX_UINT256, signature: signatureOf(1) });
      expect(await store.payerChannel(record.channelId)).to.deep.equal({ ...record, signedAmount: 12n, signature: signatureOf(12) });
      expect(await store.getMeta("lastBlock")).to.equal("7");
      expect((await store.unclaimedVouchers())[0].claimed).to.equal(5n);
      await store.close();
      expect(await sql(`SELECT version FROM ${schema}.schema_version`)).to.deep.equal([{ version: POSTGRES_SCHEMA_VERSION }]);
    });

    it("migrates a version 1 database to 2: its charge ledgers are kept, and gain the prepaid token chain", async () => {
      const url = await postgresUrl();
      const schema = freshSchema();
      let store = (await PostgresStore.open(url, { schema })).forDeployment(TEST_DEPLOYMENT);
      expect(await store.chargeVoucher({ channelId: channelOf(0), amount: 50n, signature: signatureOf(1) }, 10n)).to.deep.include({ charged: true });
      await store.close();
      await sql(`ALTER TABLE ${schema}.payee_ledgers DROP COLUMN prepaid; UPDATE ${schema}.schema_version SET version = 1`);
      store = (await PostgresStore.open(url, { schema })).forDeployment(TEST_DEPLOYMENT);
      expect(await store.chargeLedger(channelOf(0))).to.deep.equal({ served: 10n, floor: 0n, used: [50n] });
      const { anchor, tokens } = prepaidChain(new Uint8Array(32).fill(7), 3);
      const prepaid = (index: number) => ({ prepaid: { anchor, index, token: tokens[index - 1] as Hex } });
      expect(await store.chargeVoucher({ channelId: channelOf(0), amount: 80n, signature: signatureOf(2) }, 10n, prepaid(1))).to.deep.include({ charged: true, stored: true });
      expect(await store.chargeVoucher({ channelId: channelOf(0), amount: 80n, signature: signatureOf(2) }, 10n, prepaid(2))).to.deep.include({ charged: true, stored: false });
      expect((await store.chargeLedger(channelOf(0)))?.prepaid).to.deep.equal({ anchor, top: 2, topToken: tokens[1], used: [1, 2] });
      await store.close();
      expect(await sql(`SELECT version FROM ${schema}.schema_version`)).to.deep.equal([{ version: POSTGRES_SCHEMA_VERSION }]);
    });

    it("refuses a database written by a newer schema, and a bad schema name", async () => {
      const url = await postgresUrl();
      const schema = freshSchema();
      await (await PostgresStore.open(url, { schema })).close();
      await sql(`UPDATE ${schema}.schema_version SET version = ${POSTGRES_SCHEMA_VERSION + 1}`);
      try {
        await PostgresStore.open(url, { schema });
        expect.fail("opened a newer schema");
      } catch (error) {
        expect((error as { code: string }).code).to.equal("STORE");
      }
      for (const bad of ["Upper", "x; DROP TABLE y", "", "1abc"]) {
        try {
          await PostgresStore.open(url, { schema: bad });
          expect.fail(`opened schema ${bad}`);
        } catch (error) {
          expect((error as { code: string }).code).to.equal("INVALID_ARGUMENT");
        }
      }
    });

    it("with create: false, refuses a database without a Trickle store (STORE_NOT_FOUND) and creates nothing; opens one that exists", async () => {
      const url = await postgresUrl();
      const schema = freshSchema();
      const refused = await PostgresStore.open(url, { schema, create: false }).then(() => undefined, (e: { code?: string }) => e);
      expect(refused?.code).to.equal("STORE_NOT_FOUND");
      expect(await sql("SELECT 1 FROM information_schema.schemata WHERE schema_name = $1", [schema])).to.deep.equal([]);
      const created = (await PostgresStore.open(url, { schema })).forDeployment(TEST_DEPLOYMENT);
      await created.setMeta("k", "v");
      await created.close();
      const reopened = (await PostgresStore.open(url, { schema, create: false })).forDeployment(TEST_DEPLOYMENT);
      expect(await reopened.getMeta("k")).to.equal("v");
      await reopened.close();
    });

    it("transaction: a feature's rows and the store's records commit together or not at all, under the channel's and the name's locks", async () => {
      const url = await postgresUrl();
      const schema = freshSchema();
      const backend = await PostgresStore.open(url, { schema });
      const view = backend.forDeployment(TEST_DEPLOYMENT);
      const d = view.deployment;
      await sql(`CREATE TABLE ${schema}.extra (k TEXT PRIMARY KEY, n INTEGER NOT NULL)`);
      const lock = { channels: [{ deployment: d, channelId: channelOf(0) }] };
      const failed = await backend
        .transaction(lock, async (tx) => {
          tx.tables.putBest(d, { channelId: channelOf(0), amount: 5n, signature: signatureOf(1) });
          await tx.query(`INSERT INTO ${schema}.extra VALUES ('a', 1)`);
          throw new Error("the feature refuses");
        })
        .then(() => undefined, (error: Error) => error);
      expect(failed?.message).to.equal("the feature refuses");
      expect(await view.bestVoucher(channelOf(0))).to.equal(undefined);
      expect(await sql(`SELECT * FROM ${schema}.extra`)).to.deep.equal([]);
      // The locked channel's voucher is read into the tables, and what is put there is written.
      await view.saveVoucherIfHigher({ channelId: channelOf(0), amount: 3n, signature: signatureOf(2) });
      const seen = await backend.transaction(lock, async (tx) => {
        const before = tx.tables.bestAmount(d, channelOf(0));
        tx.tables.putBest(d, { channelId: channelOf(0), amount: 5n, signature: signatureOf(1) });
        await tx.query(`INSERT INTO ${schema}.extra VALUES ('a', 0)`);
        return before;
      });
      expect(seen).to.equal(3n);
      expect((await view.bestVoucher(channelOf(0)))?.amount).to.equal(5n);
      // Read-modify-write under one name's lock, from two pools at once: no increment is lost.
      const other = await PostgresStore.open(url, { schema });
      const increments = Array.from({ length: 12 }, (_, i) =>
        (i % 2 === 0 ? backend : other).transaction({ channels: [], names: ["counter"] }, async (tx) => {
          const [row] = await tx.query(`SELECT n FROM ${schema}.extra WHERE k = 'a'`);
          await tx.query("SELECT pg_sleep(0.01)"); // a window in which an unlocked writer would interleave
          await tx.query(`UPDATE ${schema}.extra SET n = $1 WHERE k = 'a'`, [Number(row!.n) + 1]);
        }),
      );
      await Promise.all(increments);
      expect(await sql(`SELECT n FROM ${schema}.extra`)).to.deep.equal([{ n: 12 }]);
      await other.close();
      await view.close();
      expect(await backend.transaction(lock, async () => 1).then(() => undefined, (e: { code?: string }) => e.code)).to.equal("STORE");
    });

    it("refuses a server where commits are not durable (synchronous_commit off)", async () => {
      const url = await postgresUrl();
      const separator = url.includes("?") ? "&" : "?";
      try {
        await PostgresStore.open(`${url}${separator}options=${encodeURIComponent("-c synchronous_commit=off")}`, { schema: freshSchema() });
        expect.fail("opened with synchronous_commit off");
      } catch (error) {
        expect((error as { code: string }).code).to.equal("STORE");
      }
    });

    it("group commit: concurrent saves share a few transactions, not one each", async () => {
      const backend = await PostgresStore.open(await postgresUrl(), { schema: freshSchema() });
      const store = backend.forDeployment(TEST_DEPLOYMENT);
      const before = backend.commits;
      const saves = [];
      for (let i = 0; i < 2000; i++) {
        saves.push(store.saveVoucherIfHigher({ channelId: channelOf(i % 50), amount: BigInt(i + 1), signature: signatureOf(i) }));
      }
      const results = await Promise.all(saves);
      expect(backend.commits - before).to.be.at.most(5);
      const stored = results.filter((r) => r.stored).length;
      expect(stored).to.be.at.least(50);
      expect((await store.bestVouchers()).map((v) => v.amount)).to.deep.equal(Array.from({ length: 50 }, (_, c) => BigInt(1951 + c)));
      await backend.close();
    });

    it("a commit that fails rejects its whole batch with STORE and writes nothing", async () => {
      const schema = freshSchema();
      const backend = await PostgresStore.open(await postgresUrl(), { schema });
      const store = backend.forDeployment(TEST_DEPLOYMENT);
      await store.saveVoucherIfHigher({ channelId: channelOf(0), amount: 5n, signature: signatureOf(1) });
      // A constraint the store does not know about makes this commit fail half-way.
      await sql(`ALTER TABLE ${schema}.meta ADD CONSTRAINT no_k CHECK (key <> 'k')`);
      const before = await dumpSchema(schema);
      const [meta, save] = await Promise.allSettled([
        store.saveVoucherIfHigher({ channelId: channelOf(0), amount: 6n, signature: signatureOf(2) }),
        store.setMeta("k", "v"),
      ]);
      for (const outcome of [meta, save]) {
        expect(outcome.status).to.equal("rejected");
        expect((outcome as PromiseRejectedResult).reason.code).to.equal("STORE");
      }
      expect(await dumpSchema(schema)).to.equal(before);
      expect(await store.saveVoucherIfHigher({ channelId: channelOf(1), amount: 1n, signature: signatureOf(3) })).to.deep.equal({
        stored: true,
        previousAmount: 0n,
      });
      await backend.close();
    });

    it("an unreachable server: open rejects with STORE", async () => {
      try {
        await PostgresStore.open(`postgresql://trickle@localhost/postgres?host=${encodeURIComponent("/nonexistent/trickle")}`, { schema: freshSchema() });
        expect.fail("opened a store on no server");
      } catch (error) {
        expect((error as { code: string }).code).to.equal("STORE");
      }
    });

    it("connections killed by the server (restart, failover): writes fail with STORE or succeed, none is half-done, and the store recovers", async () => {
      const url = await postgresUrl();
      const schema = freshSchema();
      const name = `victim_${schema}`;
      const backend = await PostgresStore.open({ connectionString: url, application_name: name }, { schema, poolSize: 2 });
      const store = backend.forDeployment(TEST_DEPLOYMENT);
      await store.saveVoucherIfHigher({ channelId: channelOf(0), amount: 5n, signature: signatureOf(5) });
      const saves = Array.from({ length: 50 }, (_, i) => store.saveVoucherIfHigher({ channelId: channelOf(1), amount: BigInt(i + 1), signature: signatureOf(i + 1) }));
      // Observed before the kill: a save that fails while the kill is awaited must not count as unhandled.
      const settled = Promise.allSettled(saves);
      await sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [name]);
      const outcomes = await settled;
      for (const outcome of outcomes) {
        if (outcome.status === "rejected") expect((outcome.reason as { code: string }).code).to.equal("STORE");
      }
      // Whatever was acknowledged is there. (A commit cut off after the server applied it is kept though
      // its callers saw STORE: unacknowledged is "maybe", never "half".)
      const acknowledged = outcomes.flatMap((o, i) => (o.status === "fulfilled" ? [BigInt(i + 1)] : []));
      const best = (await store.bestVoucher(channelOf(1)))?.amount ?? 0n;
      expect(best >= acknowledged.reduce((m, a) => (a > m ? a : m), 0n)).to.equal(true);
      expect(best <= 50n).to.equal(true);
      // The pool replaces the dead connections: the store works again and lost nothing from before.
      await sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [name]);
      let saved = false;
      for (let attempt = 0; attempt < 5 && !saved; attempt++) {
        saved = await store.saveVoucherIfHigher({ channelId: channelOf(2), amount: 9n, signature: signatureOf(9) }).then(() => true, () => false);
      }
      expect(saved).to.equal(true);
      expect((await store.bestVoucher(channelOf(0)))?.amount).to.equal(5n);
      expect((await store.bestVoucher(channelOf(2)))?.amount).to.equal(9n);
      await backend.close();
    });

    it("four processes saving the same channels at once: the maximum wins, and increments add up exactly once", async () => {
      const url = await postgresUrl();
      const schema = freshSchema();
      await (await PostgresStore.open(url, { schema })).close();
      const channels = 8;
      const perProcess = 600;
      // Every process sends every amount of its share twice, in its own shuffled order; shares overlap.
      const outputs = await Promise.all([0, 1, 2, 3].map((p) => runSaver([url, schema, String(p), String(channels), String(perProcess)])));
      const store = (await PostgresStore.open(url, { schema })).forDeployment(TEST_DEPLOYMENT);
      const incrementsByChannel = new Map<number, bigint>();
      const storedAmounts = new Map<number, Set<bigint>>();
      for (const line of outputs.flat()) {
        const [channel, amount, stored, previous] = line.split(" ");
        if (stored !== "1") {
          expect(BigInt(previous) >= BigInt(amount)).to.equal(true);
          continue;
        }
        const c = Number(channel);
        const set = storedAmounts.get(c) ?? new Set();
        expect(set.has(BigInt(amount)), `amount ${amount} stored twice on channel ${c}`).to.equal(false);
        set.add(BigInt(amount));
        storedAmounts.set(c, set);
        incrementsByChannel.set(c, (incrementsByChannel.get(c) ?? 0n) + BigInt(amount) - BigInt(previous));
      }
      for (let c = 0; c < channels; c++) {
        const max = BigInt(perProcess + 3 * (perProcess / 2));
        expect((await store.bestVoucher(channelOf(c)))?.amount, `channel ${c}`).to.equal(max);
        expect(incrementsByChannel.get(c), `increments of channel ${c}`).to.equal(max);
      }
      await store.close();
    });
  });
});
