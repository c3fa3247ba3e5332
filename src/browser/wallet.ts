// A payer in a web page: an injected EIP-1193 wallet (`window.ethereum`) signs the channel's on-chain
// transactions (open, top up, close request, withdraw), and a session key kept in the page's IndexedDB
// store signs every voucher, so paying needs no wallet prompt and survives a reload.
//
// The wallet is reached through viem clients over a custom transport (the wallet's own `request`), and
// the channel logic is the SDK's Payer: this file only connects, checks the chain and the balance, and
// turns wallet failures into typed errors.
import { createPublicClient, createWalletClient, custom, defineChain, type Chain, type PublicClient, type Transport } from "viem";
import { ChannelStatus, ETH, type Address, type ChannelState, type Hex } from "../channel.ts";
import type { ChainWriter, TxResult } from "../chain/adapter.ts";
import { viemChain } from "../chain/viem.ts";
import { InvalidArgumentError, WrongChainError } from "../errors.ts";
import { createPayingFetch, type PayingFetch, type PayingFetchOptions } from "../http/fetch.ts";
import { Payer, type PayerChannel } from "../payer.ts";
import type { StoreOrView } from "../store/deployment.ts";
import type { Deployment, PayerChannelRecord, PayerStore } from "../store/store.ts";
import type { Voucher } from "../voucher.ts";
import { NoWalletError, WalletInsufficientBalanceError, WalletRejectedError, WalletWrongChainError } from "./errors.ts";

/** What EIP-1193 asks of a wallet provider. */
export interface Eip1193Provider {
  request(args: { method: string; params?: readonly unknown[] | object }): Promise<unknown>;
}

export interface ConnectWalletParameters {
  /** The wallet; `window.ethereum` by default. */
  provider?: Eip1193Provider;
  /** The chain the page pays on; the wallet is asked to switch to it when it is elsewhere. */
  chainId: bigint;
  /** The `PaymentChannels` contract. */
  contract: Address;
  /**
   * Where session keys and signed amounts live: `IndexedDbStore` from `trickle/store/browser` in a page
   * (the wallet works on its view of `chainId` and `contract`), or that view itself.
   */
  store: StoreOrView<PayerStore>;
  /** How often transaction receipts are polled, ms. 1000 by default. */
  pollingIntervalMs?: number;
}

/** A channel of this wallet, as the store and the chain know it. */
export interface WalletChannel {
  record: PayerChannelRecord;
  state: ChannelState;
}

const USER_REJECTED = 4001;
const UNRECOGNIZED_CHAIN = 4902;

/** The errors of a failure's cause chain (viem wraps the wallet's own error several levels deep). */
function causes(error: unknown): object[] {
  const chain: object[] = [];
  for (let e: unknown = error; e !== null && typeof e === "object" && chain.length < 10; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
}

/** The EIP-1193 error codes in a failure's cause chain. */
function walletCodes(error: unknown): number[] {
  return causes(error)
    .map((e) => (e as { code?: unknown }).code)
    .filter((code): code is number => typeof code === "number");
}

// Wallets and nodes word it differently: "insufficient funds for gas * price + value" (geth, most
// wallets), "Sender doesn't have enough funds to send tx" (Hardhat).
const NOT_ENOUGH_FUNDS = /insufficient funds|enough funds/i;

function mentionsInsufficientFunds(error: unknown): boolean {
  return causes(error).some((e) => {
    const { name, message, details } = e as { name?: unknown; message?: unknown; details?: unknown };
    return name === "InsufficientFundsError" || [message, details].some((text) => typeof text === "string" && NOT_ENOUGH_FUNDS.test(text));
  });
}

/** Turns a wallet failure into a typed error, or returns it unchanged. */
function walletError(error: unknown, action: string): unknown {
  if (walletCodes(error).includes(USER_REJECTED)) return new WalletRejectedError(`the wallet's prompt to ${action} was rejected`, { action }, { cause: error });
  if (mentionsInsufficientFunds(error)) return new WalletInsufficientBalanceError(`the account cannot pay to ${action}`, { action }, { cause: error });
  return error;
}

async function ask<T>(provider: Eip1193Provider, action: string, method: string, params?: readonly unknown[]): Promise<T> {
  try {
    return (await provider.request(params === undefined ? { method } : { method, params })) as T;
  } catch (error) {
    throw walletError(error, action);
  }
}

function injectedProvider(): Eip1193Provider {
  const injected = (globalThis as { ethereum?: Eip1193Provider }).ethereum;
  if (injected === undefined || typeof injected.request !== "function") throw new NoWalletError("no wallet in this page: install one, or pass a provider");
  return injected;
}

/** Makes sure the wallet is on `chainId`, asking it to switch when it is not. */
async function ensureChain(provider: Eip1193Provider, chainId: bigint): Promise<void> {
  const current = BigInt(await ask<string>(provider, "read the chain", "eth_chainId"));
  if (current === chainId) return;
  try {
    await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: `0x${chainId.toString(16)}` }] });
  } catch (error) {
    const codes = walletCodes(error);
    if (codes.includes(USER_REJECTED)) throw new WalletRejectedError("the wallet's prompt to switch chain was rejected", { chainId: current, expected: chainId }, { cause: error });
    const reason = codes.includes(UNRECOGNIZED_CHAIN) ? "the wallet does not know chain" : "the wallet could not switch to chain";
    throw new WalletWrongChainError(`${reason} ${chainId} (it is on ${current})`, { chainId: current, expected: chainId }, { cause: error });
  }
  const switched = BigInt(await ask<string>(provider, "read the chain", "eth_chainId"));
  if (switched !== chainId) throw new WalletWrongChainError(`the wallet stayed on chain ${switched}`, { chainId: switched, expected: chainId });
}

function checkAccount(accounts: unknown): Address | undefined {
  if (!Array.isArray(accounts) || accounts.length === 0) return undefined;
  const account = accounts[0];
  if (typeof account !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(account)) throw new InvalidArgumentError("the wallet returned an account that is not an address", { account });
  return account as Address;
}

/**
 * Connects the page to the wallet: asks for its account (one prompt, unless the site is already
 * allowed), makes sure it is on `chainId`, and returns a {@link BrowserWallet} whose channels are the ones
 * in `store` (so a reloaded page finds its channel and session key again).
 */
export async function connectWallet(params: ConnectWalletParameters): Promise<BrowserWallet> {
  const provider = params.provider ?? injectedProvider();
  const account = checkAccount(await ask(provider, "connect", "eth_requestAccounts"));
  if (account === undefined) throw new WalletRejectedError("the wallet shared no account");
  await ensureChain(provider, params.chainId);
  return new BrowserWallet(provider, account, params);
}

/**
 * After a reload: the wallet's account when the site is still allowed (`eth_accounts`, no prompt), and
 * undefined otherwise (call {@link connectWallet} from a user action then).
 */
export async function reconnectWallet(params: ConnectWalletParameters): Promise<BrowserWallet | undefined> {
  const provider = params.provider ?? injectedProvider();
  const account = checkAccount(await ask(provider, "read the accounts", "eth_accounts"));
  if (account === undefined) return undefined;
  await ensureChain(provider, params.chainId);
  return new BrowserWallet(provider, account, params);
}

/** Wraps a chain writer so that every wallet failure comes out typed. */
function typedWalletChain(chain: ChainWriter): ChainWriter {
  const send =
    <A extends unknown[]>(action: string, f: (...args: A) => Promise<TxResult>) =>
    async (...args: A): Promise<TxResult> => {
      try {
        return await f(...args);
      } catch (error) {
        throw walletError(error, action);
      }
    };
  return Object.assign(Object.create(chain) as ChainWriter, {
    open: send("open a channel", chain.open.bind(chain)),
    openWithPermit: send("open a channel", chain.openWithPermit.bind(chain)),
    topUp: send("top up", chain.topUp.bind(chain)),
    requestClose: send("request a close", chain.requestClose.bind(chain)),
    withdraw: send("withdraw", chain.withdraw.bind(chain)),
  });
}

/** The view of `store` for the wallet's deployment; a view of another deployment is refused (WRONG_CHAIN). */
function walletView(store: StoreOrView<PayerStore>, deployment: Deployment): PayerStore {
  if (!("deployment" in store)) return store.forDeployment(deployment);
  if (store.deployment.chainId !== deployment.chainId || store.deployment.contract.toLowerCase() !== deployment.contract) {
    throw new WrongChainError(`the store view is for chain ${store.deployment.chainId}, contract ${store.deployment.contract}`, {
      store: store.deployment,
      wallet: deployment,
    });
  }
  return store;
}

export class BrowserWallet {
  readonly account: Address;
  readonly chainId: bigint;
  readonly contract: Address;
  /** The SDK payer: signs vouchers with the channel's session key, sends transactions through the wallet. */
  readonly payer: Payer;
  readonly chain: ChainWriter;
  readonly #store: PayerStore;
  readonly #publicClient: PublicClient<Transport, Chain | undefined>;

  constructor(provider: Eip1193Provider, account: Address, params: ConnectWalletParameters) {
    this.account = account;
    this.chainId = params.chainId;
    this.contract = params.contract;
    this.#store = walletView(params.store, { chainId: params.chainId, contract: params.contract.toLowerCase() as Address });
    const transport = custom(provider);
    const pollingInterval = params.pollingIntervalMs ?? 1000;
    // viem sends transactions only with a chain to check the wallet against; the wallet is the RPC.
    const chain = defineChain({
      id: Number(params.chainId),
      name: `chain ${params.chainId}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [] } },
    });
    this.#publicClient = createPublicClient({ chain, transport, pollingInterval });
    const walletClient = createWalletClient({ account, chain, transport, pollingInterval });
    this.chain = typedWalletChain(viemChain({ publicClient: this.#publicClient, walletClient, contract: params.contract }));
    this.payer = new Payer({ chain: this.chain, store: this.#store });
  }

  /** The account's balance of the chain's coin. */
  balance(): Promise<bigint> {
    return this.#publicClient.getBalance({ address: this.account });
  }

  /** This account's channels on this chain and contract, from the store, with their on-chain state. */
  async channels(): Promise<WalletChannel[]> {
    const records = (await this.#store.payerChannels()).filter(
      (r) => r.chainId === this.chainId && r.contract.toLowerCase() === this.contract.toLowerCase() && r.config.payer.toLowerCase() === this.account.toLowerCase(),
    );
    return Promise.all(records.map(async (record) => ({ record, state: await this.chain.readChannel(record.channelId) })));
  }

  /** The open channel to `payee` (in `token`, ETH by default) with the most left to spend, if any. */
  async openChannelTo(payee: Address, token: Address = ETH): Promise<WalletChannel | undefined> {
    let best: WalletChannel | undefined;
    for (const channel of await this.channels()) {
      const { config } = channel.record;
      if (config.payee.toLowerCase() !== payee.toLowerCase() || config.token.toLowerCase() !== token.toLowerCase()) continue;
      if (channel.state.status !== ChannelStatus.Open) continue;
      const left = channel.state.deposit - channel.record.signedAmount;
      if (best === undefined || left > best.state.deposit - best.record.signedAmount) best = channel;
    }
    return best;
  }

  /** Opens a channel with one wallet confirmation; a fresh session key (kept in the store) signs its vouchers. */
  async open(params: { payee: Address; amount: bigint; closeDelay?: bigint }): Promise<PayerChannel> {
    await this.#checkBalance(params.amount, "open a channel");
    return this.payer.open({ payee: params.payee, amount: params.amount, closeDelay: params.closeDelay });
  }

  /** Adds to a channel's deposit (one wallet confirmation). */
  async topUp(channelId: Hex, amount: bigint): Promise<TxResult> {
    await this.#checkBalance(amount, "top up");
    return this.payer.topUp(channelId, amount);
  }

  /** Starts the close countdown (one wallet confirmation). */
  requestClose(channelId: Hex): Promise<TxResult> {
    return this.payer.requestClose(channelId);
  }

  /** After the countdown: takes back what the payee did not claim (one wallet confirmation). */
  withdraw(channelId: Hex): Promise<TxResult> {
    return this.payer.withdraw(channelId);
  }

  /** Signs the next voucher, raised by `amount`, with the session key: no prompt. */
  pay(channelId: Hex, amount: bigint): Promise<Voucher> {
    return this.payer.pay(channelId, amount);
  }

  /**
   * A paying `fetch` (see `trickle/http`) that pays from this wallet's open channels first, so a reloaded
   * page goes on paying without a new deposit; it opens a channel (one prompt) only for a payee it has none
   * with. `options` is the paying fetch's policy (budget, price cap, allowed payees, ...): `budget` bounds the deposits of channels it opens or tops up.
   */
  async payingFetch(options: Omit<PayingFetchOptions, "payer" | "chain" | "channels">): Promise<PayingFetch> {
    const open = (await this.channels()).filter((c) => c.state.status === ChannelStatus.Open);
    return createPayingFetch({
      ...options,
      payer: this.payer,
      chain: { chainId: this.chainId, contract: this.contract },
      channels: open.map(({ record, state }) => ({
        channelId: record.channelId,
        config: record.config,
        chainId: record.chainId,
        contract: record.contract,
        deposit: state.deposit,
        signed: record.signedAmount,
      })),
    });
  }

  async #checkBalance(amount: bigint, action: string): Promise<void> {
    const balance = await this.balance();
    // Gas comes on top; the wallet's own estimate catches a balance short of that too.
    if (balance < amount) throw new WalletInsufficientBalanceError(`the account holds ${balance}, ${action} needs ${amount} and gas`, { balance, needed: amount, action });
  }
}
