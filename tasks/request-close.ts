import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { InvalidArgumentError } from "../src/errors.ts";
import { assertCanRequestClose, assertPayer, loadChannel } from "./lib/checks.ts";
import { TaskContext, type CommonTaskArguments } from "./lib/context.ts";
import { parseChannelId, runTask } from "./lib/output.ts";

interface RequestCloseArguments extends CommonTaskArguments {
  channel: string | undefined;
}

export default async function requestClose(args: RequestCloseArguments, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runTask(async () => {
    if (args.channel === undefined) throw new InvalidArgumentError("--channel is required");
    const id = parseChannelId(args.channel);
    const context = await TaskContext.create(hre, args);
    const payer = await context.wallet("payer");
    const channel = await loadChannel(payer.chain, id);
    assertPayer(channel, payer.address);
    assertCanRequestClose(channel);
    const tx = await payer.chain.requestClose(channel.config);
    const after = await payer.chain.readChannel(id);
    console.log(
      `Close requested on channel ${id}: the payee can claim or close until timestamp ${after.closesAt} (${channel.config.closeDelay} s), then trickle:withdraw; tx ${tx.hash}`,
    );
  });
}
