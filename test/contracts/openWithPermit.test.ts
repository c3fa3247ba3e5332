import { expect } from "chai";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import {
  DEPOSIT,
  Status,
  deploy,
  ethers,
  expectBalanceChanges,
  expectChannel,
  expectSolvent,
  makeConfig,
  networkHelpers,
  type Fixture,
} from "./helpers/fixtures.ts";

/** A funder that holds tokens and has approved nothing, so only the permit can let the deposit through. */
async function permitFunder(f: Fixture): Promise<HardhatEthersSigner> {
  const funder = (await ethers.getSigners())[5];
  await f.token.mint(funder.address, DEPOSIT * 10n);
  return funder;
}

async function signPermit(f: Fixture, owner: HardhatEthersSigner, value: bigint, deadline: bigint) {
  const nonce = await f.token.nonces(owner.address);
  const signature = await owner.signTypedData(
    { name: await f.token.name(), version: "1", chainId: f.chainId, verifyingContract: f.tokenAddress },
    {
      Permit: [
        { name: "owner", type: "address" },
        { name: "spender", type: "address" },
        { name: "value", type: "uint256" },
        { name: "nonce", type: "uint256" },
        { name: "deadline", type: "uint256" },
      ],
    },
    { owner: owner.address, spender: f.channelsAddress, value, nonce, deadline },
  );
  return ethers.Signature.from(signature);
}

describe("PaymentChannels.openWithPermit", () => {
  it("approves and deposits in one transaction, and emits ChannelOpened", async () => {
    const f = await deploy();
    const asset = f.asset("ERC-20");
    const funder = await permitFunder(f);
    const config = makeConfig(f, asset, { payer: funder.address });
    const id = await f.channels.channelId(config);
    const deadline = BigInt(await networkHelpers.time.latest()) + 600n;
    const { v, r, s } = await signPermit(f, funder, DEPOSIT, deadline);
    const tx = await expectBalanceChanges(
      asset,
      () => f.channels.connect(funder).openWithPermit(config, DEPOSIT, deadline, v, r, s),
      [
        ["payer", funder.address, -DEPOSIT],
        ["payee", f.payee.address, 0n],
        ["contract", f.channelsAddress, DEPOSIT],
      ],
    );
    await expect(tx)
      .to.emit(f.channels, "ChannelOpened")
      .withArgs(id, funder.address, f.payee.address, f.tokenAddress, config.signer, config.closeDelay, config.salt, DEPOSIT);
    await expectChannel(f, id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
    expect(await f.token.allowance(funder.address, f.channelsAddress)).to.equal(0n);
    await expectSolvent(f, asset, [id], []);
  });

  it("still opens when someone front-ran the permit (the allowance is already there)", async () => {
    const f = await deploy();
    const asset = f.asset("ERC-20");
    const funder = await permitFunder(f);
    const config = makeConfig(f, asset, { payer: funder.address });
    const deadline = BigInt(await networkHelpers.time.latest()) + 600n;
    const { v, r, s } = await signPermit(f, funder, DEPOSIT, deadline);
    // The front-runner submits the same permit first: the channel's own permit call will now fail.
    await f.token.connect(f.other).permit(funder.address, f.channelsAddress, DEPOSIT, deadline, v, r, s);
    await expectBalanceChanges(
      asset,
      () => f.channels.connect(funder).openWithPermit(config, DEPOSIT, deadline, v, r, s),
      [
        ["payer", funder.address, -DEPOSIT],
        ["contract", f.channelsAddress, DEPOSIT],
      ],
    );
    await expectChannel(f, await f.channels.channelId(config), { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
  });

  it("reverts ERC20InsufficientAllowance when the permit is invalid and nothing was approved", async () => {
    const f = await deploy();
    const asset = f.asset("ERC-20");
    const funder = await permitFunder(f);
    const config = makeConfig(f, asset, { payer: funder.address });
    const deadline = BigInt(await networkHelpers.time.latest()) + 600n;
    // Signed for a smaller value than the deposit, so the permit's signature check fails.
    const { v, r, s } = await signPermit(f, funder, DEPOSIT - 1n, deadline);
    await expect(f.channels.connect(funder).openWithPermit(config, DEPOSIT, deadline, v, r, s))
      .to.be.revertedWithCustomError(f.token, "ERC20InsufficientAllowance")
      .withArgs(f.channelsAddress, 0n, DEPOSIT);
  });

  it("reverts ChannelConfigInvalid for an ETH config (no token to permit)", async () => {
    const f = await deploy();
    const config = makeConfig(f, f.asset("ETH"));
    await expect(
      f.channels.connect(f.payer).openWithPermit(config, 0n, 0n, 27, ethers.ZeroHash, ethers.ZeroHash),
    ).to.be.revertedWithCustomError(f.channels, "ChannelConfigInvalid");
  });

  it("reverts ChannelExists for an id that already exists", async () => {
    const f = await deploy();
    const config = makeConfig(f, f.asset("ERC-20"));
    await f.channels.connect(f.payer).open(config, DEPOSIT);
    await expect(
      f.channels.connect(f.payer).openWithPermit(config, DEPOSIT, 0n, 27, ethers.ZeroHash, ethers.ZeroHash),
    )
      .to.be.revertedWithCustomError(f.channels, "ChannelExists")
      .withArgs(await f.channels.channelId(config));
  });
});
