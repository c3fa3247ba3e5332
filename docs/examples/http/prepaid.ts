// Prepaid credit on the in-process Hardhat network: the payee opts in, the paying fetch signs one voucher
// per 5 requests and sends each request the voucher's next one-time token. A copy of the voucher and of
// the tokens the payee has taken buys nothing.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { network } from "hardhat";
import { MemoryStore, Payee, Payer } from "trickle";
import { ethersChain } from "trickle/chain/ethers";
import { createPayingFetch, paymentGate, withPayment, PAYMENT_PREPAID_HEADER, PAYMENT_SIGNATURE_HEADER } from "trickle/http";

const connection = await network.create();
const { ethers } = connection;
const [, payeeWallet, payerWallet] = await ethers.getSigners();
const contract = (await (await ethers.deployContract("PaymentChannels")).getAddress()) as `0x${string}`;
const chainId = (await ethers.provider.getNetwork()).chainId;
const payTo = payeeWallet.address as `0x${string}`;

// The payee takes prepaid credit: its 402s say `"prepaid": true`.
const store = new MemoryStore().forDeployment({ chainId, contract });
const payee = new Payee({ chain: ethersChain({ runner: payeeWallet, contract }), store, payee: payTo, policy: { prepaidCredit: true } });
const gate = paymentGate({ payee, chainId, contract, payTo, price: "0.00001 ETH" });
const server = createServer(withPayment(gate, (_request, response) => response.end("ok")));
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

// The payer prepays at most 5 requests per voucher: what a server that serves nothing could keep.
const sent: Headers[] = [];
const paidFetch = createPayingFetch({
  payer: new Payer({ chain: ethersChain({ runner: payerWallet, contract }), store: new MemoryStore() }),
  chain: { chainId, contract },
  budget: ethers.parseEther("0.05"),
  maxDeposit: ethers.parseEther("0.01"),
  prepay: 5,
  fetch: (input, init) => {
    const request = new Request(input, init);
    sent.push(request.headers);
    return fetch(request);
  },
});
for (let i = 0; i < 12; i++) await (await paidFetch(url)).text();
const tokens = sent.filter((headers) => headers.has(PAYMENT_PREPAID_HEADER)).map((h) => h.get(PAYMENT_PREPAID_HEADER)!.split(":"));
console.log(`12 requests served, ${new Set(tokens.map(([anchor]) => anchor)).size} vouchers signed`); // one chain (anchor) each
console.log(`token indices: ${tokens.map(([, index]) => index).join(" ")}`);

// Someone who copied the last request's headers off the connection: its token is spent.
const last = sent.at(-1)!;
const copy = await fetch(url, { headers: { [PAYMENT_SIGNATURE_HEADER]: last.get(PAYMENT_SIGNATURE_HEADER)!, [PAYMENT_PREPAID_HEADER]: last.get(PAYMENT_PREPAID_HEADER)! } });
console.log(`the copy: ${copy.status} ${(await copy.json()).error}`);
server.close();
await connection.close();
