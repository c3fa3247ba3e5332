// `npm run demo:donations [-- --donors 1000 --creators 100 --tips 100000]`: micro-donations on the in-process
// Hardhat network. Every donor funds one TipJar budget (one transaction), then tips creators picked at random,
// off-chain: each tip is a signed tally the creator checks and answers with a signed receipt, kept by the
// donor for its yearly statement. The platform settles every budget's last tally in a few batched
// transactions; each creator then takes everything every donor gave it in one transaction. Prints the
// transactions and gas next to what one plain transfer per tip would have cost.
//
// Run by `node` (like scripts/demo.ts), so the options reach this script as they are.
import { parseArgs } from "node:util";
import { Wallet } from "ethers";
import hre, { network } from "hardhat";
import type { Address, Hex } from "../src/channel.ts";
import { Creator, DonationCapExceededError, Donor, budgetId, ethersTipJar, localSigner, tallyTotal, type BudgetConfig, type Settlement, type SignedTally } from "../src/donations/index.ts";

const { values: args } = parseArgs({
  options: {
    donors: { type: "string", default: "1000" },
    creators: { type: "string", default: "100" },
    tips: { type: "string", default: "100000" },
    seed: { type: "string", default: "1" },
  },
});
const count = (name: string, value: string | undefined): number => {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return parsed;
};
const donorCount = count("donors", args.donors);
const creatorCount = count("creators", args.creators);
const tipCount = count("tips", args.tips);

/** A deterministic generator (mulberry32), so a run can be repeated exactly. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const next = random(count("seed", args.seed));

const ETH = "0x0000000000000000000000000000000000000000" as Address;
/** A tip is 1 to 100 micro-ETH. */
const UNIT = 10n ** 12n;
/** The most settlement entries (creator amounts, both tallies) one transaction carries: ~10M gas. */
const PAIRS_PER_BATCH = 3_000;

await hre.tasks.getTask("build").run({ quiet: true });
const connection = await network.create();
const { ethers, networkHelpers } = connection;
const [platform] = await ethers.getSigners();
const jar = await ethers.deployContract("TipJar");
const jarAddress = (await jar.getAddress()) as Address;
const { chainId } = await ethers.provider.getNetwork();
const domain = { chainId, verifyingContract: jarAddress };
const reader = ethersTipJar(jarAddress, ethers.provider);
console.log(`TipJar at ${jarAddress}: ${donorCount} donors tip ${creatorCount} creators ${tipCount} times`);

let transactions = 0;
let gasUsed = 0n;
const track = async (sent: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>): Promise<void> => {
  const receipt = await (await sent).wait();
  transactions += 1;
  gasUsed += receipt!.gasUsed;
};

// What one tip as a plain transfer costs: measure a real one.
const transfer = await (await platform!.sendTransaction({ to: Wallet.createRandom().address, value: UNIT })).wait();
const transferGas = transfer!.gasUsed;

// Donors: each funds its budget with what it will give, plus a margin, in one transaction.
const key = (label: string, i: number): Hex => ethers.id(`trickle donations demo ${label} ${i}`) as Hex;
const budgetSize = (UNIT * 100n * BigInt(Math.ceil(tipCount / donorCount))) + UNIT * 100n;
const donors: { donor: Donor; config: BudgetConfig }[] = [];
for (let i = 0; i < donorCount; i++) {
  const account = localSigner(key("donor", i));
  const wallet = new Wallet(key("donor", i), ethers.provider);
  await networkHelpers.setBalance(wallet.address, budgetSize + 10n ** 17n);
  const config: BudgetConfig = { donor: account.address, token: ETH, signer: account.address, closeDelay: 7n * 86_400n, salt: key("budget", i) };
  await track(jar.connect(wallet).open(config, budgetSize, { value: budgetSize }));
  donors.push({ donor: new Donor({ signer: account, config, deposit: budgetSize, domain, caps: { perCreator: budgetSize / 2n } }), config });
}

// Creators: each checks every tip against the chain and signs a receipt.
const creators: { creator: Creator; wallet: Wallet }[] = [];
for (let i = 0; i < creatorCount; i++) {
  const wallet = new Wallet(key("creator", i), ethers.provider);
  await networkHelpers.setBalance(wallet.address, 10n ** 17n);
  creators.push({ creator: new Creator({ signer: localSigner(key("creator", i)), domain, chain: reader }), wallet });
}

/** The platform relays every tip, so it holds each budget's last signed tally. */
const lastSigned = new Map<Hex, SignedTally>();
const started = performance.now();
let given = 0n;
let refused = 0;
for (let t = 0; t < tipCount; t++) {
  const { donor, config } = donors[Math.floor(next() * donorCount)]!;
  const { creator } = creators[Math.floor(next() * creatorCount)]!;
  const amount = UNIT * BigInt(1 + Math.floor(next() * 100));
  let tip;
  try {
    tip = await donor.tip(creator.address, amount);
  } catch (error) {
    // The donor's own caps (half its budget to one creator, the whole budget in total) refuse the tip.
    if (!(error instanceof DonationCapExceededError)) throw error;
    refused += 1;
    continue;
  }
  await donor.recordReceipt(await creator.acceptTip(config, tip.signed));
  lastSigned.set(tip.signed.budgetId, tip.signed);
  given += amount;
  if (tipCount >= 10_000 && (t + 1) % (tipCount / 10) === 0) console.log(`  ${t + 1} tips signed, checked and receipted`);
}
const offChainSeconds = (performance.now() - started) / 1000;
console.log(`${tipCount} tips off-chain in ${offChainSeconds.toFixed(1)} s (${Math.round(tipCount / offChainSeconds)} tips/s, one core)`);

/** What the first creator sees: held in the jar, and signed to it but not settled yet. */
async function showHoldings(when: string): Promise<void> {
  const sample = creators[0]!.creator;
  const { held, claimable, budgets } = await sample.holdings(ETH);
  console.log(`creator ${sample.address} ${when}: holds ${ethers.formatEther(held)} ETH in the jar, ` +
    `${ethers.formatEther(claimable)} ETH claimable from ${budgets} budgets`);
}
await showHoldings("before any settlement");

// The platform settles every budget's last tally, in batches that fit a block.
let batch: Settlement[] = [];
let pairs = 0;
const flush = async (): Promise<void> => {
  if (batch.length === 0) return;
  await track(jar.connect(platform!).settleMany(batch));
  batch = [];
  pairs = 0;
};
for (const { donor, config } of donors) {
  const tally = donor.tally;
  if (tally.creators.length === 0) continue;
  if (pairs + tally.creators.length > PAIRS_PER_BATCH || batch.length === 256) await flush();
  batch.push({ config, settledTally: { creators: [], amounts: [] }, tally, signature: signatureOf(donor, config) });
  pairs += tally.creators.length;
}
await flush();
const settleTransactions = transactions - donorCount;

/** The donor's last signature, as the platform received it with the last tip. */
function signatureOf(donor: Donor, config: BudgetConfig): Hex {
  const signed = lastSigned.get(budgetId(config));
  if (signed === undefined || tallyTotal(donor.tally) !== signed.total) throw new Error("the platform lost a tally");
  return signed.signature;
}

// Each creator: what it holds and can claim, then everything in one transaction.
await showHoldings("after the platform's settlements");
let collected = 0n;
for (const { creator, wallet } of creators) {
  const { held, claimable } = await creator.holdings(ETH);
  if (held + claimable === 0n) continue;
  const result = await creator.claimAll(ethersTipJar(jarAddress, wallet), ETH);
  transactions += 1;
  gasUsed += result.gasUsed;
  collected += result.amount;
}
if (collected !== given) throw new Error(`creators collected ${collected}, donors gave ${given}`);

const statement = donors[0]!.donor.statement(new Date().getUTCFullYear());
const perTip = (value: bigint): string => (Number(value) / tipCount).toFixed(1);
const oneByOne = transferGas * BigInt(tipCount);
const row = (label: string, value: string): string => `${label.padEnd(44)}${value}`;
console.log("");
console.log(row("tips", `${tipCount} (${ethers.formatEther(given)} ETH from ${donorCount} donors to ${creatorCount} creators)`));
console.log(row("refused by the donors' caps before signing", `${refused}`));
console.log(row("transactions with the tip jar", `${transactions} (${donorCount} budget opens, ${settleTransactions} settlements, ${transactions - donorCount - settleTransactions} creator claims)`));
console.log(row("gas with the tip jar", `${gasUsed.toLocaleString("en-US")} (${perTip(gasUsed)} per tip)`));
console.log(row("one transfer per tip", `${tipCount} transactions, ${oneByOne.toLocaleString("en-US")} gas (${transferGas} per tip)`));
console.log(row("saved", `${(100 - (Number(gasUsed) * 100) / Number(oneByOne)).toFixed(1)}% of the gas, ${tipCount - transactions} transactions`));
console.log(row("donor 0 statement", `${statement.tips.length} tips, ${statement.unreceipted} without a receipt`));
