import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { InvalidArgumentError } from "../src/errors.ts";
import { Payee } from "../src/payee.ts";
import { assertPayee, assertSettleable, loadChannel } from "./lib/checks.ts";
import { TaskContext, type CommonTaskArguments } from "./lib/context.ts";
import { formatAmount, parseChannelId, runTask, tokenUnits } from "./lib/output.ts";

interface CloseArguments extends CommonTaskArguments {
  channel: string | undefined;
  create: boolean;
}

export default async function close(args: CloseArguments, hre: HardhatRuntimeEnvironment): Promise<void> {
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
      const tx = await new Payee({ chain: payee.chain, store, payee: payee.address }).close(id);
      const after = await payee.chain.readChannel(id);
      const units = await tokenUnits(context.publicClient, channel.config.token);
      console.log(
        `Closed channel ${id}: payee got ${formatAmount(after.claimed - channel.state.claimed, units)} (${formatAmount(after.claimed, units)} in total), payer refunded ${formatAmount(after.deposit - after.claimed, units)}; tx ${tx.hash}, gas ${tx.gasUsed}`,
      );
    } finally {
      await store.close();
    }
  });
}
