// What the commerce demos share: an in-process Hardhat chain with PaymentChannels, a payee (Payee,
// SQLite commerce store, Seller, the commerce HTTP API on a free localhost port), a payer with one ETH
// channel, a simulated clock (a month passes in seconds; the chain is only touched to open and close),
// and the closing summary.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import hre, { network } from "hardhat";
import type { Address, Hex } from "../../src/channel.ts";
import { ethersChain } from "../../src/chain/ethers.ts";
import type { Catalog } from "../../src/commerce/catalog.ts";
import { commerceApi } from "../../src/commerce/http.ts";
import type { Plans } from "../../src/commerce/plans.ts";
import { Seller } from "../../src/commerce/seller.ts";
import { SqliteCommerceStore } from "../../src/commerce/store-sqlite.ts";
import { Payee } from "../../src/payee.ts";
import { Payer } from "../../src/payer.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { ETH_TOKEN, formatAmount } from "../../src/units.ts";
import { deployPaymentChannels } from "./deploy.ts";

export const eth = (units: bigint) => formatAmount(units, ETH_TOKEN);

export async function commerceDemo(options: { catalog?: Catalog; plans?: Plans; deposit: bigint; routes?: (seller: Seller) => RequestListener }) {
  await hre.tasks.getTask("build").run({ quiet: true });
  const connection = await network.create();
  const { ethers } = connection;
  const [, payeeSigner, payerSigner] = await ethers.getSigners();
  const deployment = await deployPaymentChannels(connection);
  const contract = deployment.address as Address;
  const domain = { chainId: deployment.chainId, verifyingContract: contract };

  const dir = mkdtempSync(path.join(tmpdir(), "trickle-commerce-demo-"));
  // One deployment's view, shared by the Payee and the Seller: sales and vouchers are keyed by chain id and contract.
  const store = SqliteCommerceStore.open(path.join(dir, "payee.sqlite")).forDeployment({ chainId: deployment.chainId, contract });
  const payeeAddress = payeeSigner!.address as Address;
  const payee = new Payee({ chain: ethersChain({ runner: payeeSigner!, contract }), store, payee: payeeAddress });
  // The demo's receipt key is the payee account's own key (Hardhat's well-known account 1).
  const receiptKey = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" as Hex;
  const clock = { now: BigInt((await ethers.provider.getBlock("latest"))!.timestamp) };
  const seller = new Seller({ payee, store, domain, receiptKey, catalog: options.catalog, plans: options.plans, now: () => clock.now });
  if (seller.receiptSigner !== payeeAddress.toLowerCase()) throw new Error("the demo's receipt key is not the payee account's");
  const server: Server = createServer(commerceApi(seller, {}, options.routes?.(seller)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const payerAddress = payerSigner!.address as Address;
  const payerChain = ethersChain({ runner: payerSigner!, contract });
  const payer = new Payer({ chain: payerChain, store: new MemoryStore() });
  const balance = (account: Address) => ethers.provider.getBalance(account);
  const before = { payer: await balance(payerAddress), payee: await balance(payeeAddress) };
  const opened = await payer.open({ payee: payeeAddress, amount: options.deposit });

  return {
    connection,
    contract,
    domain,
    store,
    payee,
    seller,
    clock,
    url,
    payer,
    payerChain,
    payerAddress,
    payeeAddress,
    channelId: opened.channelId,
    config: opened.config,
    /** Closes the channel from the payee's side and prints the money and transaction summary. */
    async finish(rows: [string, string][]): Promise<{ paid: bigint; payeeGained: bigint; transactions: number }> {
      const closed = await payee.close(opened.channelId);
      const after = { payer: await balance(payerAddress), payee: await balance(payeeAddress) };
      const paid = (await payerChain.readChannel(opened.channelId)).claimed;
      const openFee = (await ethers.provider.getTransactionReceipt(opened.transaction.hash))!.fee;
      const closeFee = (await ethers.provider.getTransactionReceipt(closed.hash))!.fee;
      const payeeGained = after.payee - before.payee;
      const transactions = 2;
      const all: [string, string][] = [
        ...rows,
        ["on-chain transactions", `${transactions}: the payer's open (${opened.transaction.gasUsed} gas), the payee's close (${closed.gasUsed} gas); none per renewal or purchase`],
        ["payer paid the payee", `${eth(paid)} of a ${eth(options.deposit)} deposit; the rest came back at close`],
        ["payer balance change", `-${eth(before.payer - after.payer)} (${eth(paid)} paid + ${eth(openFee)} gas for its open)`],
        ["payee balance change", `+${eth(payeeGained)} (${eth(paid)} received - ${eth(closeFee)} gas for its close)`],
      ];
      if (before.payer - after.payer !== paid + openFee || payeeGained !== paid - closeFee) throw new Error("the balances do not add up");
      const width = Math.max(...all.map(([label]) => label.length));
      for (const [label, value] of all) console.log(`  ${label.padEnd(width)}  ${value}`);
      return { paid, payeeGained, transactions };
    },
    async dispose() {
      await new Promise((resolve) => server.close(resolve));
      await store.close();
      rmSync(dir, { recursive: true, force: true });
      await connection.close();
    },
  };
}
