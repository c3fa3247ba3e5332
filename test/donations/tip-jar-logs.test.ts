// ethersTipJar reads a settled tally back from its TallySettled log the way the channel adapters read
// theirs: from the TipJar's deployment block, in windows of at most maxBlockRange blocks, newest first,
// so a public RPC provider that refuses wide log ranges still answers, with a bounded number of calls.
import { expect } from "chai";
import { BrowserProvider, type Eip1193Provider } from "ethers";
import { network } from "hardhat";
import { privateKeyToAccount } from "viem/accounts";
import type { Address, Hex } from "../../src/channel.ts";
import { Creator, Donor, budgetId, ethersTipJar, type BudgetConfig } from "../../src/donations/index.ts";
import { rangeLimited } from "../chain/range-limited.ts";

const ETH = "0x0000000000000000000000000000000000000000" as Address;
const key = (byte: string): Hex => `0x${byte.repeat(32)}` as Hex;
const MAX_RANGE = 10n;

describe("donations: ethersTipJar log queries in windows", function () {
  this.timeout(60_000);

  it("finds the settled tally from the deployment block in windows of maxBlockRange, and refuses bad options", async () => {
    const { ethers, networkHelpers, provider } = await network.create();
    const [funder] = await ethers.getSigners();
    await provider.request({ method: "hardhat_mine", params: ["0x20"] }); // blocks before the deployment
    const jar = await ethers.deployContract("TipJar");
    const jarAddress = (await jar.getAddress()) as Address;
    const deploymentBlock = BigInt((await jar.deploymentTransaction()?.wait())?.blockNumber ?? 0);
    const { chainId } = await ethers.provider.getNetwork();
    const domain = { chainId, verifyingContract: jarAddress };
    const donorAccount = privateKeyToAccount(key("a1"));
    const config: BudgetConfig = { donor: donorAccount.address, token: ETH, signer: donorAccount.address, closeDelay: 86_400n, salt: key("01") };
    await (await jar.connect(funder!).open(config, 1_000n, { value: 1_000n })).wait();
    const donor = new Donor({ signer: donorAccount, config, deposit: 1_000n, domain });
    const wallet = new ethers.Wallet(key("c1"), ethers.provider);
    await networkHelpers.setBalance(wallet.address, 10n ** 18n);
    const creator = new Creator({ signer: privateKeyToAccount(key("c1")), domain, chain: ethersTipJar(jarAddress, ethers.provider) });
    const tip = await donor.tip(creator.address, 25n);
    await creator.acceptTip(config, tip.signed);
    await provider.request({ method: "hardhat_mine", params: ["0x17"] });
    await creator.claimAll(ethersTipJar(jarAddress, wallet), ETH); // settles the tally on-chain
    const settledAt = BigInt(await ethers.provider.getBlockNumber());
    await provider.request({ method: "hardhat_mine", params: ["0x2d"] }); // the settlement is not in the newest window
    const head = BigInt(await ethers.provider.getBlockNumber());
    const id = budgetId(config);

    const limited = rangeLimited(provider, MAX_RANGE);
    const reader = (options?: { fromBlock?: bigint; maxBlockRange?: bigint }) => ethersTipJar(jarAddress, new BrowserProvider(limited.provider as Eip1193Provider), options);
    const hash = await reader().settledTallyHash(id);

    // From block 0 to latest in one call, as before: such a provider refuses it.
    const refused = await reader({ maxBlockRange: 10n ** 9n }).settledTally!(id, hash).then(() => undefined, (error: unknown) => error);
    expect(String(refused)).to.match(/limited to a 10 block range/);

    limited.ranges.length = 0;
    const windowed = reader({ fromBlock: deploymentBlock, maxBlockRange: MAX_RANGE });
    expect(await windowed.settledTally!(id, hash)).to.deep.equal(tip.signed.tally);
    // Newest first, stopping at the window holding the settlement.
    expect(BigInt(limited.ranges.length)).to.equal((head - settledAt) / MAX_RANGE + 1n);
    for (const [from, to] of limited.ranges) {
      expect(to - from + 1n).to.be.at.most(MAX_RANGE);
      expect(from).to.be.at.least(deploymentBlock);
    }

    // A hash never settled: every window from the deployment block to the head once, and no more. (A new
    // provider: ethers answers a request identical to one of the last 250 ms from its own cache.)
    limited.ranges.length = 0;
    expect(await reader({ fromBlock: deploymentBlock, maxBlockRange: MAX_RANGE }).settledTally!(id, key("ee"))).to.equal(undefined);
    expect(BigInt(limited.ranges.length)).to.equal((head - deploymentBlock) / MAX_RANGE + 1n);
    expect(limited.ranges.at(-1)?.[0]).to.equal(deploymentBlock);

    for (const options of [{ maxBlockRange: 0n }, { fromBlock: -1n }, { maxBlockRange: 5 as unknown as bigint }]) {
      expect(() => ethersTipJar(jarAddress, ethers.provider, options)).to.throw().with.property("code", "INVALID_ARGUMENT");
    }
  });
});
