// A throwaway PostgreSQL server for tests and benchmarks: `initdb` and `pg_ctl` in a temp dir, listening
// only on a unix socket inside it (no port to collide with, nothing reachable from outside). As root the
// server binaries run as the `postgres` user, since PostgreSQL refuses to run as root.
//
// A server never outlives the process that started it. `pg_ctl` detaches the server from its parent, so
// the owner's death would leave it running with its files; three things stop it instead: `stop()`; an
// exit hook (normal exit, uncaught error, SIGINT, SIGTERM, SIGHUP); and, for a death no hook sees
// (SIGKILL, the OOM killer), a watchdog: a small shell in its own process group reading a pipe from the
// owner. The kernel closes the pipe when the owner dies, however it dies; the watchdog then reads end of
// file, stops the server and removes its directory. `stop()` writes a line first, which tells the
// watchdog to exit without doing anything.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
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
  /** The cluster's directory (data, socket, log), removed when the server stops. */
  dir: string;
  /** Stops the server (immediate shutdown) and deletes its files. Idempotent. */
  stop(): void;
}

function ownerOf(user: string): { uid: number; gid: number } {
  const uid = Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim());
  return { uid, gid };
}

function asOwner(bin: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
}

function runAsOwner(bin: string, args: string[]): void {
  const [command, commandArgs] = asOwner(bin, args);
  execFileSync(command, commandArgs, { stdio: "pipe" });
}

const quote = (word: string) => `'${word.replace(/'/g, "'\\''")}'`;

/** Starts the watchdog of a cluster (see the top of this file). */
function startWatchdog(bin: string, data: string, dir: string): ChildProcess {
  const stop = asOwner(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]).flat().map(quote).join(" ");
  // `read` succeeds on a line (stop() ran: nothing to do) and fails at end of file (the owner died).
  const script = `if read -r line; then exit 0; fi; ${stop} >/dev/null 2>&1; rm -rf ${quote(dir)}`;
  const watchdog = spawn("sh", ["-c", script], { detached: true, stdio: ["pipe", "ignore", "ignore"] });
  // Neither the watchdog nor its pipe keeps the owner's event loop alive.
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
  watchdog.stdin?.on("error", () => undefined);
  return watchdog;
}

/** The clusters of this process not yet stopped, for the exit hook. */
const running = new Set<PostgresCluster>();
let hooked = false;

function stopAll(): void {
  for (const cluster of running) {
    try {
      cluster.stop();
    } catch {
      // Exiting anyway: the watchdog stops what this could not.
    }
  }
}

function installExitHook(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", stopAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = () => {
      stopAll();
      // Alone on this signal, the hook must not swallow it: die of it as the default would.
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
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
  const watchdog = startWatchdog(bin, data, dir);
  installExitHook();
  let stopped = false;
  const cluster: PostgresCluster = {
    url: `postgresql://trickle@localhost/postgres?host=${encodeURIComponent(dir)}`,
    dir,
    stop() {
      if (stopped) return;
      stopped = true;
      running.delete(cluster);
      try {
        runAsOwner(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        // Stopped here: the watchdog may go without doing anything.
        watchdog.stdin?.end("stopped\n");
      }
    },
  };
  running.add(cluster);
  return cluster;
}
