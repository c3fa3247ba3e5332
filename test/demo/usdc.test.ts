// `npm run demo -- --token usdc`, run as a user runs it: the channel is a 6-decimal ERC-3009 stablecoin,
// opened gaslessly (the payer signs, a relayer sends), and every amount prints in USDC.
import { expect } from "chai";
import { spawn } from "node:child_process";

function runDemo(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["scripts/demo.ts", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

describe("demo --token usdc", function () {
  this.timeout(240_000);

  it("pays in USDC over a gaslessly opened channel: the payer spends no ETH and the payee gets every request's price", async () => {
    const { code, output } = await runDemo(["--token", "usdc", "--requests", "40", "--concurrency", "4"]);
    expect(code, output).to.equal(0);
    expect(output).to.match(/0\.001 USDC per request/);
    expect(output).to.match(/paid requests \(payments\)\s+40\n/);
    expect(output).to.match(/paid in total\s+0\.04 USDC \(signed 0\.04 USDC\)/);
    expect(output).to.match(/gasless open: signed by the payer, sent by a relayer/);
    expect(output).to.match(/payer balance\s+[\d.]+ USDC \(-0\.04\)/);
    expect(output).to.match(/payee balance\s+[\d.]+ USDC \(\+0\.04\)/);
    expect(output).to.match(/contract balance\s+0 USDC \(\+0\)/);
    expect(output).to.match(/payer ETH spent on gas\s+0 ETH/);
  });
});
