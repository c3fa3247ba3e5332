// The commerce demos run end to end at a small size, on the in-process Hardhat network, and print
// summaries whose figures add up (the scripts also throw when the balances do not).
import { expect } from "chai";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = new URL("../../", import.meta.url);

async function demo(script: string, args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, ["--no-warnings", script, ...args], { cwd: root, timeout: 170_000 });
  return stdout;
}

describe("commerce demos", function () {
  this.timeout(180_000);

  it("demo:subscription subscribes, renews, upgrades, downgrades, cancels and closes in two transactions", async function () {
    const out = await demo("scripts/demo-subscription.ts", ["--days", "6"]);
    expect(out).to.match(/day 0: subscribed to basic, 0\.001 ETH a day; \/pro refused \(402\)/);
    expect(out).to.match(/upgraded to pro now for 0\.0025 ETH .*\/pro served/);
    expect(out).to.match(/cancelled; next renewal check: CANCELLED/);
    expect(out).to.match(/membership lapsed; entitled to basic: false/);
    expect(out).to.match(/on-chain transactions\s+2: /);
    const periods = Number(/periods paid \(receipts\)\s+(\d+)/.exec(out)![1]);
    expect(periods).to.be.within(4, 7);
    const paid = /paid per the receipts\s+([\d.]+) ETH/.exec(out)![1];
    expect(out).to.match(new RegExp(`payer paid the payee\\s+${paid.replace(".", "\\.")} ETH`));
  });

  it("demo:store buys, retries a lost answer without a second charge, and restores every receipt", async function () {
    const out = await demo("scripts/demo-store.ts", ["--purchases", "5"]);
    expect(out).to.contain("bought coins-100 4 times; purchase 3's answer was lost and retried: 5 HTTP answers for 4 purchases");
    expect(out).to.contain("returns the receipt it has, unpaid: true");
    expect(out).to.contain("restore purchases: 5 receipts, all verified offline; coins-3 appears 1 time(s)");
    expect(out).to.match(/paid per the receipts\s+0\.009 ETH/);
    expect(out).to.match(/payer paid the payee\s+0\.009 ETH/);
    expect(out).to.match(/on-chain transactions\s+2: /);
  });
});
