import { existsSync } from "node:fs";
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { ChannelStatus, ETH } from "../src/channel.ts";
import { InvalidArgumentError, StoreNotFoundError } from "../src/errors.ts";
import type { DeploymentStore } from "../src/store/deployment.ts";
import { SqliteStore } from "../src/store/sqlite.ts";
import { loadChannel, statusName } from "./lib/checks.ts";
import { TaskContext, type CommonTaskArguments } from "./lib/context.ts";
import { formatAmount, parseChannelId, runTask, table, tokenUnits } from "./lib/output.ts";

interface StatusArguments extends CommonTaskArguments {
  channel: string | undefined;
}

export default async function status(args: StatusArguments, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runTask(async () => {
    if (args.channel === undefined) throw new InvalidArgumentError("--channel is required");
    const id = parseChannelId(args.channel);
    const context = await TaskContext.create(hre, args);
    const chain = await context.reader();
    const { config, state } = await loadChannel(chain, id);
    const units = await tokenUnits(context.publicClient, config.token);
    const now = await chain.blockTimestamp();
    const rows: [string, string][] = [
      ["channel", id],
      ["network", `${context.networkName} (chain id ${context.chainId}), contract ${chain.contract}`],
      ["status", statusName(state.status)],
      ["payer", config.payer],
      ["payee", config.payee],
      ["token", config.token.toLowerCase() === ETH ? "ETH" : `${units.symbol} (${config.token})`],
      ["voucher signer", config.signer],
      ["close delay", `${config.closeDelay} s`],
      ["deposit", formatAmount(state.deposit, units)],
      ["claimed", formatAmount(state.claimed, units)],
      ["remaining", formatAmount(state.deposit - state.claimed, units)],
    ];
    if (state.status === ChannelStatus.Closing) {
      rows.push([
        "withdrawable",
        now >= state.closesAt ? `now (since timestamp ${state.closesAt})` : `in ${state.closesAt - now} s (at timestamp ${state.closesAt})`,
      ]);
    }
    // The stores, when they exist: what the payer signed (in the data dir) and what the payee holds (in
    // the data dir, or the PostgreSQL database of TRICKLE_PAYEE_STORE_URL). Nothing is created.
    const payeeLocation = await context.payeeStoreLocation();
    for (const role of ["payer", "payee"] as const) {
      let store: DeploymentStore;
      if (role === "payee" && payeeLocation.kind === "postgres") {
        const opened = await context.openStore("payee").catch((error: unknown) => {
          if (error instanceof StoreNotFoundError) return undefined;
          throw error;
        });
        if (opened === undefined) continue;
        store = opened;
      } else {
        const file = path.join(context.dataDir, `${role}.sqlite`);
        if (!existsSync(file)) continue;
        const deployment = { chainId: context.chainId, contract: await context.contract() };
        store = SqliteStore.open(file, { legacyDeployment: deployment }).forDeployment(deployment);
      }
      try {
        if (role === "payer") {
          const record = await store.payerChannel(id);
          if (record !== undefined) rows.push(["signed (payer store)", formatAmount(record.signedAmount, units)]);
        } else {
          const best = await store.bestVoucher(id);
          if (best !== undefined) {
            const unclaimed = best.amount > state.claimed ? best.amount - state.claimed : 0n;
            rows.push(["best voucher (payee store)", `${formatAmount(best.amount, units)} (${formatAmount(unclaimed, units)} unclaimed)`]);
          }
        }
      } finally {
        await store.close();
      }
    }
    console.log(table(rows));
  });
}
