// trickle/browser in Node: an EIP-1193 test wallet over the in-process Hardhat network's provider, which
// counts prompts and can reject them or sit on another chain. The Chromium test drives the same module
// through a real page (test/browser/web.test.ts).
import { expect } from "chai";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { network } from "hardhat";
import { ChannelStatus, type Address } from "../../src/channel.ts";
import { connectWallet, reconnectWallet, type Eip1193Provider } from "../../src/browser/wallet.ts";
import { IndexedDbStore } from "../../src/store/browser.ts";
import { PRICE, startPaidApi } from "../http/fixture.ts";

type Connection = Awaited<ReturnType<typeof network.create>>;

/** Methods a real wallet asks the user about. */
const PROMPTS = new Set(["eth_requestAccounts", "eth_sendTransaction", "wallet_switchEthereumChain", "eth_signTypedData_v4", "personal_sign"]);

interface TestWallet extends Eip1193Provider {
  prompts: string[];
  /** Methods whose prompt the user rejects (EIP-1193 4001). */
  reject: Set<string>;
  /** The chain the wallet says it is on, as hex; the node's by default. */
  chainId: string | undefined;
  /** What wallet_switchEthereumChain does: switch, or fail with this EIP-1193 code. */
  switchAnswer: "switch" | number;
}

function testWallet(connection: Connection, account: Address): TestWallet {
  const wallet: TestWallet = {
    prompts: [],
    reject: new Set(),
    chainId: undefined,
    switchAnswer: "switch",
    async request({ method, params }) {
      if (PROMPTS.has(method)) {
        wallet.prompts.push(method);
        if (wallet.reject.has(method)) throw Object.assign(new Error("User rejected the request."), { code: 4001 });
      }
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [account];
      if (method === "eth_chainId" && wallet.chainId !== undefined) return wallet.chainId;
      if (method === "wallet_switchEthereumChain") {
        if (wallet.switchAnswer !== "switch") throw Object.assign(new Error("cannot switch"), { code: wallet.switchAnswer });
        wallet.chainId = (params as [{ chainId: string }])[0].chainId;
        return null;
      }
      return connection.provider.request({ method, params: params as unknown[] });
    },
  };
  return wallet;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  return "resolved";
}

describe("browser/BrowserWallet", function () {
  let connection: Connection;
  let contract: Address;
  let chainId: bigint;
  let accounts: Address[];
  let databases = 0;
  const factory = new IDBFactory();
  const openStore = (name: string) => IndexedDbStore.open(name, { indexedDB: factory, IDBKeyRange });

  before(async () => {
    connection = await network.create();
    const deployed = await connection.ethers.deployContract("PaymentChannels");
    contract = (await deployed.getAddress()) as Address;
    chainId = (await connection.ethers.provider.getNetwork()).chainId;
    accounts = (await connection.ethers.getSigners()).map((s) => s.address as Address);
  });

  it("opens with one confirmation, pays 20 times with none, recovers after a reload, tops up, requests close and withdraws", async () => {
    const name = `wallet-${databases++}`;
    const payee = accounts[2];
    const provider = testWallet(connection, accounts[1]);
    let store = await openStore(name);
    const wallet = await connectWallet({ provider, chainId, contract, store, pollingIntervalMs: 50 });
    expect(wallet.account).to.equal(accounts[1]);
    const { channelId } = await wallet.open({ payee, amount: 10n ** 15n, closeDelay: 600n });
    expect(provider.prompts).to.deep.equal(["eth_requestAccounts", "eth_sendTransaction"]);
    for (let i = 0; i < 20; i++) await wallet.pay(channelId, 1_000n);
    expect(provider.prompts, "payments need no prompt").to.have.length(2);

    // A reload: a new store connection and a new wallet object, the site still allowed.
    await store.close();
    store = await openStore(name);
    const reloaded = await reconnectWallet({ provider, chainId, contract, store, pollingIntervalMs: 50 });
    if (reloaded === undefined) expect.fail("the wallet did not reconnect");
    expect(reloaded.account).to.equal(accounts[1]);
    const found = await reloaded.openChannelTo(payee);
    expect(found?.record.channelId).to.equal(channelId);
    expect(found?.record.signedAmount).to.equal(20_000n);
    const next = await reloaded.pay(channelId, 1_000n);
    expect(next.amount).to.equal(21_000n);
    expect(provider.prompts, "a reload needs no prompt").to.have.length(2);

    await reloaded.topUp(channelId, 10n ** 15n);
    expect((await reloaded.chain.readChannel(channelId)).deposit).to.equal(2n * 10n ** 15n);
    await reloaded.requestClose(channelId);
    expect(await codeOf(reloaded.pay(channelId, 1n))).to.equal("CHANNEL_CLOSING");
    await connection.networkHelpers.time.increase(601);
    const before = await reloaded.balance();
    await reloaded.withdraw(channelId);
    expect((await reloaded.chain.readChannel(channelId)).status).to.equal(ChannelStatus.Finished);
    expect((await reloaded.balance()) > before, "the deposit came back").to.equal(true);
    // open, top up, close request, withdraw: one confirmation each.
    expect(provider.prompts.filter((p) => p === "eth_sendTransaction")).to.have.length(4);
    await store.close();
  });

  it("a rejected prompt is WALLET_REJECTED and moves nothing", async () => {
    const provider = testWallet(connection, accounts[3]);
    const store = await openStore(`wallet-${databases++}`);
    provider.reject.add("eth_requestAccounts");
    expect(await codeOf(connectWallet({ provider, chainId, contract, store }))).to.equal("WALLET_REJECTED");
    provider.reject.clear();
    const wallet = await connectWallet({ provider, chainId, contract, store, pollingIntervalMs: 50 });
    provider.reject.add("eth_sendTransaction");
    const balance = await wallet.balance();
    expect(await codeOf(wallet.open({ payee: accounts[2], amount: 10n ** 15n }))).to.equal("WALLET_REJECTED");
    expect(await wallet.balance()).to.equal(balance);
    expect((await wallet.channels()).map((c) => c.state.status)).to.deep.equal([ChannelStatus.None]);
    expect(await wallet.openChannelTo(accounts[2])).to.equal(undefined);
    await store.close();
  });

  it("a wallet on another chain is asked to switch; a refused or impossible switch is a typed error", async () => {
    const store = await openStore(`wallet-${databases++}`);
    const provider = testWallet(connection, accounts[4]);
    provider.chainId = "0x1";
    const wallet = await connectWallet({ provider, chainId, contract, store });
    expect(provider.prompts).to.deep.equal(["eth_requestAccounts", "wallet_switchEthereumChain"]);
    expect(BigInt(provider.chainId)).to.equal(chainId);
    expect(wallet.chainId).to.equal(chainId);

    provider.chainId = "0x1";
    provider.switchAnswer = 4902;
    const unknown = await connectWallet({ provider, chainId, contract, store }).catch((error: unknown) => error);
    expect(unknown).to.have.property("code", "WALLET_WRONG_CHAIN");
    expect((unknown as { details: { chainId: bigint } }).details.chainId).to.equal(1n);
    provider.switchAnswer = 4001;
    expect(await codeOf(connectWallet({ provider, chainId, contract, store }))).to.equal("WALLET_REJECTED");
    expect(await codeOf(reconnectWallet({ provider, chainId, contract, store }))).to.equal("WALLET_REJECTED");
    await store.close();
  });

  it("its paying fetch pays from the channel the store holds: after a reload, no new channel and no prompt", async () => {
    const api = await startPaidApi({ connection, contract, chainId }, 2);
    try {
      const name = `wallet-${databases++}`;
      const provider = testWallet(connection, accounts[6]);
      let store = await openStore(name);
      const wallet = await connectWallet({ provider, chainId, contract, store, pollingIntervalMs: 50 });
      const { channelId } = await wallet.open({ payee: api.payeeAddress, amount: 100n * PRICE, closeDelay: 3600n });
      const paidFetch = await wallet.payingFetch({ budget: 1000n * PRICE });
      expect(paidFetch.budgetLeft(), "the resumed deposit counts against the budget").to.equal(900n * PRICE);
      for (let i = 0; i < 3; i++) expect((await paidFetch(`${api.url}/paid`)).status).to.equal(200);
      expect(paidFetch.channels().map((c) => c.channelId)).to.deep.equal([channelId]);

      await store.close();
      store = await openStore(name);
      const reloaded = await reconnectWallet({ provider, chainId, contract, store, pollingIntervalMs: 50 });
      const again = await reloaded!.payingFetch({ budget: 1000n * PRICE });
      for (let i = 0; i < 3; i++) expect((await again(`${api.url}/paid`)).status).to.equal(200);
      expect(again.channels().map((c) => c.channelId)).to.deep.equal([channelId]);
      expect(again.channels()[0].transactions, "no open, no top-up").to.deep.equal([]);
      expect((await store.forDeployment({ chainId, contract }).payerChannel(channelId))?.signedAmount).to.equal(6n * PRICE);
      expect((await api.payeeStore.bestVoucher(channelId))?.amount).to.equal(6n * PRICE);
      expect(provider.prompts).to.deep.equal(["eth_requestAccounts", "eth_sendTransaction"]);
      await store.close();
    } finally {
      await api.stop();
    }
  });

  it("a balance that covers the deposit but not its gas is WALLET_INSUFFICIENT_BALANCE, and nothing moves", async () => {
    const store = await openStore(`wallet-${databases++}`);
    const provider = testWallet(connection, accounts[7]);
    const wallet = await connectWallet({ provider, chainId, contract, store, pollingIntervalMs: 50 });
    const amount = 10n ** 15n;
    await connection.provider.request({ method: "hardhat_setBalance", params: [accounts[7], `0x${amount.toString(16)}`] });
    const refused = await wallet.open({ payee: accounts[2], amount }).catch((error: unknown) => error);
    expect(refused).to.have.property("code", "WALLET_INSUFFICIENT_BALANCE");
    expect(await wallet.balance()).to.equal(amount);
    await store.close();
  });

  it("too little balance is WALLET_INSUFFICIENT_BALANCE before any prompt; no wallet is NO_WALLET", async () => {
    const store = await openStore(`wallet-${databases++}`);
    const provider = testWallet(connection, accounts[5]);
    const wallet = await connectWallet({ provider, chainId, contract, store });
    const balance = await wallet.balance();
    const refused = await wallet.open({ payee: accounts[2], amount: balance + 1n }).catch((error: unknown) => error);
    expect(refused).to.have.property("code", "WALLET_INSUFFICIENT_BALANCE");
    expect((refused as { details: { needed: bigint } }).details.needed).to.equal(balance + 1n);
    expect(provider.prompts).to.deep.equal(["eth_requestAccounts"]);
    expect(await wallet.channels()).to.deep.equal([]);
    expect(await codeOf(connectWallet({ chainId, contract, store }))).to.equal("NO_WALLET");
    await store.close();
  });

  it("takes the store's view of its deployment; a view of another deployment is WRONG_CHAIN", async () => {
    const store = await openStore(`wallet-${databases++}`);
    const provider = testWallet(connection, accounts[3]);
    const view = store.forDeployment({ chainId, contract });
    const wallet = await connectWallet({ provider, chainId, contract, store: view, pollingIntervalMs: 50 });
    const { channelId } = await wallet.open({ payee: accounts[2], amount: 10n ** 15n });
    expect((await view.payerChannel(channelId))?.signedAmount).to.equal(0n);
    const other = store.forDeployment({ chainId: chainId + 1n, contract });
    expect(await other.payerChannels(), "another chain's view holds none of this chain's channels").to.deep.equal([]);
    expect(await codeOf(connectWallet({ provider, chainId, contract, store: other }))).to.equal("WRONG_CHAIN");
    const otherContract = store.forDeployment({ chainId, contract: `0x${"12".repeat(20)}` });
    expect(await codeOf(connectWallet({ provider, chainId, contract, store: otherContract }))).to.equal("WRONG_CHAIN");
    await store.close();
  });
});
