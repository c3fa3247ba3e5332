// An in-memory chain (channels opened by the test, no blocks, no events) and helpers to sign vouchers, so
// the commerce money properties run thousands of sales in seconds. The end-to-end tests and the demos use
// the in-process Hardhat network instead.
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { channelId, ChannelStatus, ETH, type Address, type ChannelConfig, type ChannelState, type Hex } from "../../src/channel.ts";
import type { ChainReader, ChannelEvent } from "../../src/chain/adapter.ts";
import { Payee } from "../../src/payee.ts";
import { signVoucher, type Voucher, type VoucherDomain } from "../../src/voucher.ts";
import { Catalog } from "../../src/commerce/catalog.ts";
import { Plans } from "../../src/commerce/plans.ts";
import { Seller } from "../../src/commerce/seller.ts";
import type { CommerceStore } from "../../src/commerce/store.ts";
import type { Deployment } from "../../src/store/store.ts";
import { defineToken } from "../../src/units.ts";

export const CONTRACT: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
export const DOMAIN: VoucherDomain = { chainId: 31337n, verifyingContract: CONTRACT };
/** The deployment whose store view the test shop's Payee and Seller share. */
export const DEPLOYMENT: Deployment = { chainId: DOMAIN.chainId, contract: CONTRACT };
export const USDC = defineToken({ symbol: "USDC", decimals: 6, address: "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48" });
export const RECEIPT_KEY: Hex = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
export const PAYEE: Address = privateKeyToAccount(RECEIPT_KEY).address;

export class MemoryChain implements ChainReader {
  readonly contract = CONTRACT;
  readonly channels = new Map<Hex, { config: ChannelConfig; state: ChannelState }>();
  async chainId() {
    return DOMAIN.chainId;
  }
  async blockNumber() {
    return 1n;
  }
  async blockTimestamp() {
    return BigInt(Math.floor(Date.now() / 1000));
  }
  async readChannel(id: Hex): Promise<ChannelState> {
    const c = this.channels.get(id.toLowerCase() as Hex);
    return c ? { ...c.state } : { deposit: 0n, claimed: 0n, closesAt: 0n, status: ChannelStatus.None };
  }
  async findChannelConfig(id: Hex) {
    return this.channels.get(id.toLowerCase() as Hex)?.config;
  }
  async events(): Promise<ChannelEvent[]> {
    return [];
  }
  async hasCode() {
    return false;
  }
  async isValidErc1271Signature() {
    return false;
  }
}

/** A payer with a channel on the memory chain and a session key; `sign(total)` signs a cumulative voucher. */
export interface TestPayer {
  address: Address;
  config: ChannelConfig;
  channelId: Hex;
  sign(amount: bigint): Voucher;
}

let salts = 0;

export function openChannel(chain: MemoryChain, deposit: bigint, token: Address = USDC.address): TestPayer {
  const payerKey = generatePrivateKey();
  const sessionKey = generatePrivateKey();
  const config: ChannelConfig = {
    payer: privateKeyToAccount(payerKey).address,
    payee: PAYEE,
    token,
    signer: privateKeyToAccount(sessionKey).address,
    closeDelay: 86_400n,
    salt: `0x${(++salts).toString(16).padStart(64, "0")}`,
  };
  const id = channelId(config);
  chain.channels.set(id, { config, state: { deposit, claimed: 0n, closesAt: 0n, status: ChannelStatus.Open } });
  return { address: config.payer, config, channelId: id, sign: (amount) => signVoucher(DOMAIN, id, amount, sessionKey) };
}

export const CATALOG_ITEMS = [
  { id: "coins-100", kind: "consumable", price: "0.99 USDC" },
  { id: "gems-10", kind: "consumable", price: 250_000n },
  { id: "no-ads", kind: "non-consumable", price: "4.99 USDC" },
] as const;

export const DAY = 86_400n;

export function testPlans(): Plans {
  return new Plans(USDC, ["basic", "pro"], [
    { id: "basic-daily", tier: "basic", price: "0.10 USDC", period: DAY, trial: 0n },
    { id: "pro-daily", tier: "pro", price: "0.30 USDC", period: DAY },
    { id: "basic-trial", tier: "basic", price: "0.10 USDC", period: DAY, trial: 3n * DAY },
  ]);
}

export interface Shop {
  chain: MemoryChain;
  payee: Payee;
  seller: Seller;
  clock: { now: bigint };
}

export function shop(store: CommerceStore, chain = new MemoryChain(), clock = { now: 1_800_000_000n }): Shop {
  const payee = new Payee({ chain, store, payee: PAYEE, policy: { tokens: [USDC.address] }, limits: { syncIntervalMs: 60_000, lookupBurst: 100_000, lookupsPerSecond: 100_000 } });
  const seller = new Seller({
    payee,
    store,
    domain: DOMAIN,
    receiptKey: RECEIPT_KEY,
    catalog: new Catalog(USDC, CATALOG_ITEMS),
    plans: testPlans(),
    now: () => clock.now,
  });
  return { chain, payee, seller, clock };
}

export { ETH };

/** A payer's signing side over a test channel: what `Payer` does (cumulative, refuses above the deposit). */
export function voucherSource(p: TestPayer, chain: MemoryChain) {
  let signed = 0n;
  return {
    get signed() {
      return signed;
    },
    async pay(id: Hex, increment: bigint): Promise<Voucher> {
      if (id !== p.channelId) throw new Error("another channel");
      const state = await chain.readChannel(id);
      if (signed + increment > state.deposit) throw Object.assign(new Error("above the deposit"), { code: "INSUFFICIENT_FUNDS" });
      signed += increment;
      return p.sign(signed);
    },
    async channel(id: Hex) {
      return id === p.channelId ? { signedAmount: signed } : undefined;
    },
  };
}
