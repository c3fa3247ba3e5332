import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { InvalidArgumentError } from "../src/errors.ts";
import { Payee } from "../src/payee.ts";
import { decodeVoucher } from "../src/voucher.ts";
import { assertPayee, loadChannel, parseTokens } from "./lib/checks.ts";
import { TaskContext, type CommonTaskArguments } from "./lib/context.ts";
import { formatAmount, runTask, tokenUnits } from "./lib/output.ts";

interface AcceptArguments extends CommonTaskArguments {
  voucher: string | undefined;
  minCloseDelay: bigint;
  tokens: string;
  create: boolean;
}

export default async function accept(args: AcceptArguments, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runTask(async () => {
    if (args.voucher === undefined) throw new InvalidArgumentError("--voucher is required (the string trickle:pay printed)");
    const voucher = decodeVoucher(args.voucher.trim());
    const tokens = parseTokens(args.tokens);
    const context = await TaskContext.create(hre, args);
    const payee = await context.wallet("payee");
    const channel = await loadChannel(payee.chain, voucher.channelId);
    assertPayee(channel, payee.address);
    const store = await context.openStore("payee", { create: args.create });
    try {
      const receipt = await new Payee({ chain: payee.chain, store, payee: payee.address, policy: { minCloseDelay: args.minCloseDelay, tokens } }).accept(
        voucher,
        channel.config,
      );
      const units = await tokenUnits(context.publicClient, channel.config.token);
      console.log(
        `Accepted ${formatAmount(receipt.amount, units)} in total (+${formatAmount(receipt.increment, units)}) on channel ${receipt.channelId}`,
      );
    } finally {
      await store.close();
    }
  });
}
