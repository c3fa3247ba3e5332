// The reader page: connect a wallet, open one channel (the only wallet prompt after connecting), then
// read paid articles and watch the paid live stream, each payment a voucher signed by the session key
// kept in IndexedDB. A reload finds the channel again and goes on paying from it.
//
// Tips for the author go through the TipJar (trickle/donations): one wallet confirmation opens a tip
// budget whose signer is a session key made in this page; each tip then signs a growing tally with that
// key (the Donor checks the caps first) and the site's author answers with a signed receipt.
//
// The membership (trickle/commerce): a Subscriber pays the "member" plan with one voucher on the reader's
// channel, no prompt; the payee's period receipt, sent in TRICKLE-RECEIPT, opens the members-only article.
import { bytesToHex, createPublicClient, createWalletClient, custom, formatEther, parseAbi } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { connectWallet, reconnectWallet, readMeteredStream, payStreamFrom, IndexedDbStore, type BrowserWallet, type Eip1193Provider, type WalletChannel } from "../src/browser/index.ts";
import type { Address, Hex } from "../src/channel.ts";
import type { PayingFetch } from "../src/http/fetch.ts";
import { httpCounter } from "../src/commerce/client.ts";
import { Subscriber } from "../src/commerce/subscriber.ts";
import { RECEIPT_HEADER } from "../src/commerce/tier.ts";
import { encodeReceiptHeader } from "../src/commerce/wire.ts";
import { Donor } from "../src/donations/donor.ts";
import type { TipReceipt } from "../src/donations/receipt.ts";
import { localSigner } from "../src/donations/signing.ts";
import type { BudgetConfig } from "../src/donations/tally.ts";
import { demoWallet } from "./demo-wallet.ts";

interface SiteConfig {
  chainId: string;
  contract: Address;
  payee: Address;
  articlePrice: string;
  unitPrice: string;
  unitMs: number;
  minCloseDelay: string;
  /** A funded account of the local node, for the stand-in wallet when the browser has none. */
  demoAccount: Address;
  tipJar: Address;
  /** The articles' author: the creator the tip button tips. */
  author: Address;
  memberPlan: string;
  memberPrice: string;
  /** The payee's receipt key: membership receipts are checked against it before they are trusted. */
  receiptSigner: Address;
}

interface ArticleSummary {
  id: number;
  title: string;
  paid: boolean;
  price: string;
}

const DEPOSIT = 10n ** 16n; // 0.01 ETH: a hundred articles
const BUDGET = 10n ** 17n; // the most the paying fetch may lock, over every deposit
const LIVE_SECONDS = 30n;
const TIP = 10n ** 14n; // 0.0001 ETH a click
const TIP_BUDGET = 10n ** 15n; // 0.001 ETH locked in the TipJar
const TIP_CAPS = { perCreator: 5n * TIP, perDay: 5n * TIP }; // the donor's own limits, checked before signing
const TIP_JAR_ABI = parseAbi([
  "function open((address donor,address token,address signer,uint64 closeDelay,bytes32 salt) config, uint256 amount) payable returns (bytes32)",
]);
const ETH_TOKEN = "0x0000000000000000000000000000000000000000" as Address;

/** The tip budget as this page keeps it (localStorage): its session key, its config and the tips signed. */
interface StoredBudget {
  key: Hex;
  config: { donor: Address; token: Address; signer: Address; closeDelay: string; salt: Hex };
  deposit: string;
  tips: string[];
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.querySelector(`[data-testid="${id}"]`) as T;

let config: SiteConfig;
let store: IndexedDbStore;
let wallet: BrowserWallet | undefined;
let channel: WalletChannel | undefined;
let paidFetch: PayingFetch | undefined;
let signedHere = 0;
let live: AbortController | undefined;
let provider: Eip1193Provider;
let donor: Donor | undefined;
let receipts = 0;

function eth(wei: bigint): string {
  return `${formatEther(wei)} ETH`;
}

function say(message: string): void {
  $("status").textContent = message;
}

function showError(error: unknown): void {
  const code = (error as { code?: unknown }).code;
  $("error").textContent = typeof code === "string" ? `${code}: ${(error as Error).message.split("\n")[0]}` : String(error);
  console.error(error);
}

async function guarded(action: () => Promise<void>): Promise<void> {
  $("error").textContent = "";
  try {
    await action();
  } catch (error) {
    showError(error);
  }
}

async function refreshChannel(): Promise<void> {
  channel = wallet === undefined ? undefined : await wallet.openChannelTo(config.payee);
  if (channel === undefined && wallet !== undefined) {
    // A closing channel is shown too, so that its withdraw button stays reachable.
    const all = await wallet.channels();
    channel = all.find((c) => c.state.status === 2);
  }
  render();
}

function render(): void {
  $("account").textContent = wallet?.account ?? "not connected";
  $("channel").textContent = channel === undefined ? "none" : `${channel.record.channelId.slice(0, 18)}... (${["none", "open", "closing", "finished"][channel.state.status]})`;
  $("deposit").textContent = channel === undefined ? "-" : eth(channel.state.deposit);
  $("spent").textContent = channel === undefined ? "-" : eth(channel.record.signedAmount);
  $("payments").textContent = `${signedHere} signed in this page, no prompt`;
  const open = channel?.state.status === 1;
  $<HTMLButtonElement>("connect").disabled = wallet !== undefined;
  $<HTMLButtonElement>("open").disabled = wallet === undefined || open;
  $<HTMLButtonElement>("top-up").disabled = !open;
  $<HTMLButtonElement>("request-close").disabled = !open;
  $<HTMLButtonElement>("withdraw").disabled = channel?.state.status !== 2;
  $<HTMLButtonElement>("watch").disabled = !open || live !== undefined;
  $<HTMLButtonElement>("stop").disabled = live === undefined;
  $<HTMLButtonElement>("subscribe").disabled = !open || memberReceipt() !== null;
  $<HTMLButtonElement>("read-members").disabled = wallet === undefined;
  $("member").textContent = memberReceipt() === null ? "not a member" : "member";
  $<HTMLButtonElement>("open-tips").disabled = wallet === undefined || donor !== undefined;
  $<HTMLButtonElement>("tip").disabled = donor === undefined;
  $("tip-budget").textContent = donor === undefined ? "none" : `${donor.budgetId.slice(0, 18)}...`;
  $("tipped").textContent = eth(donor?.givenTo(config.author) ?? 0n);
  $("tipped").dataset.wei = String(donor?.givenTo(config.author) ?? 0n);
  $("tip-receipts").textContent = String(receipts);
}

function memberKey(): string {
  return `trickle-member:${config.contract.toLowerCase()}:${wallet?.account.toLowerCase()}`;
}

/** The membership's latest period receipt, as the TRICKLE-RECEIPT header carries it; null before subscribing. */
function memberReceipt(): string | null {
  return wallet === undefined ? null : localStorage.getItem(memberKey());
}

async function subscribe(): Promise<void> {
  if (wallet === undefined || channel === undefined) return;
  const { record } = channel;
  const subscriber = new Subscriber({
    payer: wallet.payer,
    chain: wallet.chain,
    config: record.config,
    channelId: record.channelId,
    counter: httpCounter(`${location.origin}/commerce`),
    // Nothing is signed outside these: this plan only, at most its price a period, for a year.
    limits: { plans: [config.memberPlan], maxPerPeriod: BigInt(config.memberPrice), until: BigInt(Math.floor(Date.now() / 1000)) + 365n * 86_400n },
    receiptSigner: config.receiptSigner,
    domain: { chainId: BigInt(config.chainId), verifyingContract: config.contract },
  });
  const receipt = await subscriber.subscribe(config.memberPlan);
  signedHere++;
  localStorage.setItem(memberKey(), encodeReceiptHeader(receipt));
  // The paying fetch keeps the amount it last signed on the channel; a fresh one reads the store again, so
  // the next article's voucher starts above the membership's.
  paidFetch = await wallet.payingFetch({ budget: BUDGET });
  say(`Member until ${new Date(Number(receipt.validUntil) * 1000).toISOString().slice(0, 10)}: paid ${eth(receipt.price)} with one voucher, no prompt.`);
  await refreshChannel();
}

async function readMembers(): Promise<void> {
  const receipt = memberReceipt();
  const response = await fetch("/api/members/article", { headers: receipt === null ? {} : { [RECEIPT_HEADER]: receipt } });
  const body = (await response.json()) as { title: string; body: string; error?: string; message?: string };
  if (!response.ok) throw Object.assign(new Error(body.message ?? `the members' article answered ${response.status}`), { code: body.error });
  const view = $("article");
  const title = document.createElement("h3");
  title.textContent = body.title;
  const text = document.createElement("p");
  text.textContent = body.body;
  view.replaceChildren(title, text);
  view.dataset.articleId = "members";
}

function budgetKey(): string {
  return `trickle-tips:${config.tipJar.toLowerCase()}:${wallet?.account.toLowerCase()}`;
}

function tipDomain() {
  return { chainId: BigInt(config.chainId), verifyingContract: config.tipJar };
}

function budgetConfig(stored: StoredBudget): BudgetConfig {
  return { ...stored.config, closeDelay: BigInt(stored.config.closeDelay) };
}

/** After a reload: the Donor is rebuilt from the stored key by signing the stored tips again (no prompt). */
async function restoreDonor(): Promise<void> {
  const text = wallet === undefined ? null : localStorage.getItem(budgetKey());
  if (text === null) return;
  const stored = JSON.parse(text) as StoredBudget;
  const restored = new Donor({ signer: localSigner(stored.key), config: budgetConfig(stored), deposit: BigInt(stored.deposit), domain: tipDomain(), caps: TIP_CAPS });
  for (const amount of stored.tips) await restored.tip(config.author, BigInt(amount));
  donor = restored;
}

async function openTipBudget(): Promise<void> {
  if (wallet === undefined) return;
  const key = generatePrivateKey();
  const signer = localSigner(key);
  const stored: StoredBudget = {
    key,
    config: { donor: wallet.account, token: ETH_TOKEN, signer: signer.address, closeDelay: "3600", salt: bytesToHex(crypto.getRandomValues(new Uint8Array(32))) },
    deposit: TIP_BUDGET.toString(),
    tips: [],
  };
  say("Confirm the tip budget in your wallet...");
  const transport = custom(provider);
  const sender = createWalletClient({ account: wallet.account, transport });
  const hash = await sender.writeContract({ address: config.tipJar, abi: TIP_JAR_ABI, functionName: "open", args: [budgetConfig(stored), TIP_BUDGET], value: TIP_BUDGET, chain: null });
  const receipt = await createPublicClient({ transport, pollingInterval: 200 }).waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`the tip budget was not opened (${hash})`);
  localStorage.setItem(budgetKey(), JSON.stringify(stored));
  donor = new Donor({ signer, config: budgetConfig(stored), deposit: TIP_BUDGET, domain: tipDomain(), caps: TIP_CAPS });
  say(`Tip budget open (${eth(TIP_BUDGET)}): every tip is signed in this page, without a prompt.`);
  render();
}

async function tipAuthor(): Promise<void> {
  if (donor === undefined) return;
  // Throws DONATION_CAP_EXCEEDED above a cap, before anything is signed.
  const tip = await donor.tip(config.author, TIP);
  const text = localStorage.getItem(budgetKey());
  if (text !== null) {
    const stored = JSON.parse(text) as StoredBudget;
    stored.tips.push(TIP.toString());
    localStorage.setItem(budgetKey(), JSON.stringify(stored));
  }
  const body = JSON.stringify({ config: donor.config, signed: tip.signed }, (_, value: unknown) => (typeof value === "bigint" ? value.toString() : value));
  const response = await fetch("/api/tips", { method: "POST", headers: { "Content-Type": "application/json" }, body });
  const answer = (await response.json()) as Record<string, string> & { error?: string; message?: string };
  render();
  if (!response.ok) throw Object.assign(new Error(answer.message ?? "the tip was refused"), { code: answer.error });
  const receipt: TipReceipt = {
    budgetId: answer.budgetId as Hex,
    donor: answer.donor as Address,
    creator: answer.creator as Address,
    amount: BigInt(answer.amount),
    cumulative: BigInt(answer.cumulative),
    time: BigInt(answer.time),
    signature: answer.signature as Hex,
  };
  // Checks the author's signature and that it matches this tip; throws RECEIPT_INVALID otherwise.
  await donor.recordReceipt(receipt);
  receipts++;
  say(`Tipped the author ${eth(TIP)}: receipt signed by ${receipt.creator.slice(0, 10)}... (${eth(receipt.cumulative)} in all).`);
  render();
}

async function afterConnect(connected: BrowserWallet, message?: string): Promise<void> {
  wallet = connected;
  if (donor === undefined) await restoreDonor();
  await refreshChannel();
  paidFetch = await connected.payingFetch({ budget: BUDGET });
  say(message ?? (channel === undefined ? "Connected. Open a channel to read paid articles." : "Channel found in this browser: paying from it, no new deposit."));
  // Set last: the paying fetch exists, so everything on the page can pay now.
  document.body.dataset.ready = String(channel?.state.status === 1);
}

async function read(article: ArticleSummary, item: HTMLLIElement): Promise<void> {
  const fetcher = article.paid ? paidFetch : fetch;
  if (fetcher === undefined) throw new Error("connect a wallet and open a channel to read paid articles");
  const response = await fetcher(`/api/articles/${article.id}`);
  if (!response.ok) throw new Error(`the article answered ${response.status}: ${await response.text()}`);
  const body = (await response.json()) as { title: string; body: string };
  if (article.paid) signedHere++;
  const view = $("article");
  view.replaceChildren();
  const title = document.createElement("h3");
  title.textContent = body.title;
  const text = document.createElement("p");
  text.textContent = body.body;
  view.append(title, text);
  view.dataset.articleId = String(article.id);
  item.classList.add("read");
  await refreshChannel();
}

async function watch(): Promise<void> {
  if (wallet === undefined || channel === undefined) return;
  const controller = new AbortController();
  live = controller;
  render();
  $("live-state").textContent = "playing";
  let units = 0n;
  let paid = 0n;
  const { record } = channel;
  const result = await readMeteredStream({
    url: "/api/live",
    paymentUrl: "/api/live/pay",
    pay: payStreamFrom(wallet.payer, { channelId: record.channelId, config: record.config, chainId: record.chainId, contract: record.contract }),
    budget: LIVE_SECONDS * BigInt(config.unitPrice),
    signal: controller.signal,
    onUnit: (unit) => {
      const tick = JSON.parse(unit.data) as { symbol: string; price: number };
      $("ticker").textContent = `${tick.symbol} ${tick.price.toFixed(2)}`;
      $("live-units").textContent = String(++units);
    },
    onPayment: (payment) => {
      paid += payment.amount;
      signedHere++;
      $("live-paid").textContent = eth(paid);
    },
  }).finally(() => {
    live = undefined;
  });
  $("live-state").textContent = `ended (${result.reason}) after ${result.units} s, ${eth(result.paid)}`;
  await refreshChannel();
}

async function main(): Promise<void> {
  config = (await (await fetch("/api/config")).json()) as SiteConfig;
  store = await IndexedDbStore.open("trickle-reader");
  const injected = (window as { ethereum?: unknown }).ethereum !== undefined;
  if (!injected) say("No wallet in this browser: the demo wallet (a funded account of the local node) stands in.");
  provider = injected ? (window as unknown as { ethereum: Eip1193Provider }).ethereum : demoWallet(config.demoAccount);
  const params = { provider, chainId: BigInt(config.chainId), contract: config.contract, store, pollingIntervalMs: 200 };

  const articles = (await (await fetch("/api/articles")).json()) as ArticleSummary[];
  const list = $("articles");
  for (const article of articles) {
    const item = document.createElement("li");
    item.dataset.articleId = String(article.id);
    const title = document.createElement("span");
    title.textContent = article.title;
    const price = document.createElement("span");
    price.className = article.paid ? "price" : "price free";
    price.textContent = article.paid ? eth(BigInt(article.price)) : "free";
    const button = document.createElement("button");
    button.className = "secondary";
    button.textContent = "Read";
    button.dataset.testid = `read-${article.id}`;
    button.addEventListener("click", () => void guarded(() => read(article, item)));
    item.append(title, price, button);
    list.append(item);
  }

  $("connect").addEventListener("click", () => void guarded(async () => afterConnect(await connectWallet(params))));
  $("open").addEventListener("click", () =>
    void guarded(async () => {
      if (wallet === undefined) return;
      say("Confirm the deposit in your wallet...");
      await wallet.open({ payee: config.payee, amount: DEPOSIT, closeDelay: BigInt(config.minCloseDelay) });
      await afterConnect(wallet, "Channel open: every payment from now on is signed in this page, without a prompt.");
    }),
  );
  $("top-up").addEventListener("click", () => void guarded(async () => {
    if (wallet === undefined || channel === undefined) return;
    await wallet.topUp(channel.record.channelId, DEPOSIT);
    await afterConnect(wallet, "Topped up: the same channel, a larger deposit.");
  }));
  $("request-close").addEventListener("click", () => void guarded(async () => {
    if (wallet === undefined || channel === undefined) return;
    await wallet.requestClose(channel.record.channelId as Hex);
    say(`Close requested: withdraw after ${config.minCloseDelay} s; the payee closes before that with its best voucher.`);
    await refreshChannel();
  }));
  $("withdraw").addEventListener("click", () => void guarded(async () => {
    if (wallet === undefined || channel === undefined) return;
    await wallet.withdraw(channel.record.channelId as Hex);
    say("Withdrawn: what the payee did not claim is back in the wallet.");
    await refreshChannel();
  }));
  $("watch").addEventListener("click", () => void guarded(watch));
  $("stop").addEventListener("click", () => live?.abort());
  $("subscribe").addEventListener("click", () => void guarded(subscribe));
  $("read-members").addEventListener("click", () => void guarded(readMembers));
  $("open-tips").addEventListener("click", () => void guarded(openTipBudget));
  $("tip").addEventListener("click", () => void guarded(tipAuthor));

  // After a reload: the wallet still allows this site, and the store still has the channel's session key.
  const again = await reconnectWallet(params).catch(() => undefined);
  if (again !== undefined) await afterConnect(again);
  render();
  document.body.dataset.loaded = "true";
}

void guarded(main);
