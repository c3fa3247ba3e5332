// The demo site in a real Chromium (Debian's, driven by playwright-core): a test wallet backed by the
// hardhat node's account connects, opens one channel, reads 20 paid articles with no further prompt,
// watches 30 seconds of the metered stream (a second lasts 40 ms here), reloads and keeps paying from the
// same channel, and the dashboard shows what the payee's store holds. Screenshots of each step go to
// test-output/browser/. The shared store behaviour also runs on Chromium's IndexedDB. The tip button: one
// confirmation opens a TipJar budget, tips need none, survive a reload, and stop at the reader's cap. The
// membership: one voucher on the reader's channel buys the "member" tier, which opens the members' article.
import { expect } from "chai";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { startWebDemo, type WebDemo } from "../../scripts/lib/web-demo.ts";

const CHROMIUM = process.env.TRICKLE_CHROMIUM ?? "/usr/bin/chromium";
const OUTPUT = path.resolve("test-output", "browser");
const UNIT_MS = 40;
/** With TRICKLE_README_SCREENSHOTS=1 the reader and dashboard shots are also written where the README shows them. */
const README_IMAGES = process.env.TRICKLE_README_SCREENSHOTS === "1" ? path.resolve("docs", "images") : undefined;

/** What the test wallet counts: every request a real wallet would show the user. */
interface WalletLog {
  prompts: string[];
}

/**
 * Runs in the page before its scripts (page.addInitScript): an EIP-1193 provider that forwards to the
 * node through the site's /rpc, for an account the node has unlocked. Prompts are counted in
 * localStorage so the count survives a reload, as a real wallet's permission does.
 */
function installTestWallet(account: string): void {
  const PROMPTS = ["eth_requestAccounts", "eth_sendTransaction", "wallet_switchEthereumChain", "eth_signTypedData_v4", "personal_sign"];
  const log = (): { prompts: string[] } => JSON.parse(localStorage.getItem("test-wallet") ?? '{"prompts":[]}') as { prompts: string[] };
  let id = 0;
  (window as unknown as { ethereum: unknown }).ethereum = {
    async request({ method, params }: { method: string; params?: unknown[] }) {
      if (PROMPTS.includes(method)) {
        const next = log();
        next.prompts.push(method);
        localStorage.setItem("test-wallet", JSON.stringify(next));
      }
      if (method === "eth_requestAccounts") {
        localStorage.setItem("test-wallet-allowed", "1");
        return [account];
      }
      if (method === "eth_accounts") return localStorage.getItem("test-wallet-allowed") === "1" ? [account] : [];
      const response = await fetch("/rpc", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params: params ?? [] }) });
      const body = (await response.json()) as { result?: unknown; error?: { code: number; message: string } };
      if (body.error !== undefined) throw Object.assign(new Error(body.error.message), { code: body.error.code });
      return body.result;
    },
  };
}

describe("browser: the demo site in Chromium", function () {
  this.timeout(120_000);
  let demo: WebDemo;
  let context: BrowserContext;
  let userDataDir: string;
  let page: Page;
  let shots = 0;

  const shoot = async (name: string, readmeName?: string) => {
    const file = path.join(OUTPUT, `${String(++shots).padStart(2, "0")}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    if (README_IMAGES !== undefined && readmeName !== undefined) await page.screenshot({ path: path.join(README_IMAGES, readmeName) });
    return file;
  };
  const walletLog = async (): Promise<WalletLog> => page.evaluate(() => JSON.parse(localStorage.getItem("test-wallet") ?? '{"prompts":[]}') as { prompts: string[] });
  const text = async (testId: string) => (await page.locator(`[data-testid="${testId}"]`).textContent()) ?? "";
  const read = async (id: number) => {
    await page.locator(`[data-testid="read-${id}"]`).click();
    await page.locator(`article[data-article-id="${id}"]`).waitFor();
  };

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does)`);
    mkdirSync(OUTPUT, { recursive: true });
    userDataDir = mkdtempSync(path.join(tmpdir(), "trickle-chromium-"));
    demo = await startWebDemo({ unitMs: UNIT_MS, sampleMs: 200 });
    // A new empty profile; this machine's network refuses Chromium's background connections, so they are off.
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1200, height: 860 },
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    // As source text: the test runner's transpiler may wrap functions in a `__name` helper the page lacks.
    await context.addInitScript({ content: `var __name = (target) => target;\n(${installTestWallet.toString()})(${JSON.stringify(demo.readerAccount)});` });
  });

  after(async () => {
    await context?.close();
    await demo?.stop();
    if (userDataDir !== undefined) rmSync(userDataDir, { recursive: true, force: true });
  });

  it("the site's /rpc relays reads and the reader's own signing, nothing else", async () => {
    const rpc = async (method: string, params: unknown[]) => {
      const response = await fetch(`${demo.site.url}/rpc`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
      return (await response.json()) as { result?: unknown; error?: { code: number } };
    };
    expect((await rpc("eth_chainId", [])).result).to.equal(`0x${demo.chainId.toString(16)}`);
    const payeeSends = await rpc("eth_sendTransaction", [{ from: demo.site.payeeAddress, to: demo.readerAccount, value: "0x1" }]);
    expect(payeeSends.error?.code).to.equal(4200);
    expect((await rpc("hardhat_setBalance", [demo.readerAccount, "0x0"])).error?.code).to.equal(4200);
    expect((await rpc("eth_accounts", [])).error?.code).to.equal(4200);
    expect((await rpc("eth_getBalance", [demo.readerAccount, "latest"])).result).to.match(/^0x[0-9a-f]+$/);
  });

  it("the shared store behaviour passes on Chromium's IndexedDB", async () => {
    const bundle = await build({ entryPoints: [path.resolve("test/browser/store-page.ts")], bundle: true, format: "iife", platform: "browser", write: false, logLevel: "silent" });
    const storePage = await context.newPage();
    await storePage.goto(`${demo.site.url}/api/config`); // any page of the site: IndexedDB needs an origin
    await storePage.addScriptTag({ content: bundle.outputFiles[0].text });
    const result = await storePage.evaluate(() => (globalThis as unknown as { runStoreBehaviour: () => Promise<{ passed: string[]; failed: { name: string; error: string }[] }> }).runStoreBehaviour());
    await storePage.close();
    expect(result.failed, JSON.stringify(result.failed, null, 1)).to.deep.equal([]);
    expect(result.passed.length).to.be.greaterThan(40);
  });

  it("connects, opens one channel, reads 20 paid articles, watches 30 s, reloads and keeps paying; the dashboard matches the payee's store", async () => {
    page = await context.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    const { articlePrice, unitPrice } = demo.site;
    const paid = demo.site.articles.filter((a) => a.paid);

    await page.goto(demo.site.url);
    await page.locator("body[data-loaded=true]").waitFor();
    await shoot("reader-before-connect");
    await page.locator('[data-testid="connect"]').click();
    await page.locator('[data-testid="open"]:not([disabled])').waitFor();
    await page.locator('[data-testid="open"]').click();
    await page.locator("body[data-ready=true]").waitFor();
    expect((await walletLog()).prompts).to.deep.equal(["eth_requestAccounts", "eth_sendTransaction"]);
    expect(await text("deposit")).to.equal("0.01 ETH");
    await shoot("channel-open");

    await read(demo.site.articles[0].id); // a free article costs nothing
    for (const article of paid.slice(0, 20)) await read(article.id);
    // The page refreshes the channel after it shows an article: wait for that, then compare.
    await page.locator(`[data-testid="spent"]:text-is("${Number(20n * articlePrice) / 1e18} ETH")`).waitFor({ timeout: 5_000 });
    expect(await text("spent")).to.equal(`${Number(20n * articlePrice) / 1e18} ETH`);
    expect((await walletLog()).prompts, "20 paid articles, no further prompt").to.have.length(2);
    await shoot("read-20-paid-articles");

    await page.locator('[data-testid="watch"]').click();
    await page.locator('[data-testid="live-state"]', { hasText: "ended" }).waitFor({ timeout: 30_000 });
    expect(await text("live-state")).to.match(/^ended \(unpaid\) after 30 s/);
    expect(await text("live-units")).to.equal("30");
    const session = demo.site.stream.sessions()[0];
    expect(session).to.include({ servedUnits: 30n, paidUnits: 30n, credited: 30n * unitPrice });
    expect((await walletLog()).prompts, "the stream needs no prompt").to.have.length(2);
    await shoot("watched-30-seconds", "demo-web-reader.png");

    await page.reload();
    await page.locator("body[data-ready=true]").waitFor();
    await page.locator('[data-testid="status"]', { hasText: "no new deposit" }).waitFor();
    for (const article of paid.slice(20, 25)) await read(article.id);
    expect((await walletLog()).prompts, "a reload needs no prompt and no deposit").to.have.length(2);
    expect(await text("deposit")).to.equal("0.01 ETH");
    await shoot("after-reload-5-more");

    const expected = 25n * articlePrice + 30n * unitPrice;
    const stored = (await demo.site.store.bestVouchers()).reduce((sum, v) => sum + v.amount, 0n);
    expect(stored, "the payee's store").to.equal(expected);
    await page.goto(`${demo.site.url}/dashboard`);
    await page.locator("body[data-loaded=true]").waitFor();
    expect(await text("total-channels")).to.equal("1");
    expect(await page.locator('[data-testid="total-accepted"]').getAttribute("data-wei")).to.equal(stored.toString());
    expect(await page.locator('[data-testid="total-at-risk"]').getAttribute("data-wei")).to.equal(stored.toString());
    expect(await page.locator('[data-testid="channels"] tr').count()).to.equal(1);
    await shoot("dashboard", "demo-web-dashboard.png");

    await page.locator('[data-testid="claim"]').click();
    await page.locator('[data-testid="claim-status"]', { hasText: "claimed" }).waitFor();
    await page.locator(`[data-testid="total-claimed"][data-wei="${stored}"]`).waitFor();
    expect(await page.locator('[data-testid="total-at-risk"]').getAttribute("data-wei")).to.equal("0");
    await shoot("dashboard-claimed");
    expect(pageErrors).to.deep.equal([]);
    await page.close();
  });

  it("tips the author: one confirmation opens a tip budget, tips need none and survive a reload, the cap refuses the sixth; receipts and the dashboard agree", async () => {
    const TIP = 10n ** 14n;
    page = await context.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    const receipts = (count: number) => page.locator(`[data-testid="tip-receipts"]:text-is("${count}")`).waitFor();
    await page.goto(demo.site.url);
    await page.locator("body[data-loaded=true]").waitFor();
    if (await page.locator('[data-testid="connect"]').isEnabled()) await page.locator('[data-testid="connect"]').click();
    await page.locator('[data-testid="open-tips"]:not([disabled])').waitFor();
    const before = (await walletLog()).prompts.length;

    await page.locator('[data-testid="open-tips"]').click();
    await page.locator('[data-testid="tip"]:not([disabled])').waitFor();
    expect((await walletLog()).prompts.slice(before), "one confirmation for the tip budget").to.deep.equal(["eth_sendTransaction"]);
    for (let i = 1; i <= 3; i++) {
      await page.locator('[data-testid="tip"]').click();
      await receipts(i);
    }
    expect(await page.locator('[data-testid="tipped"]').getAttribute("data-wei")).to.equal((3n * TIP).toString());
    await shoot("tipped-3");

    await page.reload();
    await page.locator('[data-testid="tip"]:not([disabled])').waitFor();
    expect(await page.locator('[data-testid="tipped"]').getAttribute("data-wei"), "the tally is rebuilt after a reload").to.equal((3n * TIP).toString());
    for (let i = 1; i <= 2; i++) {
      await page.locator('[data-testid="tip"]').click();
      await receipts(i);
    }
    await page.locator('[data-testid="tip"]').click();
    await page.locator('[data-testid="error"]', { hasText: "DONATION_CAP_EXCEEDED" }).waitFor();
    expect(await page.locator('[data-testid="tipped"]').getAttribute("data-wei"), "a refused tip signs nothing").to.equal((5n * TIP).toString());
    expect((await walletLog()).prompts.length, "tips need no prompt").to.equal(before + 1);
    await shoot("tipped-5-cap-reached");

    // The author's side: five receipts, cumulative amounts growing, all of it settleable from the budget.
    expect(demo.site.tips.map((tip) => tip.cumulative)).to.deep.equal([1n, 2n, 3n, 4n, 5n].map((n) => n * TIP));
    expect(demo.site.tips.every((tip) => tip.donor.toLowerCase() === demo.readerAccount.toLowerCase())).to.equal(true);
    const holdings = await demo.site.author.holdings("0x0000000000000000000000000000000000000000");
    expect(holdings).to.deep.equal({ held: 0n, claimable: 5n * TIP, budgets: 1 });

    await page.goto(`${demo.site.url}/dashboard`);
    await page.locator("body[data-loaded=true]").waitFor();
    expect(await text("tips-count")).to.equal("5");
    expect(await page.locator('[data-testid="tips-received"]').getAttribute("data-wei")).to.equal((5n * TIP).toString());
    expect(await page.locator('[data-testid="tips-claimable"]').getAttribute("data-wei")).to.equal((5n * TIP).toString());
    await shoot("dashboard-tips");
    expect(pageErrors).to.deep.equal([]);
    await page.close();
  });

  it("a membership: the members' article refuses a non-member, one voucher on the existing channel (no prompt) subscribes, the article opens; the payee's store and dashboard count it", async () => {
    page = await context.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    const { memberPrice } = demo.site;
    const acceptedNow = async () => (await demo.site.store.bestVouchers()).reduce((sum, v) => sum + v.amount, 0n);
    await page.goto(demo.site.url);
    await page.locator("body[data-ready=true]").waitFor();
    const before = { prompts: (await walletLog()).prompts.length, accepted: await acceptedNow() };
    expect(await demo.site.seller.entitled(demo.readerAccount, "member")).to.equal(false);

    await page.locator('[data-testid="read-members"]').click();
    await page.locator('[data-testid="error"]', { hasText: "NOT_ENTITLED" }).waitFor();
    expect(await page.locator('article[data-article-id="members"]').count(), "no article for a non-member").to.equal(0);

    await page.locator('[data-testid="subscribe"]').click();
    await page.locator('[data-testid="member"]:text-is("member")').waitFor();
    await page.locator('[data-testid="read-members"]').click();
    await page.locator('article[data-article-id="members"]').waitFor();
    expect(await text("article")).to.contain("Members only");
    expect((await walletLog()).prompts.length, "subscribing needs no prompt").to.equal(before.prompts);
    await shoot("member-article");
    // A paid article after the membership's voucher: the gate charges its price once, on top of the sale.
    const afterMembership = await acceptedNow();
    await read(demo.site.articles.filter((a) => a.paid)[25].id);
    expect((await acceptedNow()) - afterMembership, "the next paid article costs its price, no more").to.equal(demo.site.articlePrice);

    expect(await demo.site.seller.entitled(demo.readerAccount, "member")).to.equal(true);
    expect(await demo.site.seller.entitled(demo.readerAccount, "member", BigInt(Math.floor(Date.now() / 1000)) + 31n * 86_400n), "one period: 30 days").to.equal(false);
    const accepted = await acceptedNow();
    expect(accepted - before.accepted, "the plan's price and one article").to.equal(memberPrice + demo.site.articlePrice);
    const receipts = await demo.site.seller.restore(demo.readerAccount);
    expect(receipts.map((r) => [r.kind, r.item, r.price])).to.deep.equal([["period", "member-monthly", memberPrice]]);

    await page.goto(`${demo.site.url}/dashboard`);
    await page.locator("body[data-loaded=true]").waitFor();
    expect(await text("total-members")).to.equal("1");
    expect(await page.locator('[data-testid="total-accepted"]').getAttribute("data-wei")).to.equal(accepted.toString());
    await shoot("dashboard-member");
    expect(pageErrors).to.deep.equal([]);
    await page.close();
  });
});
