// api-server.ts, with TRICKLE_PAYEE_STORE_URL in its environment:
// PORT=8081 RPC_URL=https://... TRICKLE_CONTRACT=0x... TRICKLE_FROM_BLOCK=<deployment block> TRICKLE_PAYEE_ADDRESS=0x... node api-server.ts
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Payee } from "trickle";
import { viemChain } from "trickle/chain/viem";
import { paymentGate, withPayment } from "trickle/http";
import { PostgresStore } from "trickle/store/postgres";
import { createPublicClient, http, type Address } from "viem";

const contract = process.env.TRICKLE_CONTRACT as Address;
const payTo = process.env.TRICKLE_PAYEE_ADDRESS as Address;
const publicClient = createPublicClient({ transport: http(process.env.RPC_URL) });
const chainId = BigInt(await publicClient.getChainId());
// create: false, as the tasks: a wrong URL or schema fails here instead of starting an empty store.
const schema = process.env.TRICKLE_STORE_SCHEMA ?? "trickle";
const store = await PostgresStore.open(process.env.TRICKLE_PAYEE_STORE_URL!, { schema, create: false });
const chain = viemChain({ publicClient, contract, fromBlock: BigInt(process.env.TRICKLE_FROM_BLOCK ?? "0") });
const payee = new Payee({ chain, store, payee: payTo });
const gate = paymentGate({ payee, chainId, contract, payTo, price: "0.00001 ETH" });
const server = createServer(withPayment(gate, (_request, response) => {
  response.end("paid content");
}));
server.listen(Number(process.env.PORT ?? 8081), () => console.log(`api server on port ${(server.address() as AddressInfo).port}`));
