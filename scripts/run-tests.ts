// The README's test command: solhint with zero findings, every Solidity and TypeScript test through
// `hardhat test`, then a strict `tsc --noEmit` over src/, test/, scripts/ and tasks/. Prints one closing line,
// `N passed, M failed`, and exits non-zero on failure.
import { spawn } from "node:child_process";

interface StepResult {
  passed: number;
  failed: number;
}

// Hardhat's last summary line, "N passing (a solidity, b mocha)": every test has run once it is printed.
const SUMMARY = /^\d+ passing \(\d+ solidity, \d+ mocha\)/m;
// How long `hardhat test` may take to exit after its summary. A test that leaves a timer or a socket open
// would otherwise keep the run alive until CI's own limit.
const EXIT_GRACE_MS = 60_000;

function run(command: string, args: string[]): Promise<{ code: number; output: string; hung: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: process.env, detached: true });
    let output = "";
    let hung = false;
    let grace: NodeJS.Timeout | undefined;
    const forward = (chunk: Buffer, to: NodeJS.WriteStream) => {
      output += chunk.toString();
      to.write(chunk);
      if (grace === undefined && SUMMARY.test(output)) {
        grace = setTimeout(() => {
          hung = true;
          console.log(`\n${command} ${args.join(" ")} did not exit ${EXIT_GRACE_MS / 1000} s after its summary: a test left a handle open`);
          process.kill(-child.pid!, "SIGKILL"); // the whole process group: hardhat and what it started
        }, EXIT_GRACE_MS);
      }
    };
    // Detached, so a hung run can be killed as a group; a Ctrl-C or a CI stop still reaches it while it runs.
    const forwardSignal = (signal: NodeJS.Signals) => {
      process.kill(-child.pid!, signal);
      process.exit(1);
    };
    process.on("SIGINT", forwardSignal);
    process.on("SIGTERM", forwardSignal);
    child.stdout.on("data", (chunk: Buffer) => forward(chunk, process.stdout));
    child.stderr.on("data", (chunk: Buffer) => forward(chunk, process.stderr));
    child.on("close", (code) => {
      clearTimeout(grace);
      process.off("SIGINT", forwardSignal);
      process.off("SIGTERM", forwardSignal);
      resolve({ code: code ?? 1, output, hung });
    });
  });
}

async function lintSolidity(): Promise<StepResult> {
  const { code } = await run("npx", ["solhint", "--max-warnings", "0", "--disc", "contracts/**/*.sol"]);
  console.log(code === 0 ? "solhint: 0 findings" : "solhint: findings above");
  return code === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 };
}

// One step like solhint: a type error anywhere fails the run. `hardhat test` compiles the contracts first,
// so typechain-types/ (which tests import) is current by the time tsc runs after it.
async function typeCheck(): Promise<StepResult> {
  const { code } = await run("npx", ["tsc", "--noEmit", "-p", "tsconfig.json"]);
  console.log(code === 0 ? "tsc --noEmit: no type errors" : "tsc --noEmit: type errors above");
  return code === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 };
}

async function hardhatTests(): Promise<StepResult> {
  const { code, output, hung } = await run("npx", ["hardhat", "test"]);
  // Hardhat closes with "N passing (a solidity, b mocha)" and, when something failed, "M failing".
  const passing = [...output.matchAll(/^(\d+) passing \(/gm)].at(-1);
  const failing = [...output.matchAll(/^(\d+) failing/gm)].at(-1);
  const passed = passing ? Number(passing[1]) : 0;
  let failed = failing ? Number(failing[1]) : 0;
  if (hung) failed += 1;
  else if (code !== 0 && failed === 0) failed = 1; // a crash before the summary still counts as a failure
  return { passed, failed };
}

const results = [await lintSolidity(), await hardhatTests(), await typeCheck()];
const passed = results.reduce((sum, r) => sum + r.passed, 0);
const failed = results.reduce((sum, r) => sum + r.failed, 0);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
