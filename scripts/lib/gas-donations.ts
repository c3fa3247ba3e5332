// Gas of the donation contracts, for `npm run bench:gas` (which calls `donationGas` and puts these rows in the
// same table and README block). Receipt gasUsed of whole transactions, 21,000 base included, in the steady
// state of a running deployment: every recipient and creator account already exists (holds ETH), and a
// creator's TipJar balance is non-zero before a settlement (it collects from time to time, not after every
// tip; the first settlement after a collection writes a fresh slot, ~17,000 more for that creator).
//
// Rows:
// - splitClaimPerRecipientN: a SplitPayee claim of one voucher on an N-recipient ETH list, divided by N;
//   splitClaimErc20PerRecipient100 the same in an ERC-20.
// - splitMaxRecipientsIn30M: the largest ETH list whose claim fits a 30M-gas block, from the measured
//   fixed cost and per-recipient slope between 100 and 1,000 recipients (the value transfer and the cold
//   account access of each recipient are what bound it); splitMaxRecipientsPerTxCap the same under the
//   EIP-7825 cap of 2^24 gas per transaction, the tighter bound where it applies.
// - tipJarOpen: open a budget in ETH. tipJarSettlePerCreator100: one settlement of a 100-creator tally on a
//   budget that already settled those 100 (the calldata carries both tallies), divided by 100.
//   tipJarSettleManyPerBudget100: 100 budgets with a 1-creator tally each, settled in one transaction,
//   divided by 100. tipJarCollect: a creator takes its balance.
import type { NetworkConnection } from "hardhat/types/network";
import type { ContractTransactionResponse } from "ethers";
import type { PaymentChannels, SplitPayee, TestToken, TipJar } from "../../typechain-types/index.ts";
import { EMPTY_TALLY, addTip, budgetId, splitSalt, tallyTypedData, type BudgetConfig, type SplitList, type Tally } from "../../src/donations/index.ts";
import type { Address, Hex } from "../../src/channel.ts";

const BLOCK_GAS = 30_000_000n;
/** EIP-7825 (Fusaka) caps one transaction at 2^24 gas, below a block; Hardhat enforces it. */
const TX_GAS_CAP = 16_777_216n;
const ETH = "0x0000000000000000000000000000000000000000" as Address;

export async function donationGas(connection: NetworkConnection, channelsAddress: string): Promise<Record<string, bigint>> {
  const { ethers, networkHelpers } = connection;
  const [, payer, , relayer] = await ethers.getSigners();
  const channels = (await ethers.getContractAt("PaymentChannels", channelsAddress)) as unknown as PaymentChannels;
  const split = (await ethers.deployContract("SplitPayee", [channelsAddress])) as unknown as SplitPayee;
  const splitAddress = (await split.getAddress()) as Address;
  const jar = (await ethers.deployContract("TipJar")) as unknown as TipJar;
  const jarAddress = (await jar.getAddress()) as Address;
  const token = (await ethers.deployContract("TestToken")) as unknown as TestToken;
  const tokenAddress = (await token.getAddress()) as Address;
  const { chainId } = await ethers.provider.getNetwork();
  await (await token.mint(payer!.address, 10n ** 24n)).wait();
  await (await token.connect(payer!).approve(channelsAddress, ethers.MaxUint256)).wait();

  const gasOf = async (sent: Promise<ContractTransactionResponse>): Promise<bigint> => (await (await sent).wait())!.gasUsed;
  const accounts = async (count: number, label: string, tokenBalance = false): Promise<Address[]> => {
    const list: Address[] = [];
    for (let i = 0; i < count; i++) {
      const account = ethers.getAddress(ethers.id(`${label} ${i}`).slice(0, 42)) as Address;
      await networkHelpers.setBalance(account, 1n);
      if (tokenBalance) await (await token.mint(account, 1n)).wait();
      list.push(account);
    }
    return list;
  };

  let nonce = 0;
  async function splitClaim(recipients: Address[], tokenOf: Address): Promise<bigint> {
    const list: SplitList = { recipients, weights: recipients.map((_, i) => BigInt(1 + (i % 7))), nonce: ethers.toBeHex(++nonce, 32) as Hex };
    const deposit = 10n ** 18n;
    const config = { payer: payer!.address, payee: splitAddress, token: tokenOf, signer: payer!.address, closeDelay: 3600n, salt: splitSalt(list) };
    await (await channels.connect(payer!).open(config, deposit, { value: tokenOf === ETH ? deposit : 0n })).wait();
    const amount = deposit / 2n;
    const signature = await payer!.signTypedData(
      { name: "Trickle", version: "1", chainId, verifyingContract: channelsAddress },
      { Voucher: [{ name: "channelId", type: "bytes32" }, { name: "amount", type: "uint256" }] },
      { channelId: await channels.channelId(config), amount },
    );
    return gasOf(split.connect(relayer!).claim(config, amount, signature, list.recipients, list.weights, list.nonce));
  }

  const gas: Record<string, bigint> = {};
  const pool = await accounts(1_000, "split recipient", true);
  const claimGas = new Map<number, bigint>();
  for (const count of [2, 10, 100, 1_000]) {
    const used = await splitClaim(pool.slice(0, count), ETH);
    claimGas.set(count, used);
    gas[`splitClaimPerRecipient${count}`] = used / BigInt(count);
  }
  gas.splitClaimErc20PerRecipient100 = (await splitClaim(pool.slice(0, 100), tokenAddress)) / 100n;
  const slope = (claimGas.get(1_000)! - claimGas.get(100)!) / 900n;
  const fixed = claimGas.get(100)! - 100n * slope;
  gas.splitMaxRecipientsIn30M = (BLOCK_GAS - fixed) / slope;
  gas.splitMaxRecipientsPerTxCap = (TX_GAS_CAP - fixed) / slope;

  // Tip jar.
  const donor = payer!;
  const domain = { chainId, verifyingContract: jarAddress };
  const creators = pool.slice(0, 100);
  let salt = 0;
  const openBudget = async (): Promise<{ config: BudgetConfig; gas: bigint }> => {
    const config: BudgetConfig = { donor: donor.address as Address, token: ETH, signer: donor.address as Address, closeDelay: 86_400n, salt: ethers.toBeHex(++salt, 32) as Hex };
    return { config, gas: await gasOf(jar.connect(donor).open(config, 10n ** 18n, { value: 10n ** 18n })) };
  };
  const sign = async (config: BudgetConfig, tally: Tally): Promise<Hex> => {
    const typed = tallyTypedData(domain, budgetId(config), tally);
    return (await donor.signTypedData(typed.domain, { Tally: [...typed.types.Tally] }, typed.message)) as Hex;
  };
  const settlement = async (config: BudgetConfig, settledTally: Tally, tally: Tally) => ({ config, settledTally, tally, signature: await sign(config, tally) });

  const first = await openBudget();
  gas.tipJarOpen = first.gas;
  let tally = EMPTY_TALLY;
  for (const creator of creators) tally = addTip(tally, creator, 1_000n);
  // Every creator's balance becomes non-zero here: the steady state for the measured settlements.
  await (await jar.settle(await settlement(first.config, EMPTY_TALLY, tally))).wait();
  let next = tally;
  for (const creator of creators) next = addTip(next, creator, 7n);
  gas.tipJarSettlePerCreator100 = (await gasOf(jar.connect(relayer!).settle(await settlement(first.config, tally, next)))) / 100n;

  const batch = [];
  for (let i = 0; i < 100; i++) {
    const { config } = await openBudget();
    batch.push(await settlement(config, EMPTY_TALLY, addTip(EMPTY_TALLY, creators[i % 10]!, 5n)));
  }
  gas.tipJarSettleManyPerBudget100 = (await gasOf(jar.connect(relayer!).settleMany(batch))) / 100n;

  const creatorSigner = await ethers.getImpersonatedSigner(creators[0]!);
  await networkHelpers.setBalance(creators[0]!, 10n ** 18n);
  gas.tipJarCollect = await gasOf(jar.connect(creatorSigner).collect(ETH, creators[0]!));
  return gas;
}
