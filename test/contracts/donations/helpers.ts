// The TipJar fixture: a deployment, funded donors and tally signing as the SDK does it.
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { Wallet } from "ethers";
import type { TestToken, TipJar } from "../../../typechain-types/index.ts";
import type { Address, Hex } from "../../../src/channel.ts";
import { budgetId, tallyTotal, tallyTypedData, type BudgetConfig, type Tally, type TipJarDomain } from "../../../src/donations/index.ts";
import { ETH, ethers, networkHelpers } from "../helpers/fixtures.ts";

export const CLOSE_DELAY = 3600n;
export const BUDGET = 1_000_000n;

export interface JarFixture {
  jar: TipJar;
  jarAddress: Address;
  token: TestToken;
  tokenAddress: Address;
  domain: TipJarDomain;
  donor: HardhatEthersSigner;
  other: HardhatEthersSigner;
  creators: Address[];
}

async function jarFixture(): Promise<JarFixture> {
  const signers = await ethers.getSigners();
  const [donor, other] = [signers[1]!, signers[3]!];
  const jar = await ethers.deployContract("TipJar");
  const token = await ethers.deployContract("TestToken");
  const jarAddress = (await jar.getAddress()) as Address;
  const tokenAddress = (await token.getAddress()) as Address;
  for (const account of [donor, other]) {
    await token.mint(account.address, 10n ** 15n);
    await token.connect(account).approve(jarAddress, ethers.MaxUint256);
  }
  const { chainId } = await ethers.provider.getNetwork();
  return {
    jar, jarAddress, token, tokenAddress, donor, other,
    domain: { chainId, verifyingContract: jarAddress },
    creators: signers.slice(10, 16).map((signer) => signer.address as Address),
  };
}

export function setUpJar(): Promise<JarFixture> {
  return networkHelpers.loadFixture(jarFixture);
}

let saltCounter = 0;
export function budgetConfig(j: JarFixture, token: Address = ETH as Address, overrides: Partial<BudgetConfig> = {}): BudgetConfig {
  saltCounter += 1;
  return {
    donor: j.donor.address as Address,
    token,
    signer: j.donor.address as Address,
    closeDelay: CLOSE_DELAY,
    salt: ethers.id(`budget ${saltCounter}`) as Hex,
    ...overrides,
  };
}

export async function openBudget(j: JarFixture, config: BudgetConfig, amount = BUDGET, from = j.donor) {
  const value = config.token === ETH ? amount : 0n;
  await (await j.jar.connect(from).open(config, amount, { value })).wait();
  return budgetId(config);
}

export async function signTally(j: JarFixture, signer: HardhatEthersSigner | Wallet, id: Hex, tally: Tally): Promise<Hex> {
  const typed = tallyTypedData(j.domain, id, tally);
  return (await signer.signTypedData(typed.domain, { Tally: [...typed.types.Tally] }, typed.message)) as Hex;
}

export function tally(creators: Address[], amounts: bigint[]): Tally {
  return { creators, amounts };
}

export async function settlement(j: JarFixture, config: BudgetConfig, settled: Tally, next: Tally, signer = j.donor) {
  return { config, settledTally: settled, tally: next, signature: await signTally(j, signer, budgetId(config), next) };
}

export { tallyTotal };
