import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { InvalidArgumentError, NotIncreasingError } from "../src/errors.ts";
import { Payee } from "../src/payee.ts";
import { assertPayee, assertSettleable, loadChannel } from "./lib/checks.ts";
import { TaskContext, type CommonTaskArguments } from "./lib/context.ts";
import { formatAmount, parseChannelId, runTask, tokenUnits } from "./lib/output.ts";

interface ClaimArguments extends CommonTaskArguments {
  channel: string | undefined;
  create: boolean;
}

export default async function claim(args: ClaimArguments, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runTask(async () => {
    if (args.channel === undefined) throw new InvalidArgumentError("--channel is required");
    const id = parseChannelId(args.channel);
    const context = await TaskContext.create(hre, args);
    const payee = await context.wallet("payee");
    const channel = await loadChannel(payee.chain, id);
    assertPayee(channel, payee.address);
    assertSettleable(channel, await payee.chain.blockTimestamp());
    const store = await context.openStore("payee", { create: args.create });
    try {
      const best = await store.bestVoucher(id);
      if (best === undefined || best.amount <= channel.state.claimed) {
        throw new NotIncreasingError(`nothing to claim on channel ${id}: no stored voucher above the ${channel.state.claimed} already claimed`);
      }
      const units = await tokenUnits(context.publicClient, channel.config.token);
      const tx = await new Payee({ chain: payee.chain, store, payee: payee.address }).claim(id);
      console.log(
        `Claimed ${formatAmount(best.amount - channel.state.claimed, units)} (${formatAmount(best.amount, units)} in total) on channel ${id}; tx ${tx.hash}, gas ${tx.gasUsed}`,
      );
    } finally {
      await store.close();
    }
  });
}
