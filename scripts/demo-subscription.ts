// `npm run demo:subscription [-- --days N]`: a month of daily subscription periods in seconds, on the
// in-process Hardhat network. The payer opens one ETH channel; its Subscriber subscribes to the basic
// plan, renews every day over HTTP with one voucher each, upgrades to pro mid-period (pro-rated),
// downgrades back (from the next period), cancels; a route gated by tier answers along the way; the payee
// closes. Prints what each side paid and how many transactions it took.
import { parseArgs } from "node:util";
import type { RequestListener } from "node:http";
import { Plans } from "../src/commerce/plans.ts";
import { RECEIPT_HEADER, withTier } from "../src/commerce/http.ts";
import { httpCounter } from "../src/commerce/client.ts";
import { Subscriber } from "../src/commerce/subscriber.ts";
import { encodeReceiptHeader } from "../src/commerce/wire.ts";
import { exportLedger, ledgerToCsv } from "../src/commerce/ledger.ts";
import { ETH_TOKEN, toUnits } from "../src/units.ts";
import { commerceDemo, eth } from "./lib/commerce-demo.ts";

const { values: args } = parseArgs({ options: { days: { type: "string", default: "30" } } });
const days = Number(args.days);
if (!Number.isSafeInteger(days) || days < 4) throw new Error(`--days must be an integer of at least 4, got ${args.days}`);

const DAY = 86_400n;
const plans = new Plans(ETH_TOKEN, ["basic", "pro"], [
  { id: "basic", tier: "basic", price: "0.001 ETH", period: DAY },
  { id: "pro", tier: "pro", price: "0.003 ETH", period: DAY },
]);
const routes = (seller: Parameters<typeof withTier>[0]): RequestListener => {
  const pro = withTier(seller, "pro", (_req, res) => void res.end("pro content"));
  return (req, res) => (req.url === "/pro" ? pro(req, res) : void res.writeHead(404).end());
};
const demo = await commerceDemo({ plans, deposit: toUnits("0.1 ETH", ETH_TOKEN), routes });
const start = demo.clock.now;
const subscriber = new Subscriber({
  payer: demo.payer,
  chain: demo.payerChain,
  config: demo.config,
  channelId: demo.channelId,
  counter: httpCounter(`${demo.url}/commerce`),
  limits: { plans: ["basic", "pro"], maxPerPeriod: toUnits("0.003 ETH", ETH_TOKEN), until: start + BigInt(days + 1) * DAY },
  receiptSigner: demo.seller.receiptSigner,
  domain: demo.domain,
  // Renew a day ahead: the demo's clock moves a day at a time, so the next period is paid before this one ends.
  renewAhead: DAY,
  now: () => demo.clock.now,
});
const proRoute = async () => {
  const last = subscriber.receipts.at(-1);
  const response = await fetch(`${demo.url}/pro`, { headers: last ? { [RECEIPT_HEADER]: encodeReceiptHeader(last) } : {} });
  await response.arrayBuffer();
  return response.status === 200 ? "served" : `refused (${response.status})`;
};

const upgradeDay = Math.floor(days / 3);
const downgradeDay = Math.floor((2 * days) / 3);
const cancelDay = days - 3;
const events: string[] = [];
await subscriber.subscribe("basic");
events.push(`day 0: subscribed to basic, ${eth(plans.plan("basic").price)} a day; /pro ${await proRoute()}`);
for (let day = 1; day <= days; day++) {
  demo.clock.now = start + BigInt(day) * DAY;
  const renewed = await subscriber.renewIfDue().catch((error: { reason?: string }) => {
    events.push(`day ${day}: renewal refused: ${error.reason}`);
    return undefined;
  });
  if (day === upgradeDay) {
    demo.clock.now += DAY / 2n;
    const up = await subscriber.changePlan("pro");
    events.push(`day ${day}.5: upgraded to pro now for ${eth(up!.price)} (${eth(plans.plan("pro").price)} less the unused half day of basic); /pro ${await proRoute()}`);
  }
  if (day === downgradeDay) {
    await subscriber.changePlan("basic");
    events.push(`day ${day}: downgrade to basic asked: pro stays until its period ends`);
  }
  if (day === cancelDay) {
    subscriber.cancel();
    const check = await subscriber.check();
    events.push(`day ${day}: cancelled; next renewal check: ${check.ok ? "ok" : check.reason}; paid until day ${Number(subscriber.paidUntil - start) / 86_400}`);
  }
  if (renewed === undefined && day > cancelDay && subscriber.paidUntil <= demo.clock.now && !events.some((e) => e.includes("lapsed"))) {
    events.push(`day ${day}: membership lapsed; entitled to basic: ${await demo.seller.entitled(demo.payerAddress, "basic")}; /pro ${await proRoute()}`);
  }
}
for (const line of events) console.log(line);

const periods = subscriber.receipts;
const ledger = await exportLedger({ store: demo.store, from: start, to: demo.clock.now + 1n });
console.log(`\nTrickle subscription demo: ${days} days`);
await demo.finish([
  ["periods paid (receipts)", `${periods.length}: ${periods.filter((r) => r.item === "basic").length} basic, ${periods.filter((r) => r.item === "pro").length} pro, each verified against the payee's address`],
  ["paid per the receipts", eth(periods.reduce((t, r) => t + r.price, 0n))],
  ["vouchers signed by the payer", `${periods.length} (one per period, no transaction)`],
  ["ledger export", `${ledger.length} rows, ${ledgerToCsv(ledger).length} bytes of CSV`],
]);
await demo.dispose();
