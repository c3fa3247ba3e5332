// A throwaway PostgreSQL server for the tests: `initdb` and `pg_ctl` in a temp dir, listening only on a
// unix socket inside it, started by the first test that asks and stopped by a root `after` hook when
// the run ends; a run that dies before (a signal, a crash, SIGKILL) stops it through the cluster's exit
// hook and watchdog (scripts/lib/postgres-cluster.ts). With TRICKLE_PG_URL set, that server is used
// instead and nothing is started.
//
// Without PostgreSQL installed the PostgreSQL tests cannot run: `describeWithPostgres` then registers
// nothing and prints why, except under CI=true, where it registers one failing test, so a CI machine
// without PostgreSQL cannot pass the run.
import pg from "pg";
import { postgresBin, startPostgresCluster, type PostgresCluster } from "../../scripts/lib/postgres-cluster.ts";

export function postgresAvailable(): boolean {
  return process.env.TRICKLE_PG_URL !== undefined || postgresBin() !== undefined;
}

let cluster: Promise<PostgresCluster> | undefined;

/** The URL of the test server, starting it on first use. */
export async function postgresUrl(): Promise<string> {
  const given = process.env.TRICKLE_PG_URL;
  if (given !== undefined) return given;
  cluster ??= Promise.resolve().then(startPostgresCluster);
  return (await cluster).url;
}

let schemas = 0;

/** A fresh, empty schema name in the test server, so each store starts from nothing. */
export function freshSchema(prefix = "t"): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${schemas++}`;
}

/** Runs one statement on the test server (for tests that inspect or break the database directly). */
export async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: await postgresUrl() });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/**
 * `describe` for tests that need PostgreSQL. Without it: a clear line saying so and no tests, or, under
 * CI=true, a failing test.
 */
export function describeWithPostgres(title: string, body: (this: Mocha.Suite) => void): void {
  if (postgresAvailable()) {
    describe(title, body);
    return;
  }
  const reason = "PostgreSQL is not installed (no initdb, no TRICKLE_PG_URL): apt-get install -y postgresql to run these tests";
  if (process.env.CI === "true") {
    describe(title, () => {
      it("needs PostgreSQL", () => {
        throw new Error(reason);
      });
    });
  } else {
    console.log(`  [${title}] not run: ${reason}`);
  }
}

// A root hook: runs once, after every test file, whichever of them started the server.
after(async () => {
  if (cluster === undefined) return;
  const started = await cluster.catch(() => undefined);
  started?.stop();
});
