// A throwaway PostgreSQL server for tests and benchmarks: `initdb` and `pg_ctl` in a temp dir, listening
// only on a unix socket inside it (no port to collide with, nothing reachable from outside). As root the
// server binaries run as the `postgres` user, since PostgreSQL refuses to run as root.
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BIN_ROOT = "/usr/lib/postgresql";

/** The directory of `initdb` and `pg_ctl`: TRICKLE_PG_BIN, Debian's newest install, or the PATH's. */
export function postgresBin(): string | undefined {
  const given = process.env.TRICKLE_PG_BIN;
  if (given !== undefined) return existsSync(join(given, "initdb")) ? given : undefined;
  if (existsSync(BIN_ROOT)) {
    const versions = readdirSync(BIN_ROOT)
      .filter((v) => existsSync(join(BIN_ROOT, v, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(BIN_ROOT, versions[0], "bin");
  }
  const found = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" });
  return found.status === 0 && found.stdout.trim() !== "" ? join(found.stdout.trim(), "..") : undefined;
}

export interface PostgresCluster {
  /** A `postgresql://` URL reaching the server through its socket. */
  url: string;
  /** Stops the server (immediate shutdown) and deletes its files. Idempotent. */
  stop(): void;
}

function ownerOf(user: string): { uid: number; gid: number } {
  const uid = Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim());
  return { uid, gid };
}

function runAsOwner(bin: string, args: string[]): void {
  const [command, commandArgs] = process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
  execFileSync(command, commandArgs, { stdio: "pipe" });
}

/** Creates and starts a cluster; throws when PostgreSQL is not installed. */
export function startPostgresCluster(): PostgresCluster {
  const bin = postgresBin();
  if (bin === undefined) throw new Error("PostgreSQL is not installed: apt-get install -y postgresql, or set TRICKLE_PG_URL");
  const dir = mkdtempSync(join(tmpdir(), "trickle-pg-"));
  const data = join(dir, "data");
  if (process.getuid?.() === 0) {
    const { uid, gid } = ownerOf("postgres");
    chownSync(dir, uid, gid);
  }
  try {
    // --no-sync only skips initdb's own fsyncs of the empty cluster; the server fsyncs every commit.
    runAsOwner(join(bin, "initdb"), ["-D", data, "-U", "trickle", "--auth=trust", "--no-sync", "-E", "UTF8"]);
    const options = `-c listen_addresses='' -c unix_socket_directories='${dir}' -c max_connections=300 -c shared_buffers=64MB`;
    runAsOwner(join(bin, "pg_ctl"), ["-D", data, "-o", options, "-l", join(dir, "server.log"), "-w", "-t", "60", "start"]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
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
