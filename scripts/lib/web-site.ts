// The paid site of `npm run demo:web`: a reader page (free and paid articles, a live stream metered per
// second) and a payee dashboard, served by one node:http server around one Payee.
//
// Payments reach the Payee two ways: paid articles through the HTTP payment gate, the live stream through
// a MeteredStream. Tips for the articles' author go another way: the reader's tally for a TipJar budget
// reaches the author's Creator (trickle/donations), which accepts it only when the budget on-chain funds it
// and returns a signed receipt. The dashboard reads what the Payee's store holds and the channel states the Payee
// follows; its income curve is sampled from the store, so it shows the ledger and keeps none.
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { JsonRpcProvider } from "ethers";
import { createPublicClient, createWalletClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ChannelStatus, type Address, type Hex } from "../../src/channel.ts";
import { viemChain } from "../../src/chain/viem.ts";
import { commerceApi, withTier } from "../../src/commerce/http.ts";
import { Plans } from "../../src/commerce/plans.ts";
import { Seller } from "../../src/commerce/seller.ts";
import type { CommerceStore } from "../../src/commerce/store.ts";
import { MemoryCommerceStore } from "../../src/commerce/store-memory.ts";
import { ETH_TOKEN } from "../../src/units.ts";
import { ethersTipJar } from "../../src/donations/chain.ts";
import { Creator } from "../../src/donations/creator.ts";
import { localSigner } from "../../src/donations/signing.ts";
import type { BudgetConfig, SignedTally } from "../../src/donations/tally.ts";
import { readBody, withPayment } from "../../src/http/node.ts";
import { paymentGate } from "../../src/http/server.ts";
import { Payee } from "../../src/payee.ts";
import { MeteredStream } from "../../src/stream/sse.ts";

const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "web");

export interface WebSiteOptions {
  /** The chain's JSON-RPC URL; the site proxies it at `/rpc` for the page's wallet and reads. */
  rpcUrl: string;
  chainId: bigint;
  contract: Address;
  /** The payee's key: it names the payee address and signs claims. */
  payeeKey: Hex;
  /** The TipJar the readers' tips go through. */
  tipJar: Address;
  /** The articles' author's key: the creator tips go to, it signs the receipts. */
  authorKey: Hex;
  /** Price of one paid article, wei. 0.0001 ETH by default. */
  articlePrice?: bigint;
  /** Price of a 30-day membership period, wei. 0.001 ETH by default. */
  memberPrice?: bigint;
  /** Price of one second of the live stream, wei. 0.00001 ETH by default. */
  unitPrice?: bigint;
  /** Length of one stream unit, ms: 1000 (a second) by default; tests make time fast with less. */
  unitMs?: number;
  /** How often the dashboard's income curve samples the store, ms. 1000 by default. */
  sampleMs?: number;
  /** Port to listen on; a free one by default. */
  port?: number;
  /** An unlocked account of the node that the page's stand-in wallet uses when the browser has none. */
  demoAccount?: Address;
}

export interface Article {
  id: number;
  title: string;
  paid: boolean;
}

export interface IncomePoint {
  /** ms since the epoch. */
  at: number;
  /** Sum of the best accepted vouchers, wei. */
  accepted: bigint;
}

export interface DashboardChannel {
  channelId: Hex;
  payer: Address;
  status: string;
  deposit: bigint;
  accepted: bigint;
  claimed: bigint;
  /** Accepted and not claimed: what only the stored voucher secures. */
  atRisk: bigint;
  /** The payer holds the "member" tier now. */
  member: boolean;
}

/** One tip the author's Creator accepted, as its receipt says. */
export interface AcceptedTip {
  budgetId: Hex;
  donor: Address;
  amount: bigint;
  cumulative: bigint;
  time: bigint;
}

export interface TipsSummary {
  author: Address;
  /** Everything the accepted tips gave the author, wei. */
  received: bigint;
  count: number;
  /** Accepted and not settled on-chain yet, on budgets that can still settle. */
  claimable: bigint;
  /** Already in the TipJar for the author, collectable now. */
  held: bigint;
}

export interface Dashboard {
  payee: Address;
  totals: { channels: number; members: number; accepted: bigint; claimed: bigint; atRisk: bigint };
  channels: DashboardChannel[];
  income: IncomePoint[];
  tips: TipsSummary;
}

export interface WebSite {
  url: string;
  payee: Payee;
  payeeAddress: Address;
  /** The payee's view of its store, for the demo's deployment: vouchers and membership sales. */
  store: CommerceStore;
  /** Sells the "member" tier (plan `member-monthly`) on the readers' channels. */
  seller: Seller;
  memberPrice: bigint;
  stream: MeteredStream;
  articles: Article[];
  articlePrice: bigint;
  unitPrice: bigint;
  /** The author's side of the tip jar. */
  author: Creator;
  /** Every tip the author accepted, in order. */
  tips: AcceptedTip[];
  dashboard(): Promise<Dashboard>;
  stop(): Promise<void>;
}

const TOPICS = [
  "Payment channels, explained with coffee",
  "Why vouchers are cumulative",
  "A close delay is a promise",
  "Session keys in the browser",
  "Gas per payment, not per transaction",
  "What a watchtower watches",
  "Streaming money by the second",
  "Refunds without trust",
  "The one-slot channel",
  "Micropayments and the 402 status",
];

export function demoArticles(): Article[] {
  const articles: Article[] = [];
  for (let i = 0; i < 33; i++) {
    const paid = i >= 3;
    articles.push({ id: i + 1, title: `${paid ? "" : "Free: "}${TOPICS[i % TOPICS.length]}${i >= TOPICS.length ? ` (part ${Math.floor(i / TOPICS.length) + 1})` : ""}`, paid });
  }
  return articles;
}

function articleBody(article: Article): string {
  const sentences = [
    `${article.title}.`,
    "A payer locks a deposit once, then signs cumulative vouchers off-chain, each a few microseconds of work.",
    "The payee keeps the best voucher durably and claims when it likes: two transactions carry thousands of payments.",
    article.paid ? `This article cost one voucher; the page signed it with its session key, without asking the wallet.` : "This article is free.",
  ];
  return sentences.join(" ");
}

/** The live stream's content for second `index`: a made-up market ticker, the same for everyone. */
function tickerUnit(index: bigint): string {
  const i = Number(index % 1_000_000n);
  const price = 100 + 10 * Math.sin(i / 7) + 3 * Math.sin(i / 2.3);
  return JSON.stringify({ second: i, symbol: "TRKL", price: Number(price.toFixed(2)) });
}

function jsonReplacer(_: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, jsonReplacer);
  response.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" });
  response.end(text);
}

const STATUS_NAMES: Record<number, string> = {
  [ChannelStatus.None]: "unknown",
  [ChannelStatus.Open]: "open",
  [ChannelStatus.Closing]: "closing",
  [ChannelStatus.Finished]: "finished",
};

/** Bundles the pages' scripts for the browser (in memory: nothing is written to the tree). */
async function bundlePages(): Promise<Map<string, string>> {
  const result = await build({
    entryPoints: { reader: path.join(WEB_DIR, "reader.ts"), dashboard: path.join(WEB_DIR, "dashboard.ts") },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    outdir: "/assets",
    logLevel: "silent",
  });
  return new Map(result.outputFiles.map((file) => [`/assets/${path.basename(file.path)}`, file.text]));
}

export async function startWebSite(options: WebSiteOptions): Promise<WebSite> {
  const articlePrice = options.articlePrice ?? 10n ** 14n;
  const unitPrice = options.unitPrice ?? 10n ** 13n;
  const unitMs = options.unitMs ?? 1000;
  const account = privateKeyToAccount(options.payeeKey);
  const transport = http(options.rpcUrl);
  const publicClient = createPublicClient({ transport, pollingInterval: 200 });
  const walletClient = createWalletClient({ account, transport });
  const chain = viemChain({ publicClient, walletClient, contract: options.contract });
  // The payee works on its deployment's view of the store (SqliteCommerceStore in production); the
  // membership's sales are kept in it too, each in the same transaction as the voucher that paid it.
  const store = new MemoryCommerceStore().forDeployment({ chainId: options.chainId, contract: options.contract });
  const minCloseDelay = 3600n;
  const payee = new Payee({ chain, store, payee: account.address, policy: { minCloseDelay }, limits: { syncIntervalMs: 200 } });
  const memberPrice = options.memberPrice ?? 10n ** 15n;
  const seller = new Seller({
    payee,
    store,
    domain: { chainId: options.chainId, verifyingContract: options.contract },
    receiptKey: options.payeeKey,
    plans: new Plans(ETH_TOKEN, ["member"], [{ id: "member-monthly", tier: "member", price: memberPrice, period: 30n * 86_400n }]),
  });
  const articles = demoArticles();
  const byId = new Map(articles.map((a) => [a.id, a]));
  const gate = paymentGate({
    payee,
    chainId: options.chainId,
    contract: options.contract,
    payTo: account.address,
    // The deposit a reader's first channel needs: a hundred articles (0.01 ETH at the default price), what
    // the reader page opens with and within its paying fetch's maxDeposit (the gate's default, a thousand
    // requests, would be refused by that policy before the open channel is even used).
    minDeposit: articlePrice * 100n,
    price: (request) => {
      const match = /^\/api\/articles\/(\d+)$/.exec(request.url.split("?")[0]);
      return match !== null && byId.get(Number(match[1]))?.paid === true ? articlePrice : undefined;
    },
  });
  const stream = new MeteredStream({
    payee,
    chainId: options.chainId,
    contract: options.contract,
    payTo: account.address,
    unitPrice,
    unitMs,
    prepayUnits: 5n,
    unit: tickerUnit,
  });
  // The author's Creator reads budgets from the TipJar; it accepts a tip only when the chain would pay it.
  const tipProvider = new JsonRpcProvider(options.rpcUrl, Number(options.chainId), { staticNetwork: true, pollingInterval: 200 });
  const author = new Creator({
    signer: localSigner(options.authorKey),
    domain: { chainId: options.chainId, verifyingContract: options.tipJar },
    chain: ethersTipJar(options.tipJar, tipProvider),
  });
  const tips: AcceptedTip[] = [];
  const ETH = "0x0000000000000000000000000000000000000000" as Address;

  async function acceptTip(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let config: BudgetConfig;
    let signed: SignedTally;
    try {
      const body = JSON.parse(new TextDecoder().decode(await readBody(request))) as {
        config: Omit<BudgetConfig, "closeDelay"> & { closeDelay: string };
        signed: Omit<SignedTally, "total" | "tally"> & { total: string; tally: { creators: Address[]; amounts: string[] } };
      };
      config = { ...body.config, closeDelay: BigInt(body.config.closeDelay) };
      signed = { ...body.signed, total: BigInt(body.signed.total), tally: { creators: body.signed.tally.creators, amounts: body.signed.tally.amounts.map((a) => BigInt(a)) } };
    } catch (error) {
      return sendJson(response, 400, { error: "TIP_MALFORMED", message: String(error) });
    }
    try {
      const receipt = await author.acceptTip(config, signed);
      tips.push({ budgetId: receipt.budgetId, donor: receipt.donor, amount: receipt.amount, cumulative: receipt.cumulative, time: receipt.time });
      sendJson(response, 200, receipt);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code !== "string") throw error;
      sendJson(response, 400, { error: code, message: (error as Error).message });
    }
  }

  const [assets, readerHtml, dashboardHtml, css] = await Promise.all([
    bundlePages(),
    readFile(path.join(WEB_DIR, "reader.html"), "utf8"),
    readFile(path.join(WEB_DIR, "dashboard.html"), "utf8"),
    readFile(path.join(WEB_DIR, "style.css"), "utf8"),
  ]);

  const income: IncomePoint[] = [{ at: Date.now(), accepted: 0n }];
  const acceptedTotal = async () => (await store.bestVouchers()).reduce((sum, v) => sum + v.amount, 0n);
  const sampler = setInterval(() => {
    void acceptedTotal().then((accepted) => {
      income.push({ at: Date.now(), accepted });
      if (income.length > 600) income.splice(0, income.length - 600);
    });
  }, options.sampleMs ?? 1000);

  async function dashboard(): Promise<Dashboard> {
    const channels: DashboardChannel[] = [];
    for (const voucher of await store.bestVouchers()) {
      const [config, state] = await Promise.all([store.channel(voucher.channelId), payee.channelState(voucher.channelId)]);
      const claimed = state?.claimed ?? 0n;
      channels.push({
        channelId: voucher.channelId,
        payer: config?.payer ?? ("0x" as Address),
        status: state === undefined ? "unknown" : STATUS_NAMES[state.status],
        deposit: state?.deposit ?? 0n,
        accepted: voucher.amount,
        claimed,
        atRisk: state?.status === ChannelStatus.Finished ? 0n : voucher.amount - claimed,
        member: config === undefined ? false : await seller.entitled(config.payer, "member"),
      });
    }
    const sum = (f: (c: DashboardChannel) => bigint) => channels.reduce((total, c) => total + f(c), 0n);
    const now = { at: Date.now(), accepted: sum((c) => c.accepted) };
    const holdings = await author.holdings(ETH);
    const tipsSummary: TipsSummary = {
      author: author.address,
      received: tips.reduce((total, tip) => total + tip.amount, 0n),
      count: tips.length,
      claimable: holdings.claimable,
      held: holdings.held,
    };
    return {
      payee: account.address,
      tips: tipsSummary,
      totals: { members: channels.filter((c) => c.member).length, channels: channels.length, accepted: now.accepted, claimed: sum((c) => c.claimed), atRisk: sum((c) => c.atRisk) },
      channels,
      income: [...income, now],
    };
  }

  // Members only: the request carries the reader's period receipt; the store says whether it is a member now.
  const membersArticle = withTier(seller, "member", (_request, response, entitlement) =>
    sendJson(response, 200, {
      title: "Members only: how a membership rides on a payment channel",
      body: "A membership period is one voucher on the channel the reader already has, stored with its sale in one transaction; the payee signs a receipt, and that receipt opens this page until the period ends.",
      until: entitlement.until,
    }),
  );
  const commerce = commerceApi(seller);

  const paidArticles = withPayment(gate, (request, response) => {
    const id = Number(/^\/api\/articles\/(\d+)/.exec(request.url ?? "")?.[1]);
    const article = byId.get(id);
    if (article === undefined) return sendJson(response, 404, { error: "NOT_FOUND" });
    sendJson(response, 200, { ...article, body: articleBody(article) });
  });

  // The page's wallet and reads go through /rpc. The node has every test account unlocked, the payee's
  // included: only reads, and signing by the reader's demo account, go through.
  const signingMethods: Record<string, (params: unknown[]) => unknown> = {
    eth_sendTransaction: (params) => (params[0] as { from?: unknown } | undefined)?.from,
    eth_signTypedData_v4: (params) => params[0],
    eth_sign: (params) => params[0],
    personal_sign: (params) => params[1],
  };
  function rpcAllowed(call: { method?: unknown; params?: unknown }): boolean {
    if (typeof call.method !== "string" || !/^(eth|net|web3)_|^personal_sign$/.test(call.method)) return false;
    const signer = signingMethods[call.method];
    if (signer === undefined) return !/^eth_(sign|sendTransaction|accounts|requestAccounts)/.test(call.method);
    const from = signer(Array.isArray(call.params) ? call.params : []);
    return options.demoAccount !== undefined && typeof from === "string" && from.toLowerCase() === options.demoAccount.toLowerCase();
  }

  async function proxyRpc(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(body));
    } catch {
      return sendJson(response, 400, { jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error" } });
    }
    const calls = (Array.isArray(parsed) ? parsed : [parsed]) as { id?: unknown; method?: unknown; params?: unknown }[];
    const refused = calls.find((call) => call === null || typeof call !== "object" || !rpcAllowed(call));
    if (refused !== undefined) {
      return sendJson(response, 200, { jsonrpc: "2.0", id: refused?.id ?? null, error: { code: 4200, message: `the demo site does not relay ${String(refused?.method)}` } });
    }
    const upstream = await fetch(options.rpcUrl, { method: "POST", headers: { "Content-Type": "application/json" }, body: new Uint8Array(body) });
    response.writeHead(upstream.status, { "Content-Type": "application/json" });
    response.end(Buffer.from(await upstream.arrayBuffer()));
  }

  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://site");
    const route = `${request.method} ${url.pathname}`;
    const fail = (error: unknown) => {
      console.error(error);
      if (!response.headersSent) sendJson(response, 500, { error: "INTERNAL", message: String(error) });
      else response.destroy();
    };
    try {
      if (route === "GET /" || route === "GET /index.html") {
        response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(readerHtml);
      } else if (route === "GET /dashboard") {
        response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(dashboardHtml);
      } else if (route === "GET /assets/style.css") {
        response.writeHead(200, { "Content-Type": "text/css" }).end(css);
      } else if (request.method === "GET" && assets.has(url.pathname)) {
        response.writeHead(200, { "Content-Type": "text/javascript" }).end(assets.get(url.pathname));
      } else if (route === "GET /api/config") {
        sendJson(response, 200, { chainId: options.chainId, contract: options.contract, payee: account.address, articlePrice, unitPrice, unitMs, minCloseDelay, demoAccount: options.demoAccount, tipJar: options.tipJar, author: author.address, memberPrice, memberPlan: "member-monthly", receiptSigner: seller.receiptSigner });
      } else if (route === "POST /rpc") {
        proxyRpc(request, response).catch(fail);
      } else if (route === "GET /api/articles") {
        sendJson(response, 200, articles.map((a) => ({ ...a, price: a.paid ? articlePrice : 0n })));
      } else if (request.method === "GET" && url.pathname.startsWith("/api/articles/")) {
        paidArticles(request, response);
      } else if (route === "GET /api/live") {
        stream.handleStream(request, response);
      } else if (route === "POST /api/live/pay") {
        stream.handlePayment(request, response).catch(fail);
      } else if (request.method === "POST" && url.pathname.startsWith("/commerce/")) {
        commerce(request, response);
      } else if (route === "GET /api/members/article") {
        membersArticle(request, response);
      } else if (route === "POST /api/tips") {
        acceptTip(request, response).catch(fail);
      } else if (route === "GET /api/dashboard") {
        dashboard().then((d) => sendJson(response, 200, d), fail);
      } else if (route === "POST /api/claim") {
        request.resume();
        payee.claimMany().then((tx) => sendJson(response, 200, tx), (error: unknown) => sendJson(response, 400, { error: (error as { code?: string }).code ?? "FAILED", message: String(error) }));
      } else {
        sendJson(response, 404, { error: "NOT_FOUND" });
      }
    } catch (error) {
      fail(error);
    }
  });
  server.listen(options.port ?? 0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    payee,
    payeeAddress: account.address,
    store,
    stream,
    articles,
    articlePrice,
    unitPrice,
    author,
    tips,
    seller,
    memberPrice,
    dashboard,
    async stop() {
      clearInterval(sampler);
      stream.close();
      server.closeAllConnections();
      server.close();
      await once(server, "close");
      tipProvider.destroy();
      await store.close();
    },
  };
}
