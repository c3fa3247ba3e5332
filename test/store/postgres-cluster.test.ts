// A throwaway PostgreSQL cluster never outlives the process that started it: whether that process exits,
// dies of an uncaught error, is stopped by a signal, or is SIGKILLed (where no hook of its own runs and the
// watchdog stops the server), the server process ends and its directory is removed.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { postgresBin } from "../../scripts/lib/postgres-cluster.ts";

const OWNER = fileURLToPath(new URL("./fixtures/cluster-owner.ts", import.meta.url));

/** Running, not a zombie waiting for a parent that does not reap it. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

async function eventually(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Starts an owner; resolves with its cluster once the server is up, and with how the owner ended. */
function startOwner(how: "exit" | "throw" | "wait") {
  const child = spawn(process.execPath, ["--experimental-transform-types", "--no-warnings", OWNER, how], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const cluster = new Promise<{ dir: string; pid: number }>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n")) resolve(JSON.parse(line!) as { dir: string; pid: number });
    });
    void ended.then(() => reject(new Error(`the owner ended before its server was up: ${err}`)));
  });
  return { child, cluster, ended };
}

/** These start clusters of their own: they need the binaries, which TRICKLE_PG_URL alone does not give. */
function describeWithBinaries(title: string, body: (this: Mocha.Suite) => void): void {
  if (postgresBin() !== undefined) return void describe(title, body);
  const reason = "PostgreSQL is not installed (no initdb): apt-get install -y postgresql to run these tests";
  if (process.env.CI === "true") describe(title, () => it("needs PostgreSQL", () => Promise.reject(new Error(reason))));
  else console.log(`  [${title}] not run: ${reason}`);
}

describeWithBinaries("scripts/lib/postgres-cluster: no server outlives its owner", function () {
  this.timeout(120_000);

  for (const [how, kill] of [["exit", undefined], ["throw", undefined], ["wait", "SIGTERM"], ["wait", "SIGINT"], ["wait", "SIGKILL"]] as const) {
    it(`${kill === undefined ? `an owner that ends with ${how === "exit" ? "process.exit" : "an uncaught error"}` : `an owner killed with ${kill}`} leaves no server and no files`, async () => {
      const owner = startOwner(how);
      const { dir, pid } = await owner.cluster;
      if (kill !== undefined) {
        expect(alive(pid)).to.equal(true);
        owner.child.kill(kill);
      }
      const ended = await owner.ended;
      if (kill === "SIGKILL") expect(ended.signal).to.equal("SIGKILL");
      if (how === "throw") expect(ended.code).to.equal(1);
      await eventually(`server ${pid} is gone`, () => !alive(pid));
      await eventually(`${dir} is removed`, () => !existsSync(dir));
    });
  }
});
