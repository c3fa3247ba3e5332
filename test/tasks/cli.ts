// Runs `hardhat trickle:* --network localhost` as a child process, the way an operator would, against
// the node at `rpcUrl` (hardhat.config.ts reads it from TRICKLE_RPC_URL).
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

const HARDHAT = path.resolve("node_modules", "hardhat", "dist", "src", "cli.js");

export interface TaskRun {
  code: number;
  stdout: string;
  stderr: string;
}

function environment(rpcUrl: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TRICKLE_RPC_URL: rpcUrl, ...extra };
  // An operator's shell: not inside a test run, no keys unless a test gives them.
  delete env.HH_TEST;
  for (const name of ["TRICKLE_PAYER_KEY", "TRICKLE_PAYEE_KEY", "TRICKLE_DEPLOYER_KEY", "TRICKLE_PAYEE_STORE_URL"]) {
    if (!(name in extra)) delete env[name];
  }
  return env;
}

export function runTask(rpcUrl: string, args: string[], extraEnv: Record<string, string> = {}): Promise<TaskRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HARDHAT, ...args, "--network", "localhost"], {
      env: environment(rpcUrl, extraEnv),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** A long-running task (trickle:watch) whose output can be awaited line by line. */
export interface BackgroundTask {
  child: ChildProcess;
  output(): string;
  /** Resolves with the output once it matches, rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

export function startTask(rpcUrl: string, args: string[], extraEnv: Record<string, string> = {}): BackgroundTask {
  const child = spawn(process.execPath, [HARDHAT, ...args, "--network", "localhost"], {
    env: environment(rpcUrl, extraEnv),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    async waitFor(pattern, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = output.match(pattern);
        if (match !== null) return match;
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no ${pattern} in the task's output:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}
