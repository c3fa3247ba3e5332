// TipJar: one budget tips any number of creators through a growing signed tally; anyone settles it; creators
// collect from every donor at once; the donor gets back what was never settled after the close delay.
import { expect } from "chai";
import type { Interface } from "ethers";
import type { Address, Hex } from "../../../src/channel.ts";
import { EMPTY_TALLY, budgetId, tallyDigest, tallyHash } from "../../../src/donations/index.ts";
import { ETH, ethers, expectBalanceChanges, networkHelpers, type Asset } from "../helpers/fixtures.ts";
import { ReceiveMode, deployReceiver } from "../helpers/accounts.ts";
import { BUDGET, CLOSE_DELAY, budgetConfig, openBudget, settlement, setUpJar, signTally, tally, type JarFixture } from "./helpers.ts";

const Status = { None: 0n, Open: 1n, Closing: 2n, Finished: 3n } as const;
const MAX_DEPOSIT = (1n << 104n) - 1n;

function assetOf(j: JarFixture, token: Address): Asset {
  return token === ETH
    ? { kind: "ETH", token: ETH, balanceOf: (a) => ethers.provider.getBalance(a), value: (v) => ({ value: v }) }
    : { kind: "ERC-20", token, balanceOf: (a) => j.token.balanceOf(a), value: () => ({ value: 0n }) };
}

async function expectBudget(j: JarFixture, id: Hex, deposit: bigint, settled: bigint, status: bigint): Promise<void> {
  const [d, s, , st] = await j.jar.budgets(id);
  expect({ deposit: d, settled: s, status: st }).to.deep.equal({ deposit, settled, status });
}

describe("TipJar", () => {
  for (const kind of ["ETH", "ERC-20"] as const) {
    describe(`${kind} budget`, () => {
      it("opens, tops up, settles growing tallies, lets creators collect and the donor withdraw the rest", async () => {
        const j = await setUpJar();
        const token = (kind === "ETH" ? ETH : j.tokenAddress) as Address;
        const asset = assetOf(j, token);
        const config = budgetConfig(j, token);
        const id = budgetId(config);
        await expect(j.jar.connect(j.donor).open(config, BUDGET, asset.value(BUDGET)))
          .to.emit(j.jar, "BudgetOpened").withArgs(id, j.donor.address, token, BUDGET);
        await expect(j.jar.connect(j.other).topUp(config, 500n, asset.value(500n)))
          .to.emit(j.jar, "BudgetToppedUp").withArgs(id, 500n, BUDGET + 500n);
        const [a, b, c] = j.creators;
        const first = tally([a!, b!], [10n, 20n]);
        const second = tally([a!, b!, c!], [15n, 20n, 7n]);
        await expect(j.jar.connect(j.other).settle(await settlement(j, config, EMPTY_TALLY, first)))
          .to.emit(j.jar, "TallySettled").withArgs(id, 30n, tallyHash(first));
        expect(await j.jar.settledTallies(id)).to.equal(tallyHash(first));
        await j.jar.settle(await settlement(j, config, first, second));
        await expectBudget(j, id, BUDGET + 500n, 42n, Status.Open);
        expect(await j.jar.balances(token, a!)).to.equal(15n);
        expect(await j.jar.balances(token, b!)).to.equal(20n);
        expect(await j.jar.balances(token, c!)).to.equal(7n);

        const creatorA = await ethers.getSigner(a!);
        const tx = await expectBalanceChanges(asset, () => j.jar.connect(creatorA).collect(token, j.other.address), [
          ["to", j.other.address, 15n],
          ["jar", j.jarAddress, -15n],
        ]);
        await expect(tx).to.emit(j.jar, "BalanceCollected").withArgs(token, a!, j.other.address, 15n);
        await expect(j.jar.connect(creatorA).collect(token, a!))
          .to.be.revertedWithCustomError(j.jar, "BalanceEmpty").withArgs(token, a!);

        await expect(j.jar.connect(j.donor).requestClose(config)).to.emit(j.jar, "BudgetCloseRequested");
        // Settling still works before the deadline.
        const third = tally([a!, b!, c!], [15n, 25n, 7n]);
        await j.jar.settle(await settlement(j, config, second, third));
        await networkHelpers.time.increase(CLOSE_DELAY);
        await expectBalanceChanges(asset, () => j.jar.connect(j.donor).withdraw(config), [
          ["donor", j.donor.address, BUDGET + 500n - 47n],
          ["jar", j.jarAddress, -(BUDGET + 500n - 47n)],
        ]);
        await expectBudget(j, id, BUDGET + 500n, 47n, Status.Finished);
        // What is left is exactly the uncollected balances: b 25, c 7 (a collected its 15).
        expect(await asset.balanceOf(j.jarAddress)).to.equal(25n + 7n);
      });
    });
  }

  it("settleMany settles many budgets; settleManyAndCollect also pays the caller everything in one transaction", async () => {
    const j = await setUpJar();
    const [a, b] = j.creators;
    const configs = [budgetConfig(j), budgetConfig(j), budgetConfig(j)];
    for (const config of configs) await openBudget(j, config);
    await j.jar.settleMany([await settlement(j, configs[0]!, EMPTY_TALLY, tally([a!], [5n]))]);
    const creatorA = await ethers.getSigner(a!);
    const entries = [
      await settlement(j, configs[0]!, tally([a!], [5n]), tally([a!, b!], [6n, 1n])),
      await settlement(j, configs[1]!, EMPTY_TALLY, tally([b!, a!], [2n, 3n])),
      await settlement(j, configs[2]!, EMPTY_TALLY, tally([a!], [4n])),
    ];
    await expectBalanceChanges(assetOf(j, ETH as Address), () => j.jar.connect(creatorA).settleManyAndCollect(entries, ETH, a!), [
      ["creator a", a!, 5n + 1n + 3n + 4n],
      ["jar", j.jarAddress, -(5n + 1n + 3n + 4n)],
    ]);
    expect(await j.jar.balances(ETH, b!)).to.equal(3n);
    await expect(j.jar.settleMany([])).to.be.revertedWithCustomError(j.jar, "SettleBatchSizeInvalid").withArgs(0n, 256n);
    const many = Array.from({ length: 257 }, () => entries[2]!);
    await expect(j.jar.settleMany(many)).to.be.revertedWithCustomError(j.jar, "SettleBatchSizeInvalid").withArgs(257n, 256n);
  });

  it("views: budget id, tally hash (zero when empty) and digest match the SDK", async () => {
    const j = await setUpJar();
    const config = budgetConfig(j);
    const t = tally([j.creators[0]!], [9n]);
    expect(await j.jar.budgetId(config)).to.equal(budgetId(config));
    expect(await j.jar.tallyHash(EMPTY_TALLY)).to.equal(ethers.ZeroHash);
    expect(await j.jar.tallyHash(t)).to.equal(tallyHash(t));
    expect(await j.jar.tallyDigest(budgetId(config), 9n, tallyHash(t))).to.equal(tallyDigest(j.domain, budgetId(config), t));
  });

  it("credits a refund the donor cannot receive, and the donor collects it elsewhere", async () => {
    const j = await setUpJar();
    const donor = await deployReceiver(ReceiveMode.Revert);
    const donorAddress = (await donor.getAddress()) as Address;
    const config = budgetConfig(j, ETH as Address, { donor: donorAddress, signer: j.donor.address as Address });
    const call = (fn: string, args: unknown[], value = 0n) => donor.execute(j.jarAddress, (j.jar.interface as Interface).encodeFunctionData(fn, args), { value });
    await call("open", [config, 100n], 100n);
    await call("requestClose", [config]);
    await networkHelpers.time.increase(CLOSE_DELAY);
    await expect(call("withdraw", [config])).to.emit(j.jar, "BalanceCredited").withArgs(ETH, donorAddress, 100n);
    await expect(call("collect", [ETH, donorAddress])).to.be.revertedWithCustomError(j.jar, "EthTransferFailed").withArgs(donorAddress, 100n);
    await expectBalanceChanges(assetOf(j, ETH as Address), () => call("collect", [ETH, j.other.address]), [["elsewhere", j.other.address, 100n]]);
  });

  it("settles a tally signed through an ERC-1271 wallet signer, and refuses it when the wallet refuses", async () => {
    const j = await setUpJar();
    const wallet = await ethers.deployContract("ERC1271Wallet", [j.donor.address]);
    const config = budgetConfig(j, ETH as Address, { signer: (await wallet.getAddress()) as Address });
    await openBudget(j, config);
    const t = tally([j.creators[0]!], [9n]);
    const entry = { config, settledTally: EMPTY_TALLY, tally: t, signature: await signTally(j, j.donor, budgetId(config), t) };
    await wallet.setMode(1n); // Refuse
    await expect(j.jar.settle(entry)).to.be.revertedWithCustomError(j.jar, "TallySignatureInvalid");
    await wallet.setMode(0n); // Approve its owner's signatures
    await j.jar.settle(entry);
    expect(await j.jar.balances(ETH, j.creators[0]!)).to.equal(9n);
  });

  it("withdraws nothing when every unit was settled", async () => {
    const j = await setUpJar();
    const config = budgetConfig(j);
    await openBudget(j, config, 10n);
    await j.jar.settle(await settlement(j, config, EMPTY_TALLY, tally([j.creators[0]!], [10n])));
    await j.jar.connect(j.donor).requestClose(config);
    await networkHelpers.time.increase(CLOSE_DELAY);
    await expect(j.jar.connect(j.donor).withdraw(config)).to.emit(j.jar, "BudgetWithdrawn").withArgs(budgetId(config), 0n);
  });

  it("credits a fee-on-transfer deposit with what arrived", async () => {
    const j = await setUpJar();
    const fee = await ethers.deployContract("FeeOnTransferToken");
    const feeAddress = (await fee.getAddress()) as Address;
    await fee.mint(j.donor.address, 10_000n);
    await fee.connect(j.donor).approve(j.jarAddress, 10_000n);
    const config = budgetConfig(j, feeAddress);
    const id = await openBudget(j, config, 1_000n);
    await j.jar.connect(j.donor).topUp(config, 1_000n);
    const [deposit] = await j.jar.budgets(id);
    expect(deposit).to.equal(await fee.balanceOf(j.jarAddress));
    expect(deposit).to.be.lessThan(2_000n);
  });

  describe("refuses, and moves nothing", () => {
    it("open: a zero donor or signer, a delay above the maximum, an existing id, a wrong value, a deposit too large", async () => {
      const j = await setUpJar();
      const zero = ethers.ZeroAddress as Address;
      for (const overrides of [{ donor: zero }, { signer: zero }, { closeDelay: 365n * 86_400n + 1n }]) {
        await expect(j.jar.connect(j.donor).open(budgetConfig(j, ETH as Address, overrides), 1n, { value: 1n }))
          .to.be.revertedWithCustomError(j.jar, "BudgetConfigInvalid");
      }
      const config = budgetConfig(j);
      await openBudget(j, config, 1n);
      await expect(j.jar.open(config, 1n, { value: 1n })).to.be.revertedWithCustomError(j.jar, "BudgetExists").withArgs(budgetId(config));
      await expect(j.jar.open(budgetConfig(j), 2n, { value: 1n })).to.be.revertedWithCustomError(j.jar, "DepositValueMismatch").withArgs(1n, 2n);
      await expect(j.jar.connect(j.donor).open(budgetConfig(j, j.tokenAddress), 2n, { value: 1n }))
        .to.be.revertedWithCustomError(j.jar, "DepositValueMismatch").withArgs(1n, 2n);
      await j.token.mint(j.donor.address, MAX_DEPOSIT + 1n);
      await expect(j.jar.connect(j.donor).open(budgetConfig(j, j.tokenAddress), MAX_DEPOSIT + 1n))
        .to.be.revertedWithCustomError(j.jar, "DepositTooLarge").withArgs(MAX_DEPOSIT + 1n, MAX_DEPOSIT);
    });

    it("topUp, requestClose, withdraw out of turn", async () => {
      const j = await setUpJar();
      const config = budgetConfig(j);
      const id = budgetId(config);
      await expect(j.jar.topUp(config, 1n, { value: 1n })).to.be.revertedWithCustomError(j.jar, "BudgetNotOpen").withArgs(id, Status.None);
      await expect(j.jar.connect(j.donor).requestClose(config)).to.be.revertedWithCustomError(j.jar, "BudgetNotOpen").withArgs(id, Status.None);
      await expect(j.jar.connect(j.donor).withdraw(config)).to.be.revertedWithCustomError(j.jar, "BudgetNotOpen").withArgs(id, Status.None);
      await openBudget(j, config);
      await expect(j.jar.connect(j.other).requestClose(config)).to.be.revertedWithCustomError(j.jar, "CallerNotDonor").withArgs(j.other.address, j.donor.address);
      await expect(j.jar.connect(j.other).withdraw(config)).to.be.revertedWithCustomError(j.jar, "CallerNotDonor");
      await expect(j.jar.connect(j.donor).withdraw(config)).to.be.revertedWithCustomError(j.jar, "BudgetCloseNotRequested").withArgs(id);
      await j.jar.connect(j.donor).requestClose(config);
      const [, , closesAt] = await j.jar.budgets(id);
      await expect(j.jar.topUp(config, 1n, { value: 1n })).to.be.revertedWithCustomError(j.jar, "BudgetClosing").withArgs(id, closesAt);
      await expect(j.jar.connect(j.donor).requestClose(config)).to.be.revertedWithCustomError(j.jar, "BudgetClosing").withArgs(id, closesAt);
      await expect(j.jar.connect(j.donor).withdraw(config)).to.be.revertedWithCustomError(j.jar, "BudgetCloseDelayNotElapsed").withArgs(id, closesAt);
      await networkHelpers.time.increase(CLOSE_DELAY);
      const late = await settlement(j, config, EMPTY_TALLY, tally([j.creators[0]!], [1n]));
      await expect(j.jar.settle(late)).to.be.revertedWithCustomError(j.jar, "BudgetCloseDeadlinePassed").withArgs(id, closesAt);
      await j.jar.connect(j.donor).withdraw(config);
      await expect(j.jar.settle(late)).to.be.revertedWithCustomError(j.jar, "BudgetNotOpen").withArgs(id, Status.Finished);
      await expect(j.jar.connect(j.donor).withdraw(config)).to.be.revertedWithCustomError(j.jar, "BudgetNotOpen").withArgs(id, Status.Finished);
    });

    it("settle: a wrong settled tally, a tally that does not extend it, a total not increasing or above the deposit, a bad signature", async () => {
      const j = await setUpJar();
      const [a, b, c] = j.creators;
      const config = budgetConfig(j);
      const id = await openBudget(j, config, 100n);
      const first = tally([a!, b!], [10n, 20n]);
      await j.jar.settle(await settlement(j, config, EMPTY_TALLY, first));
      await expect(j.jar.settle(await settlement(j, config, EMPTY_TALLY, tally([a!, b!], [11n, 20n]))))
        .to.be.revertedWithCustomError(j.jar, "TallySettledMismatch").withArgs(tallyHash(first), ethers.ZeroHash);
      const cases: [ReturnType<typeof tally>, bigint][] = [
        [tally([a!], [50n]), 1n], // fewer creators
        [tally([a!, b!, c!], [10n, 20n]), 3n], // lengths differ
        [tally([b!, a!], [20n, 10n]), 0n], // another creator first
        [tally([a!, b!], [10n, 19n]), 1n], // a smaller amount
      ];
      for (const [next, index] of cases) {
        await expect(j.jar.settle(await settlement(j, config, first, next)))
          .to.be.revertedWithCustomError(j.jar, "TallyNotExtending").withArgs(index);
      }
      await expect(j.jar.settle(await settlement(j, config, first, first)))
        .to.be.revertedWithCustomError(j.jar, "TallyNotIncreasing").withArgs(30n, 30n);
      await expect(j.jar.settle(await settlement(j, config, first, tally([a!, b!], [10n, 91n]))))
        .to.be.revertedWithCustomError(j.jar, "TallyAboveDeposit").withArgs(101n, 100n);
      await expect(j.jar.settle(await settlement(j, config, first, tally([a!, b!], [10n, MAX_DEPOSIT + 1n]))))
        .to.be.revertedWithCustomError(j.jar, "TallyAboveDeposit").withArgs(MAX_DEPOSIT + 1n, 100n);
      const next = tally([a!, b!], [10n, 21n]);
      const forged = { config, settledTally: first, tally: next, signature: await signTally(j, j.other, id, next) };
      await expect(j.jar.settle(forged)).to.be.revertedWithCustomError(j.jar, "TallySignatureInvalid").withArgs(id, j.donor.address);
      // Signed for another total: the same hash, a different digest.
      const wrongTotal = { ...forged, signature: await signTally(j, j.donor, id, tally([a!, b!], [10n, 22n])) };
      await expect(j.jar.settle(wrongTotal)).to.be.revertedWithCustomError(j.jar, "TallySignatureInvalid");
      expect(await j.jar.balances(ETH, b!)).to.equal(20n);
      await expectBudget(j, id, 100n, 30n, Status.Open);
    });
  });
});
