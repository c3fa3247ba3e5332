// A deployment with a Payer (account 1, memory store) and a Payee (account 2, SQLite store in a temp dir),
// both through the same adapter kind, plus a counter of the payee's chain calls.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Address } from "../../src/channel.ts";
import type { ChainWriter } from "../../src/chain/adapter.ts";
import { Payer } from "../../src/payer.ts";
import { Payee, type PayeeLimits, type PayeePolicy } from "../../src/payee.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import type { DeploymentStore } from "../../src/store/deployment.ts";
import { deploy, type AdapterKind, type Deployment } from "../chain/fixture.ts";

export interface CountingChain {
  chain: ChainWriter;
  /** Calls per adapter method since the last reset. */
  calls: Map<string, number>;
  total(): number;
}

/** Wraps an adapter so a test can assert how many chain calls the payee made. */
export function counting(inner: ChainWriter): CountingChain {
  const calls = new Map<string, number>();
  const chain = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.set(String(property), (calls.get(String(property)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { chain, calls, total: () => [...calls.values()].reduce((a, b) => a + b, 0) };
}

export interface SdkSetup {
  d: Deployment;
  payer: Payer;
  payerStore: DeploymentStore;
  payerChain: ChainWriter;
  payerAddress: Address;
  payeeAddress: Address;
  payeeChain: CountingChain;
  /** The payee's SQLite file, as this deployment's view (its `close()` closes the file). */
  payeeStore: DeploymentStore;
  payeeStorePath: string;
  newPayee(options?: { policy?: PayeePolicy; limits?: PayeeLimits }): Payee;
  dispose(): Promise<void>;
}

export async function sdkSetup(kind: AdapterKind): Promise<SdkSetup> {
  const d = await deploy(kind);
  const payerChain = await d.writer(1);
  const payeeChain = counting(await d.writer(2));
  const payerStore = new MemoryStore().forDeployment({ chainId: d.chainId, contract: d.contract });
  const dir = mkdtempSync(join(tmpdir(), "trickle-payee-"));
  const payeeStorePath = join(dir, "payee.sqlite");
  const payeeStore = SqliteStore.open(payeeStorePath).forDeployment({ chainId: d.chainId, contract: d.contract });
  const payeeAddress = d.accounts[2];
  return {
    d,
    payer: new Payer({ chain: payerChain, store: payerStore }),
    payerStore,
    payerChain,
    payerAddress: d.accounts[1],
    payeeAddress,
    payeeChain,
    payeeStore,
    payeeStorePath,
    newPayee(options = {}) {
      return new Payee({ chain: payeeChain.chain, store: payeeStore, payee: payeeAddress, policy: options.policy, limits: options.limits });
    },
    async dispose() {
      await payeeStore.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
