// The README's test command: solhint with zero findings, then every Solidity and TypeScript test
// through `hardhat test`. Prints one closing line, `N passed, M failed`, and exits non-zero on failure.
import { spawn } from "node:child_process";

interface StepResult {
  passed: number;
  failed: number;
}

function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: process.env });
    let output = "";
    const forward = (chunk: Buffer, to: NodeJS.WriteStream) => {
      output += chunk.toString();
      to.write(chunk);
    };
    child.stdout.on("data", (chunk: Buffer) => forward(chunk, process.stdout));
    child.stderr.on("data", (chunk: Buffer) => forward(chunk, process.stderr));
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

async function lintSolidity(): Promise<StepResult> {
  const { code } = await run("npx", ["solhint", "--max-warnings", "0", "--disc", "contracts/**/*.sol"]);
  console.log(code === 0 ? "solhint: 0 findings" : "solhint: findings above");
  return code === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 };
}

async function hardhatTests(): Promise<StepResult> {
  const { code, output } = await run("npx", ["hardhat", "test"]);
  // Hardhat closes with "N passing (a solidity, b mocha)" and, when something failed, "M failing".
  const passing = [...output.matchAll(/^(\d+) passing \(/gm)].at(-1);
  const failing = [...output.matchAll(/^(\d+) failing/gm)].at(-1);
  const passed = passing ? Number(passing[1]) : 0;
  let failed = failing ? Number(failing[1]) : 0;
  if (code !== 0 && failed === 0) failed = 1; // a crash before the summary still counts as a failure
  return { passed, failed };
}

const results = [await lintSolidity(), await hardhatTests()];
const passed = results.reduce((sum, r) => sum + r.passed, 0);
const failed = results.reduce((sum, r) => sum + r.failed, 0);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
