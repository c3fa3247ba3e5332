import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { InvalidArgumentError, UnknownChannelError, WrongChainError } from "../src/errors.ts";
import { Payer } from "../src/payer.ts";
import { encodeVoucher } from "../src/voucher.ts";
import { TaskContext, type CommonTaskArguments } from "./lib/context.ts";
import { formatAmount, parseAmount, parseChannelId, runTask, tokenUnits } from "./lib/output.ts";

interface PayArguments extends CommonTaskArguments {
  channel: string | undefined;
  amount: string;
  total: string;
}

/** Signs off-chain only: no transaction, no gas. The voucher goes to stdout alone, for `$(...)` and pipes. */
export default async function pay(args: PayArguments, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runTask(async () => {
    if (args.channel === undefined) throw new InvalidArgumentError("--channel is required");
    if ((args.amount === "") === (args.total === "")) throw new InvalidArgumentError("give exactly one of --amount (an increment) or --total (cumulative)");
    const id = parseChannelId(args.channel);
    const context = await TaskContext.create(hre, args);
    const wallet = await context.wallet("payer");
    const contract = await context.contract();
    const store = await context.openStore("payer");
    try {
      const record = await store.payerChannel(id);
      if (record === undefined) {
        throw new UnknownChannelError(`channel ${id} is not in the payer store ${context.dataDir}/payer.sqlite: it was not opened with trickle:open from this data dir`);
      }
      if (record.chainId !== context.chainId || record.contract.toLowerCase() !== contract.toLowerCase()) {
        throw new WrongChainError(`channel ${id} belongs to contract ${record.contract} on chain id ${record.chainId}, not this network`);
      }
      const units = await tokenUnits(context.publicClient, record.config.token);
      const payer = new Payer({ chain: wallet.chain, store });
      const voucher =
        args.total !== "" ? await payer.payUpTo(id, parseAmount(args.total, units, "total")) : await payer.pay(id, parseAmount(args.amount, units, "amount"));
      process.stderr.write(`Signed ${formatAmount(voucher.amount, units)} in total on channel ${id}\n`);
      console.log(encodeVoucher(voucher));
    } finally {
      await store.close();
    }
  });
}
