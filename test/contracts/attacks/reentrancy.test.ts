// Money property 8: re-entering through an ETH receiver changes nothing. Every entry point is
// nonReentrant, so the re-entry fails whatever the attacker does with the failure.
import { expect } from "chai";
import type { Interface } from "ethers";
import type { ReentrantReceiver } from "../../../typechain-types/index.ts";
import {
  DEPOSIT,
  ETH,
  Status,
  deploy,
  expectBalanceChanges,
  expectChannel,
  expectSolvent,
  openChannel,
  signVoucher,
  type Fixture,
  type OpenedChannel,
} from "../helpers/fixtures.ts";
import { callFrom, deployReentrant } from "../helpers/accounts.ts";

function reentryGuardError(f: Fixture): string {
  return f.channels.interface.getError("ReentrancyGuardReentrantCall")!.selector;
}

async function arm(f: Fixture, attacker: ReentrantReceiver, fn: string, args: readonly unknown[], bubble: boolean) {
  const channels: Interface = f.channels.interface;
  await attacker.arm(f.channelsAddress, channels.encodeFunctionData(fn, args), bubble);
}

/** An ETH channel whose payee is the attacker contract. */
async function attackerPayee(f: Fixture): Promise<{ attacker: ReentrantReceiver; address: string } & OpenedChannel> {
  const attacker = await deployReentrant();
  const address = await attacker.getAddress();
  return { attacker, address, ...(await openChannel(f, f.asset("ETH"), { payee: address })) };
}

describe("attack: reentrancy through an ETH receiver", () => {
  for (const bubble of [false, true]) {
    const outcome = bubble ? "the payout is credited" : "the payout is delivered";
    describe(bubble ? "attacker reverts with the re-entry's error" : "attacker swallows the failed re-entry", () => {
      it(`payee re-entering claim during a claim payout gets nothing extra; ${outcome}`, async () => {
        const f = await deploy();
        const { attacker, address, config, id } = await attackerPayee(f);
        await arm(f, attacker, "claim", [config, 900n, await signVoucher(f, f.payer, id, 900n)], bubble);
        const tx = await expectBalanceChanges(
          f.asset("ETH"),
          async () => callFrom(f, attacker, "claim", [config, 100n, await signVoucher(f, f.payer, id, 100n)]),
          [
            ["payee", address, bubble ? 0n : 100n],
            ["contract", f.channelsAddress, bubble ? 0n : -100n],
          ],
        );
        if (!bubble) await expect(tx).to.emit(attacker, "Reentered").withArgs(false, reentryGuardError(f));
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 100n, status: Status.Open });
        expect(await f.channels.credits(ETH, address)).to.equal(bubble ? 100n : 0n);
        await expectSolvent(f, f.asset("ETH"), [id], [address]);
      });

      it(`payee re-entering close during a claim payout cannot settle twice; ${outcome}`, async () => {
        const f = await deploy();
        const { attacker, address, config, id } = await attackerPayee(f);
        await arm(f, attacker, "close", [config, 900n, await signVoucher(f, f.payer, id, 900n)], bubble);
        const tx = await callFrom(f, attacker, "claim", [config, 100n, await signVoucher(f, f.payer, id, 100n)]);
        if (!bubble) await expect(tx).to.emit(attacker, "Reentered").withArgs(false, reentryGuardError(f));
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 100n, status: Status.Open });
        await expectSolvent(f, f.asset("ETH"), [id], [address]);
      });

      it(`payee re-entering topUp during a close payout cannot revive the channel; ${outcome}`, async () => {
        const f = await deploy();
        const { attacker, address, config, id } = await attackerPayee(f);
        await arm(f, attacker, "topUp", [config, 0n], bubble);
        const tx = await callFrom(f, attacker, "close", [config, 100n, await signVoucher(f, f.payer, id, 100n)]);
        if (!bubble) await expect(tx).to.emit(attacker, "Reentered").withArgs(false, reentryGuardError(f));
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 100n, status: Status.Finished });
        await expectSolvent(f, f.asset("ETH"), [id], [address, f.payer.address]);
      });

      it(`payer re-entering withdraw during its withdraw refund gets one refund; ${outcome}`, async () => {
        const f = await deploy();
        const attacker = await deployReentrant();
        const address = await attacker.getAddress();
        const { config, id } = await openChannel(f, f.asset("ETH"), { payer: address, closeDelay: 0n });
        await callFrom(f, attacker, "requestClose", [config]);
        const [, , closesAt] = await f.channels.channels(id);
        await arm(f, attacker, "withdraw", [config], bubble);
        const tx = await expectBalanceChanges(f.asset("ETH"), () => callFrom(f, attacker, "withdraw", [config]), [
          ["payer", address, bubble ? 0n : DEPOSIT],
          ["contract", f.channelsAddress, bubble ? 0n : -DEPOSIT],
        ]);
        if (!bubble) await expect(tx).to.emit(attacker, "Reentered").withArgs(false, reentryGuardError(f));
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 0n, closesAt, status: Status.Finished });
        await expectSolvent(f, f.asset("ETH"), [id], [address]);
      });
    });
  }

  it("re-entering withdrawCredit during withdrawCredit (full gas forwarded) pays the credit once", async () => {
    const f = await deploy();
    const { attacker, address, config, id } = await attackerPayee(f);
    // First make the attacker hold a credit: it refuses its claim payout.
    await arm(f, attacker, "withdrawCredit", [ETH, address], true);
    await callFrom(f, attacker, "claim", [config, 100n, await signVoucher(f, f.payer, id, 100n)]);
    expect(await f.channels.credits(ETH, address)).to.equal(100n);
    // Now it takes the credit and tries to take it again from its receive hook.
    await arm(f, attacker, "withdrawCredit", [ETH, address], false);
    const tx = await expectBalanceChanges(
      f.asset("ETH"),
      () => callFrom(f, attacker, "withdrawCredit", [ETH, address]),
      [
        ["attacker", address, 100n],
        ["contract", f.channelsAddress, -100n],
      ],
    );
    await expect(tx).to.emit(attacker, "Reentered").withArgs(false, reentryGuardError(f));
    expect(await f.channels.credits(ETH, address)).to.equal(0n);
    await expectSolvent(f, f.asset("ETH"), [id], [address]);
  });

  it("a bubbling re-entry in withdrawCredit reverts it with EthTransferFailed and keeps the credit", async () => {
    const f = await deploy();
    const { attacker, address, config, id } = await attackerPayee(f);
    await arm(f, attacker, "withdrawCredit", [ETH, address], true);
    await callFrom(f, attacker, "claim", [config, 100n, await signVoucher(f, f.payer, id, 100n)]);
    await expect(callFrom(f, attacker, "withdrawCredit", [ETH, address]))
      .to.be.revertedWithCustomError(f.channels, "EthTransferFailed")
      .withArgs(address, 100n);
    expect(await f.channels.credits(ETH, address)).to.equal(100n);
  });
});
