import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { getAddress } from "viem";
import { feeBumpingSender } from "../src/chain/fee-bumping.ts";
import { Watchtower, type WatchtowerAlert } from "../src/watchtower.ts";
import { TaskContext, type CommonTaskArguments } from "./lib/context.ts";
import { formatAmount, parseAddress, parseAmount, runTask, tokenUnits } from "./lib/output.ts";
import { ETH } from "../src/channel.ts";
import type { LeaderLease } from "../src/store/postgres-lease.ts";

interface WatchArguments extends CommonTaskArguments {
  pollInterval: number;
  confirmations: number;
  closeMargin: bigint;
  claimThreshold: string;
  claimToken: string;
  bumpAfter: number;
  closeWithoutGain: boolean;
  once: boolean;
  create: boolean;
}

/**
 * Runs until SIGINT or SIGTERM; the cursor and pending closes live in the payee store, so a restart resumes.
 * On a PostgreSQL store several of these may run (on several machines): each takes the payee's leader
 * lease before every pass, one acts, the others stand by and take over when it dies.
 */
export default async function watchTask(args: WatchArguments, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runTask(async () => {
    const context = await TaskContext.create(hre, args);
    // "0.05" or "0.05 ETH" in the channels' token (ETH unless --claim-token names an ERC-20), read exactly.
    const thresholdToken = await tokenUnits(context.publicClient, args.claimToken === "" ? ETH : parseAddress(args.claimToken, "claim-token"));
    const claimThreshold = args.claimThreshold === "" ? undefined : parseAmount(args.claimThreshold, thresholdToken, "claim-threshold");
    const payee = await context.wallet("payee");
    const location = await context.payeeStoreLocation();
    const where = TaskContext.describeLocation(location);
    const store = await context.openStore("payee", { create: args.create });
    const contract = await context.contract();
    // The lease every watchtower of this payee on this deployment shares, whoever runs it (this task or a
    // server's own Watchtower): the name is the one docs/operators.md gives.
    let lease: LeaderLease | undefined;
    if (location.kind === "postgres") {
      const { PostgresLeaderLease } = await import("../src/store/postgres.ts");
      lease = new PostgresLeaderLease(location.url, `watchtower:${context.chainId}:${contract.toLowerCase()}:${payee.address.toLowerCase()}`);
    }
    const alerts: WatchtowerAlert[] = [];
    const watchtower = new Watchtower(
      { chain: payee.chain, store, payee: payee.address },
      {
        lease,
        pollIntervalMs: args.pollInterval,
        confirmations: args.confirmations >= 0 ? BigInt(args.confirmations) : context.local ? 0n : 2n,
        closeMargin: args.closeMargin,
        claimThreshold,
        closeWithoutGain: args.closeWithoutGain,
        send: feeBumpingSender({ publicClient: context.publicClient, walletClient: payee.walletClient, confirmTimeoutMs: args.bumpAfter }),
        onAlert: (alert) => alerts.push(alert),
        log: (line) => console.log(line),
      },
    );
    console.log(
      `[trickle watchtower] watching ${getAddress(payee.address)} on ${context.networkName} (chain id ${context.chainId}), contract ${contract}, payee store ${where}${lease === undefined ? "" : " under a leader lease"}${claimThreshold === undefined ? "" : `, claims from ${formatAmount(claimThreshold, thresholdToken)} unclaimed`}`,
    );
    // Listening before the first pass, so a signal during the catch-up still stops cleanly after it.
    const signalled = new Promise<void>((resolve) => {
      if (args.once) return;
      process.once("SIGINT", () => resolve());
      process.once("SIGTERM", () => resolve());
    });
    const first = await watchtower.start();
    // A standby did nothing yet (the watchtower printed that it stands by); the leader has caught up.
    if (first.leading) {
      console.log(`[trickle watchtower] caught up to block ${first.toBlock ?? (await watchtower.lastProcessedBlock()) ?? "head"}`);
      if (watchtower.liveChannels() === 0) {
        // Loud, on stderr: an empty store usually means the wrong --data-dir (or URL, or schema), and then nothing is watched.
        const wrong = location.kind === "sqlite" ? "--data-dir" : "TRICKLE_PAYEE_STORE_URL or --store-schema";
        console.error(
          `[trickle watchtower] WARNING NO_OPEN_CHANNEL: the payee store in ${where} holds no open channel, so there is nothing to watch. If the payee has channels, this is the wrong ${wrong}.`,
        );
      }
    }
    if (!args.once) await signalled;
    await watchtower.stop();
    await lease?.release();
    await store.close();
    if (args.once && alerts.some((alert) => alert.severity === "critical")) process.exitCode = 1;
  });
}
