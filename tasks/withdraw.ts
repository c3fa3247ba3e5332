import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { InvalidArgumentError } from "../src/errors.ts";
import { assertCanWithdraw, assertPayer, loadChannel } from "./lib/checks.ts";
import { TaskContext, type CommonTaskArguments } from "./lib/context.ts";
import { formatAmount, parseChannelId, runTask, tokenUnits } from "./lib/output.ts";

interface WithdrawArguments extends CommonTaskArguments {
  channel: string | undefined;
}

export default async function withdraw(args: WithdrawArguments, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runTask(async () => {
    if (args.channel === undefined) throw new InvalidArgumentError("--channel is required");
    const id = parseChannelId(args.channel);
    const context = await TaskContext.create(hre, args);
    const payer = await context.wallet("payer");
    const channel = await loadChannel(payer.chain, id);
    assertPayer(channel, payer.address);
    assertCanWithdraw(channel, await payer.chain.blockTimestamp());
    const tx = await payer.chain.withdraw(channel.config);
    const units = await tokenUnits(context.publicClient, channel.config.token);
    console.log(`Withdrew ${formatAmount(channel.state.deposit - channel.state.claimed, units)} from channel ${id}; tx ${tx.hash}`);
  });
}
