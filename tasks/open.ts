import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { getAddress } from "viem";
import { ETH, type Address } from "../src/channel.ts";
import { InvalidArgumentError } from "../src/errors.ts";
import { Payer } from "../src/payer.ts";
import { TaskContext, type CommonTaskArguments } from "./lib/context.ts";
import { formatAmount, parseAddress, parseAmount, runTask, table, tokenUnits } from "./lib/output.ts";

interface OpenArguments extends CommonTaskArguments {
  payee: string;
  amount: string | undefined;
  token: string;
  closeDelay: bigint;
}

export default async function open(args: OpenArguments, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runTask(async () => {
    if (args.amount === undefined) throw new InvalidArgumentError("--amount is required (the first deposit, e.g. --amount 1.5)");
    const context = await TaskContext.create(hre, args);
    const payer = await context.wallet("payer");
    let payee: Address;
    if (args.payee !== "") {
      payee = parseAddress(args.payee, "payee");
    } else if (context.local) {
      // The local payee account, as trickle:accept and trickle:claim use it without a configured key.
      payee = (await context.wallet("payee")).address;
    } else {
      throw new InvalidArgumentError("--payee is required on this network");
    }
    const token = args.token === "" ? ETH : parseAddress(args.token, "token");
    const units = await tokenUnits(context.publicClient, token);
    const amount = parseAmount(args.amount, units, "amount");
    const store = await context.openStore("payer");
    try {
      const channel = await new Payer({ chain: payer.chain, store }).open({ payee, amount, token, closeDelay: args.closeDelay });
      console.log(`Opened channel ${channel.channelId}`);
      console.log(
        table([
          ["payer", getAddress(channel.config.payer)],
          ["payee", getAddress(channel.config.payee)],
          ["deposit", formatAmount(amount, units)],
          ["voucher signer", `${getAddress(channel.config.signer)} (session key in ${context.dataDir}/payer.sqlite)`],
          ["close delay", `${channel.config.closeDelay} s`],
          ["transaction", `${channel.transaction.hash} (gas ${channel.transaction.gasUsed})`],
        ]),
      );
    } finally {
      await store.close();
    }
  });
}
