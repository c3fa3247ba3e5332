// Pay and get paid over one channel: open, pay, accept, close. Runs with Node (>= 22.18) against a
// development node such as `npx hardhat node`: `node sdk.ts`.
import { Payee, Payer } from "trickle";
import { PAYMENT_CHANNELS_ABI } from "trickle/abi";
import { viemChain } from "trickle/chain/viem";
import { SqliteStore } from "trickle/store/sqlite";
import artifact from "trickle/artifacts/PaymentChannels.json" with { type: "json" };
import { createPublicClient, createWalletClient, http, parseEther, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";

// The node and two of its funded accounts (Hardhat's well-known development keys #1 and #2).
const transport = http(process.env.RPC_URL ?? "http://127.0.0.1:8545");
const payerAccount = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const payeeAccount = privateKeyToAccount("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");
const publicClient = createPublicClient({ chain: hardhat, transport });
const walletClient = createWalletClient({ chain: hardhat, transport, account: payerAccount });
const payeeWallet = createWalletClient({ chain: hardhat, transport, account: payeeAccount });

// The PaymentChannels contract: its address on your chain in TRICKLE_CONTRACT, else (on a development
// node) deployed here from the artifact the package ships.
async function paymentChannels(): Promise<Address> {
  if (process.env.TRICKLE_CONTRACT !== undefined) return process.env.TRICKLE_CONTRACT as Address;
  const hash = await walletClient.deployContract({ abi: PAYMENT_CHANNELS_ABI, bytecode: artifact.bytecode as Hex });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  return receipt.contractAddress!;
}
const contract = await paymentChannels();

// The payer: one transaction opens the channel; a fresh session key signs every voucher after it.
const payer = new Payer({
  chain: viemChain({ publicClient, walletClient, contract }),
  store: SqliteStore.open("payer.sqlite"), // the session key and the last signed amount survive restarts
});
const { channelId, config } = await payer.open({ payee: payeeAccount.address, amount: parseEther("0.1") });
const voucher = await payer.pay(channelId, parseEther("0.001")); // the cumulative amount, raised by 0.001; durable before it returns

// The payee: checks the voucher against the channel on-chain and stores it durably before answering.
const receiver = new Payee({
  chain: viemChain({ publicClient, walletClient: payeeWallet, contract }),
  store: SqliteStore.open("payee.sqlite"),
  payee: payeeAccount.address,
});
const { amount, increment } = await receiver.accept(voucher, config);
const closed = await receiver.close(channelId); // the best voucher on-chain: the payee is paid, the payer refunded

console.log(`channel ${channelId}: accepted ${amount} wei (+${increment}), closed in ${closed.hash}`);
