// `npm run demo:donations` at a small size: it runs to the end, every tip is receipted, creators collect
// exactly what donors gave (the script throws otherwise), and the tip jar costs less gas than a transfer per tip.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = new URL("../../", import.meta.url);

describe("demo:donations", function () {
  this.timeout(180_000);

  it("10 donors tip 5 creators 200 times for less gas than 200 transfers", async () => {
    const { stdout } = await run(process.execPath, ["scripts/demo-donations.ts", "--donors", "10", "--creators", "5", "--tips", "200"], { cwd: root });
    const line = (label: string): string => {
      const found = stdout.split("\n").find((l) => l.startsWith(label));
      expect(found, `a "${label}" line in:\n${stdout}`).to.not.equal(undefined);
      return found!.slice(label.length).trim();
    };
    expect(line("tips")).to.match(/^200 \(/);
    const transactions = /^(\d+) \(10 budget opens, (\d+) settlements, (\d+) creator claims\)$/.exec(line("transactions with the tip jar"));
    expect(transactions, stdout).to.not.equal(null);
    expect(Number(transactions![3])).to.be.within(1, 5);
    expect(Number(transactions![2])).to.be.at.least(1);
    const gas = /^([\d,]+) \(([\d.]+) per tip\)$/.exec(line("gas with the tip jar"));
    const transfers = /^200 transactions, ([\d,]+) gas \((\d+) per tip\)$/.exec(line("one transfer per tip"));
    expect(gas, stdout).to.not.equal(null);
    expect(transfers, stdout).to.not.equal(null);
    expect(Number(gas![1]!.replaceAll(",", ""))).to.be.lessThan(Number(transfers![1]!.replaceAll(",", "")));
    expect(line("donor 0 statement")).to.match(/^\d+ tips, 0 without a receipt$/);
  });
});
