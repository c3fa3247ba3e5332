// A paid HTTP API and a client that pays for it, in one process: the server answers 402 with a price,
// the paying fetch opens a channel once and sends a voucher with each request. Runs with Node (>= 22.18)
// against a development node such as `npx hardhat node`: `node http.ts`.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { MemoryStore, Payee, Payer } from "trickle";
import { PAYMENT_CHANNELS_ABI } from "trickle/abi";
import { viemChain } from "trickle/chain/viem";
import { createPayingFetch, paymentGate, withPayment } from "trickle/http";
import artifact from "trickle/artifacts/PaymentChannels.json" with { type: "json" };
import { createPublicClient, createWalletClient, http, parseEther, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";

const transport = http(process.env.RPC_URL ?? "http://127.0.0.1:8545");
const publicClient = createPublicClient({ chain: hardhat, transport });
const payerWallet = createWalletClient({ chain: hardhat, transport, account: privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d") });
const payeeWallet = createWalletClient({ chain: hardhat, transport, account: privateKeyToAccount("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a") });

// The PaymentChannels contract: its address in TRICKLE_CONTRACT, else deployed here from the shipped artifact.
async function paymentChannels(): Promise<Address> {
  if (process.env.TRICKLE_CONTRACT !== undefined) return process.env.TRICKLE_CONTRACT as Address;
  const hash = await payerWallet.deployContract({ abi: PAYMENT_CHANNELS_ABI, bytecode: artifact.bytecode as Hex });
  return (await publicClient.waitForTransactionReceipt({ hash })).contractAddress!;
}
const contract = await paymentChannels();
const chainId = BigInt(await publicClient.getChainId());

// The server: every /api/ request costs 0.00001 ETH, paid before the handler runs.
const store = new MemoryStore(); // SqliteStore.open("payee.sqlite") in production: accepted vouchers survive restarts
const payTo = payeeWallet.account.address;
const payee = new Payee({ chain: viemChain({ publicClient, walletClient: payeeWallet, contract }), store, payee: payTo });
const gate = paymentGate({ payee, chainId, contract, payTo, price: (request) => (request.url.startsWith("/api/") ? "0.00001 ETH" : undefined) });
const server = createServer(withPayment(gate, (_request, response, payment) => {
  response.end(JSON.stringify({ quote: 42, paid: payment?.charged.toString() }));
}));
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address() as AddressInfo;

// The client: pays from a channel it opens on the first 402, never locking more than its budget.
const payer = new Payer({ chain: viemChain({ publicClient, walletClient: payerWallet, contract }), store: new MemoryStore() });
// Its policy, which no 402 can widen: this chain and contract only, at most 0.0001 ETH a request and a
// 0.01 ETH deposit, 0.05 ETH in all.
const paidFetch = createPayingFetch({
  payer,
  chain: { chainId, contract },
  budget: parseEther("0.05"),
  originBudget: parseEther("0.05"),
  maxPrice: parseEther("0.0001"),
  maxDeposit: parseEther("0.01"),
});
for (let i = 0; i < 3; i++) {
  const response = await paidFetch(`http://127.0.0.1:${port}/api/quote`);
  console.log(response.status, await response.text());
}
server.close();

// The payee closes the channel with the best voucher: paid for three requests, the rest refunded.
const [channel] = paidFetch.channels();
await payee.close(channel.channelId);
console.log(`closed channel ${channel.channelId}: the payee was paid ${channel.signed} wei`);
