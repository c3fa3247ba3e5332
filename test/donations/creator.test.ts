// The creator SDK against a TipJar on the in-process chain: accept only tips the chain would pay, sign
// receipts the donor can keep, see held and claimable amounts, and take everything in one transaction.
import { expect } from "chai";
import { network } from "hardhat";
import { privateKeyToAccount } from "viem/accounts";
import type { Address, Hex } from "../../src/channel.ts";
import {
  Creator,
  Donor,
  TallyForkError,
  TallySignatureError,
  TallyUnfundedError,
  TipInvalidError,
  UnsettledLimitError,
  addTip,
  budgetId,
  ethersTipJar,
  tallyTotal,
  tallyTypedData,
  type BudgetConfig,
} from "../../src/donations/index.ts";
import { expectRejection } from "./rejection.ts";

const { ethers, networkHelpers } = await network.create();
const ETH = "0x0000000000000000000000000000000000000000" as Address;
const key = (byte: string): Hex => `0x${byte.repeat(32)}` as Hex;

async function setUp() {
  const [funder] = await ethers.getSigners();
  const jar = await ethers.deployContract("TipJar");
  const jarAddress = (await jar.getAddress()) as Address;
  const { chainId } = await ethers.provider.getNetwork();
  const domain = { chainId, verifyingContract: jarAddress };
  const donors = [privateKeyToAccount(key("a1")), privateKeyToAccount(key("a2"))];
  const creatorKeys = [key("c1"), key("c2")];
  const wallets = creatorKeys.map((k) => new ethers.Wallet(k, ethers.provider));
  for (const wallet of wallets) await networkHelpers.setBalance(wallet.address, 10n ** 18n);
  const reader = ethersTipJar(jarAddress, ethers.provider);
  const creators = creatorKeys.map((k) => new Creator({ signer: privateKeyToAccount(k), domain, chain: reader }));
  const budgets: { config: BudgetConfig; donor: Donor }[] = [];
  for (const [i, account] of donors.entries()) {
    const config: BudgetConfig = { donor: account.address, token: ETH, signer: account.address, closeDelay: 86_400n, salt: key(`0${i}`) };
    await (await jar.connect(funder).open(config, 1_000n, { value: 1_000n })).wait();
    budgets.push({ config, donor: new Donor({ signer: account, config, deposit: 1_000n, domain }) });
  }
  return { jar, jarAddress, domain, wallets, reader, creators, budgets, funder };
}

describe("donations: Creator", () => {
  it("accepts tips from many donors, signs receipts, and claims all of it in one transaction", async () => {
    const s = await setUp();
    const [alice, bob] = s.creators as [Creator, Creator];
    const [a, b] = s.budgets as [(typeof s.budgets)[0], (typeof s.budgets)[0]];
    const tips = [
      [a, alice, 5n], [a, bob, 7n], [a, alice, 3n], [b, alice, 11n], [b, bob, 2n],
    ] as const;
    for (const [budget, creator, amount] of tips) {
      const tip = await budget.donor.tip(creator.address, amount);
      const receipt = await creator.acceptTip(budget.config, tip.signed);
      expect(receipt.amount).to.equal(amount);
      await budget.donor.recordReceipt(receipt);
    }
    expect(a.donor.statement(new Date().getUTCFullYear()).unreceipted).to.equal(0);
    expect(await alice.holdings(ETH)).to.deep.equal({ held: 0n, claimable: 19n, budgets: 2 });

    const to = "0x00000000000000000000000000000000000000b0" as Address;
    const writer = ethersTipJar(s.jarAddress, s.wallets[0]!);
    const result = await alice.claimAll(writer, ETH, to);
    expect(result.amount).to.equal(19n);
    expect(await ethers.provider.getBalance(to)).to.equal(19n);
    expect(await alice.holdings(ETH)).to.deep.equal({ held: 0n, claimable: 0n, budgets: 0 });
    // Alice's settlements paid Bob too: it holds all of budget a's share; budget b's latest tally was Bob's.
    expect(await bob.holdings(ETH)).to.deep.equal({ held: 7n, claimable: 2n, budgets: 1 });
    const bobTo = "0x00000000000000000000000000000000000000b1" as Address;
    await bob.claimAll(ethersTipJar(s.jarAddress, s.wallets[1]!), ETH, bobTo);
    expect(await ethers.provider.getBalance(bobTo)).to.equal(9n);
    await expectRejection(bob.claimAll(ethersTipJar(s.jarAddress, s.wallets[1]!), ETH, bobTo), TipInvalidError, "nothing");
    expect(await s.jar.balances(ETH, bob.address)).to.equal(0n);
  });

  it("refuses a tally signed by someone else, for another budget, or with a wrong total", async () => {
    const s = await setUp();
    const [alice] = s.creators as [Creator];
    const [a, b] = s.budgets as [(typeof s.budgets)[0], (typeof s.budgets)[0]];
    const tip = await b.donor.tip(alice.address, 5n);
    await expectRejection(alice.acceptTip(a.config, { ...tip.signed, budgetId: budgetId(a.config) }), TallySignatureError, "not signed");
    await expectRejection(alice.acceptTip(a.config, tip.signed), TallySignatureError, "not for this budget");
    await expectRejection(alice.acceptTip(b.config, { ...tip.signed, total: 6n }), TallySignatureError);
    await expectRejection(alice.acceptTip(b.config, { ...tip.signed, signature: "0x00" }), TallySignatureError);
    expect(await alice.holdings(ETH)).to.deep.equal({ held: 0n, claimable: 0n, budgets: 0 });
  });

  it("refuses a forked tally, a tally with nothing new for it, an unfunded one, and too much unsettled", async () => {
    const s = await setUp();
    const [alice, bob] = s.creators as [Creator, Creator];
    const [a] = s.budgets as [(typeof s.budgets)[0]];
    const donorKey = privateKeyToAccount(key("a1"));
    const sign = async (tally: ReturnType<typeof addTip>) => ({
      budgetId: budgetId(a.config), tally, total: tallyTotal(tally),
      signature: await donorKey.signTypedData(tallyTypedData(s.domain, budgetId(a.config), tally)),
    });
    const empty = { creators: [], amounts: [] };
    await alice.acceptTip(a.config, await sign(addTip(addTip(empty, bob.address, 4n), alice.address, 5n)));
    // The donor signs a second history where Bob was never tipped: Alice refuses it.
    await expectRejection(alice.acceptTip(a.config, await sign(addTip(empty, alice.address, 9n))), TallyForkError);
    // A tip to Bob only: nothing new for Alice.
    await expectRejection(
      alice.acceptTip(a.config, await sign(addTip(addTip(addTip(empty, bob.address, 5n), alice.address, 5n), bob.address, 0n))),
      TipInvalidError,
    );
    // Above the deposit on-chain.
    await expectRejection(
      alice.acceptTip(a.config, await sign(addTip(addTip(empty, bob.address, 4n), alice.address, 5_000n))),
      TallyUnfundedError,
    );
    const careful = new Creator({ signer: privateKeyToAccount(key("c1")), domain: s.domain, chain: s.reader, maxUnsettled: 10n });
    await careful.acceptTip(a.config, await sign(addTip(empty, alice.address, 10n)));
    await expectRejection(careful.acceptTip(a.config, await sign(addTip(empty, alice.address, 11n))), UnsettledLimitError);
    expect(await alice.holdings(ETH)).to.deep.equal({ held: 0n, claimable: 5n, budgets: 1 });
  });

  it("refuses tips on a budget that is closing", async () => {
    const s = await setUp();
    const [alice] = s.creators as [Creator];
    const [a] = s.budgets as [(typeof s.budgets)[0]];
    const donorWallet = new ethers.Wallet(key("a1"), ethers.provider);
    await networkHelpers.setBalance(donorWallet.address, 10n ** 18n);
    await (await s.jar.connect(donorWallet).requestClose(a.config)).wait();
    const tip = await a.donor.tip(alice.address, 1n);
    await expectRejection(alice.acceptTip(a.config, tip.signed), TallyUnfundedError, "not open");
  });
});
