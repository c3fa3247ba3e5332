// `npm run demo:store`: an in-app store on the in-process Hardhat network. The payer opens one ETH
// channel and its Buyer buys over HTTP: consumable coins several times, a non-consumable "no ads" unlock,
// one purchase whose answer is lost on the way back (retried with the same voucher and purchase id: same
// receipt, charged once), the unlock again under a new id (the receipt it already has). Then the app
// "reinstalls": restore purchases rebuilds every receipt from the payee's records, each verified offline
// with the payee's address alone. The payee closes the channel.
import { parseArgs } from "node:util";
import { Buyer } from "../src/commerce/buyer.ts";
import { Catalog } from "../src/commerce/catalog.ts";
import { httpCounter } from "../src/commerce/client.ts";
import { verifyReceipt, receiptFromJson } from "../src/commerce/receipt.ts";
import { voucherToJson } from "../src/commerce/wire.ts";
import { ETH_TOKEN, toUnits } from "../src/units.ts";
import { commerceDemo, eth } from "./lib/commerce-demo.ts";

const { values: args } = parseArgs({ options: { purchases: { type: "string", default: "20" } } });
const purchases = Number(args.purchases);
if (!Number.isSafeInteger(purchases) || purchases < 2) throw new Error(`--purchases must be an integer of at least 2, got ${args.purchases}`);

const catalog = new Catalog(ETH_TOKEN, [
  { id: "coins-100", kind: "consumable", price: "0.001 ETH" },
  { id: "no-ads", kind: "non-consumable", price: "0.005 ETH" },
]);
const demo = await commerceDemo({ catalog, deposit: toUnits("0.1 ETH", ETH_TOKEN) });

// The network drops the answer of the third purchase: the sale happened, the app never heard of it.
let answers = 0;
const lossyFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  if (++answers === 3) {
    await response.arrayBuffer();
    throw new TypeError("fetch failed: connection reset");
  }
  return response;
};
const buyer = new Buyer({
  payer: demo.payer,
  config: demo.config,
  channelId: demo.channelId,
  counter: httpCounter(`${demo.url}/commerce`, { fetch: lossyFetch }),
  receiptSigner: demo.seller.receiptSigner,
  domain: demo.domain,
  maxPrice: toUnits("0.01 ETH", ETH_TOKEN),
});
const coins = catalog.item("coins-100");
const noAds = catalog.item("no-ads");
for (let i = 1; i < purchases; i++) await buyer.buy(coins.id, coins.price, `coins-${i}`);
console.log(`bought coins-100 ${purchases - 1} times; purchase 3's answer was lost and retried: ${answers} HTTP answers for ${purchases - 1} purchases`);
const unlock = await buyer.buy(noAds.id, noAds.price, "unlock-1");
const again = await buyer.buy(noAds.id, noAds.price, "unlock-2");
console.log(`bought no-ads; buying it again under another id returns the receipt it has, unpaid: ${again.signature === unlock.signature}`);

// The app reinstalls: it keeps only its channel's latest voucher, and restores its receipts from the payee.
const response = await fetch(`${demo.url}/commerce/restore`, { method: "POST", body: JSON.stringify({ voucher: voucherToJson(buyer.lastAccepted!) }) });
const restored = ((await response.json()) as { receipts: unknown[] }).receipts.map(receiptFromJson);
for (const receipt of restored) verifyReceipt(demo.domain, receipt, demo.seller.receiptSigner);
const keys = new Set(restored.map((r) => r.key));
console.log(`restore purchases: ${restored.length} receipts, all verified offline; coins-3 appears ${restored.filter((r) => r.key === "coins-3").length} time(s)`);

console.log(`\nTrickle in-app store demo`);
const paid = await demo.finish([
  ["purchases (receipts)", `${restored.length}: ${restored.filter((r) => r.item === coins.id).length} coins-100, ${restored.filter((r) => r.item === noAds.id).length} no-ads (${keys.size} distinct ids)`],
  ["paid per the receipts", eth(restored.reduce((t, r) => t + r.price, 0n))],
  ["vouchers signed by the payer", `${purchases} (one per purchase; the retry re-sent the same one)`],
]);
if (paid.paid !== restored.reduce((t, r) => t + r.price, 0n)) throw new Error("the receipts do not add up to what was paid");
await demo.dispose();
