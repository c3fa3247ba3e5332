// A throwaway PostgreSQL server for the tests: `initdb` and `pg_ctl` in a temp dir, listening only on a
// unix socket inside it, started by the first test that asks and stopped by a root `after` hook when
// the run ends. With TRICKLE_PG_URL set, that server is used instead and nothing is started.
//
// Without PostgreSQL installed the PostgreSQL tests cannot run: `describeWithPostgres` then registers
// nothing and prints why, except under CI=true, where it registers one failing test, so a CI machine
// without PostgreSQL cannot pass the run.
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

const BIN_ROOT = "/usr/lib/postgresql";

/** The directory of `initdb` and `pg_ctl`: TRICKLE_PG_BIN, Debian's newest, or the PATH. */
export function postgresBin(): string | undefined {
  if (process.env.TRICKLE_PG_BIN !== undefined) return process.env.TRICKLE_PG_BIN;
  if (existsSync(BIN_ROOT)) {
    const versions = readdirSync(BIN_ROOT)
      .filter((v) => existsSync(join(BIN_ROOT, v, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(BIN_ROOT, versions[0], "bin");
  }
  const found = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" });
  return found.status === 0 ? join(found.stdout.trim(), "..") : undefined;
}

export function postgresAvailable(): boolean {
  return process.env.TRICKLE_PG_URL !== undefined || postgresBin() !== undefined;
}

interface Cluster {
  url: string;
  stop(): void;
}

let cluster: Promise<Cluster> | undefined;

/** Runs a server binary; as root, as the `postgres` user (the server refuses to run as root). */
function runAsOwner(bin: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const [command, commandArgs] = asRoot ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
  execFileSync(command, commandArgs, { stdio: "pipe" });
}

function startCluster(): Cluster {
  const bin = postgresBin();
  if (bin === undefined) throw new Error("PostgreSQL is not installed: apt-get install -y postgresql, or set TRICKLE_PG_URL");
  const dir = mkdtempSync(join(tmpdir(), "trickle-pg-"));
  const data = join(dir, "data");
  if (process.getuid?.() === 0) {
    const { uid, gid } = ownerOf("postgres");
    chownSync(dir, uid, gid);
  }
  runAsOwner(join(bin, "initdb"), ["-D", data, "-U", "trickle", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  // Only a socket in the temp dir: no port to collide with, nothing reachable from outside.
  const options = `-c listen_addresses='' -c unix_socket_directories='${dir}' -c max_connections=300 -c shared_buffers=64MB`;
  runAsOwner(join(bin, "pg_ctl"), ["-D", data, "-o", options, "-l", join(dir, "server.log"), "-w", "-t", "60", "start"]);
  let stopped = false;
  return {
    url: `postgresql://trickle@localhost/postgres?host=${encodeURIComponent(dir)}`,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        runAsOwner(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function ownerOf(user: string): { uid: number; gid: number } {
  const uid = Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim());
  return { uid, gid };
}

/** The URL of the test server, starting it on first use. */
export async function postgresUrl(): Promise<string> {
  const given = process.env.TRICKLE_PG_URL;
  if (given !== undefined) return given;
  cluster ??= Promise.resolve().then(startCluster);
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
export function describeWithPostgres(title: string, body: () => void): void {
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
