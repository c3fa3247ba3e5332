// Money properties 2 and 4 for batches: a `claimMany` entry names its channel through the caller (as payee)
// and the batch's token, so a batch can only ever settle the caller's own channels in the token it is paid in.
import { expect } from "chai";
import {
  DEPOSIT,
  ETH,
  Status,
  channelIdOf,
  claimEntry,
  compactEntry,
  deploy,
  expectChannel,
  expectSolvent,
  openChannel,
  signVoucher,
} from "../helpers/fixtures.ts";

describe("attack: a claim batch reaches another payee's channel or another token's funds", () => {
  it("an outsider or the payer slipping the payee's channel into its own batch finds no channel", async () => {
    const f = await deploy();
    const channel = await openChannel(f, f.asset("ERC-20"));
    const voucher = await signVoucher(f, f.payer, channel.id, 500n);
    for (const caller of [f.other, f.payer]) {
      const asCaller = channelIdOf({ ...channel.config, payee: caller.address });
      await expect(f.channels.connect(caller).claimMany(f.tokenAddress, [claimEntry(channel.config, 500n, voucher)]))
        .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
        .withArgs(asCaller, Status.None);
      await expect(f.channels.connect(caller).claimManyCompact(f.tokenAddress, [compactEntry(channel.config, 500n, voucher)]))
        .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
        .withArgs(asCaller, Status.None);
    }
    await expectChannel(f, channel.id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
  });

  it("a payee with a small ETH channel cannot be paid its voucher in the token other channels deposited", async () => {
    const f = await deploy();
    // Others' token deposits: what a cross-token claim would drain.
    const pool = await openChannel(f, f.asset("ERC-20"), { payee: f.other.address });
    // The attacker is the payee of a 1,000 wei ETH channel whose signer it controls (the payer's own key here).
    const small = await openChannel(f, f.asset("ETH"), { deposit: 1_000n });
    const voucher = await signVoucher(f, f.payer, small.id, 1_000n);
    await expect(f.channels.connect(f.payee).claimMany(f.tokenAddress, [claimEntry(small.config, 1_000n, voucher)]))
      .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
      .withArgs(channelIdOf({ ...small.config, token: f.tokenAddress }), Status.None);
    await expectSolvent(f, f.asset("ERC-20"), [pool.id], []);
    await expectSolvent(f, f.asset("ETH"), [small.id], []);
    // In its own token the same entry settles, for what the channel holds.
    await f.channels.connect(f.payee).claimMany(ETH, [claimEntry(small.config, 1_000n, voucher)]);
    await expectChannel(f, small.id, { deposit: 1_000n, claimed: 1_000n, status: Status.Open });
  });
});
