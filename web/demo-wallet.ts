// A stand-in wallet for the demo when the browser has none: an EIP-1193 provider over the local node
// (through the site's /rpc), for one of the node's unlocked accounts. Each prompt a real wallet would show
// is a confirm() dialog, so the demo shows when the wallet is asked (once to connect, once per deposit).
import type { Address } from "../src/channel.ts";
import type { Eip1193Provider } from "../src/browser/index.ts";

const PROMPTS: Record<string, string> = {
  eth_requestAccounts: "connect this site",
  eth_sendTransaction: "send a transaction",
  wallet_switchEthereumChain: "switch chain",
};

export function demoWallet(account: Address): Eip1193Provider {
  let id = 0;
  return {
    async request({ method, params }) {
      const prompt = PROMPTS[method];
      if (prompt !== undefined && !window.confirm(`Demo wallet (${account.slice(0, 10)}...): ${prompt}?`)) {
        throw Object.assign(new Error("User rejected the request."), { code: 4001 });
      }
      if (method === "eth_requestAccounts") {
        sessionStorage.setItem("demo-wallet-allowed", "1");
        return [account];
      }
      if (method === "eth_accounts") return sessionStorage.getItem("demo-wallet-allowed") === "1" ? [account] : [];
      const response = await fetch("/rpc", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params: params ?? [] }) });
      const body = (await response.json()) as { result?: unknown; error?: { code: number; message: string } };
      if (body.error !== undefined) throw Object.assign(new Error(body.error.message), { code: body.error.code });
      return body.result;
    },
  };
}
