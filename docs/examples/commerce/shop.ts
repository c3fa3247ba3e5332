// A payee selling a subscription and in-app items on one channel, and a payer using them, on the
// in-process Hardhat network: one transaction to open, one to close, none per period or purchase.
import { network } from "hardhat";
import { Payee, Payer, MemoryStore } from "trickle";
import { ethersChain } from "trickle/chain/ethers";
import { Buyer, Catalog, MemoryCommerceStore, Plans, Seller, Subscriber, verifyReceipt } from "trickle/commerce";
import { ETH_TOKEN, formatAmount } from "trickle";

const connection = await network.create();
const { ethers } = connection;
const [, payeeWallet, payerWallet] = await ethers.getSigners();
const contract = (await (await ethers.deployContract("PaymentChannels")).getAddress()) as `0x${string}`;
const domain = { chainId: (await ethers.provider.getNetwork()).chainId, verifyingContract: contract };

// The payee: plans and a catalog priced in currency units, one store view (this chain id and contract)
// for vouchers and sales, shared by the Payee and the Seller.
// SqliteCommerceStore.open(path) from "trickle/commerce/sqlite" in production.
const store = new MemoryCommerceStore().forDeployment({ chainId: domain.chainId, contract });
const payee = new Payee({ chain: ethersChain({ runner: payeeWallet, contract }), store, payee: payeeWallet.address as `0x${string}` });
const seller = new Seller({
  payee,
  store,
  domain,
  receiptKey: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d", // the payee account's key
  plans: new Plans(ETH_TOKEN, ["basic", "pro"], [
    { id: "basic-monthly", tier: "basic", price: "0.01 ETH", period: 30n * 86_400n, trial: 7n * 86_400n },
    { id: "pro-monthly", tier: "pro", price: "0.03 ETH", period: 30n * 86_400n },
  ]),
  catalog: new Catalog(ETH_TOKEN, [{ id: "gems-100", kind: "consumable", price: "0.002 ETH" }]),
});

// The payer: one deposit, then a subscription with limits and a purchase, each paid by one voucher.
const payer = new Payer({ chain: ethersChain({ runner: payerWallet, contract }), store: new MemoryStore() });
const { channelId, config } = await payer.open({ payee: payeeWallet.address as `0x${string}`, amount: ethers.parseEther("0.1") });
const common = { payer, config, channelId, counter: seller, receiptSigner: seller.receiptSigner, domain };
const subscriber = new Subscriber({
  ...common,
  chain: ethersChain({ runner: payerWallet, contract }),
  limits: { plans: ["basic-monthly", "pro-monthly"], maxPerPeriod: ethers.parseEther("0.03"), until: BigInt(Date.now()) / 1000n + 365n * 86_400n },
});
const trial = await subscriber.subscribe("basic-monthly");
console.log(`trial until ${new Date(Number(trial.validUntil) * 1000).toISOString().slice(0, 10)}, paid ${formatAmount(trial.price, ETH_TOKEN)}`);
console.log(`entitled to basic: ${await seller.entitled(config.payer, "basic")}, to pro: ${await seller.entitled(config.payer, "pro")}`);
console.log(`next renewal: ${JSON.stringify((await subscriber.check()).ok)}`);

const buyer = new Buyer({ ...common, maxPrice: ethers.parseEther("0.01") });
const receipt = await buyer.buy("gems-100", ethers.parseEther("0.002"), "order-42");
verifyReceipt(domain, receipt, seller.receiptSigner); // offline, with the payee's address alone
console.log(`bought ${receipt.item} for ${formatAmount(receipt.price, ETH_TOKEN)}; restore finds ${(await seller.restore(config.payer)).length} receipts`);

await payee.close(channelId); // the payee is paid, the rest of the deposit goes back to the payer
const { claimed } = await ethersChain({ runner: ethers.provider, contract }).readChannel(channelId);
console.log(`closed: the payee received ${formatAmount(claimed, ETH_TOKEN)}`); // 0.002 ETH and the trial's 1 wei
await connection.close();
