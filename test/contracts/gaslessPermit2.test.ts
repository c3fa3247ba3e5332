// openWithPermit2 and topUpWithPermit2: the payer signs a Permit2 witness transfer once (witness
// ChannelDeposit(channelId)); a relayer submits it. Permit2 is built from its npm-shipped source and placed
// at its canonical address (scripts/lib/permit2.ts).
import { expect } from "chai";
import {
  DEPOSIT,
  Status,
  channelIdOf,
  ethers,
  expectBalanceChanges,
  expectChannel,
  expectSolvent,
  makeConfig,
  type BalanceChange,
} from "./helpers/fixtures.ts";
import { deployGasless, permit2, signPermit2, PERMIT2_ADDRESS, type GaslessFixture } from "./helpers/gasless.ts";

function tokenParties(f: GaslessFixture, payer: bigint, relayer: bigint, contract: bigint): BalanceChange[] {
  return [
    ["payer", f.payer.address, payer],
    ["relayer", f.relayer.address, relayer],
    ["contract", f.channelsAddress, contract],
  ];
}

describe("PaymentChannels gasless deposits through Permit2", () => {
  it("Permit2 sits at its canonical address with the domain separator of that address", async () => {
    const f = await deployGasless();
    expect(await f.channels.PERMIT2()).to.equal(PERMIT2_ADDRESS);
    const expected = ethers.TypedDataEncoder.hashDomain({ name: "Permit2", chainId: f.chainId, verifyingContract: PERMIT2_ADDRESS });
    expect(await permit2().DOMAIN_SEPARATOR()).to.equal(expected);
  });

  describe("openWithPermit2", () => {
    it("opens exactly the signed channel, submitted by a relayer, and burns the payer's Permit2 nonce", async () => {
      const f = await deployGasless();
      const asset = f.asset("ERC-20");
      const config = makeConfig(f, asset);
      const id = channelIdOf(config);
      const { signature, nonce, deadline } = await signPermit2(f, id, DEPOSIT, { nonce: 7n });
      const tx = await expectBalanceChanges(
        asset,
        () => f.channels.connect(f.relayer).openWithPermit2(config, DEPOSIT, nonce, deadline, signature),
        tokenParties(f, -DEPOSIT, 0n, DEPOSIT),
      );
      await expect(tx)
        .to.emit(f.channels, "ChannelOpened")
        .withArgs(id, config.payer, config.payee, config.token, config.signer, config.closeDelay, config.salt, DEPOSIT);
      await expectChannel(f, id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
      expect((await permit2().nonceBitmap(f.payer.address, 0n)) & (1n << 7n)).to.equal(1n << 7n);
      await expectSolvent(f, asset, [id], []);
    });

    it("cannot be replayed, and a signature past its deadline opens nothing", async () => {
      const f = await deployGasless();
      const asset = f.asset("ERC-20");
      const config = makeConfig(f, asset);
      const id = channelIdOf(config);
      const permit = await signPermit2(f, id, DEPOSIT);
      await f.channels.connect(f.relayer).openWithPermit2(config, DEPOSIT, permit.nonce, permit.deadline, permit.signature);
      await expect(
        f.channels.connect(f.relayer).openWithPermit2(config, DEPOSIT, permit.nonce, permit.deadline, permit.signature),
      ).to.be.revertedWithCustomError(f.channels, "ChannelExists");
      const other = makeConfig(f, asset, { salt: ethers.id("late") });
      const late = await signPermit2(f, channelIdOf(other), DEPOSIT, { deadline: 1n });
      await expect(f.channels.connect(f.relayer).openWithPermit2(other, DEPOSIT, late.nonce, late.deadline, late.signature))
        .to.be.revertedWithCustomError(permit2(), "SignatureExpired")
        .withArgs(1n);
      await expectChannel(f, channelIdOf(other), { deposit: 0n, claimed: 0n, status: Status.None });
    });

    it("refuses ETH with ChannelConfigInvalid", async () => {
      const f = await deployGasless();
      const config = makeConfig(f, f.asset("ETH"));
      const permit = await signPermit2(f, channelIdOf(config), DEPOSIT, { token: ethers.ZeroAddress });
      await expect(
        f.channels.connect(f.relayer).openWithPermit2(config, DEPOSIT, permit.nonce, permit.deadline, permit.signature),
      ).to.be.revertedWithCustomError(f.channels, "ChannelConfigInvalid");
    });
  });

  describe("topUpWithPermit2", () => {
    it("adds the signed amount to exactly the signed channel; ChannelToppedUp names the payer as funder", async () => {
      const f = await deployGasless();
      const asset = f.asset("ERC-20");
      const config = makeConfig(f, asset);
      const id = channelIdOf(config);
      const opened = await signPermit2(f, id, DEPOSIT);
      await f.channels.connect(f.relayer).openWithPermit2(config, DEPOSIT, opened.nonce, opened.deadline, opened.signature);
      const topUp = await signPermit2(f, id, 300n);
      const tx = await expectBalanceChanges(
        asset,
        () => f.channels.connect(f.relayer).topUpWithPermit2(config, 300n, topUp.nonce, topUp.deadline, topUp.signature),
        tokenParties(f, -300n, 0n, 300n),
      );
      await expect(tx).to.emit(f.channels, "ChannelToppedUp").withArgs(id, f.payer.address, 300n, DEPOSIT + 300n);
      await expectChannel(f, id, { deposit: DEPOSIT + 300n, claimed: 0n, status: Status.Open });
      await expect(
        f.channels.connect(f.relayer).topUpWithPermit2(config, 300n, topUp.nonce, topUp.deadline, topUp.signature),
      ).to.be.revertedWithCustomError(permit2(), "InvalidNonce");
      await expectChannel(f, id, { deposit: DEPOSIT + 300n, claimed: 0n, status: Status.Open });
    });

    it("reverts ChannelClosing once the payer asked to close", async () => {
      const f = await deployGasless();
      const asset = f.asset("ERC-20");
      const config = makeConfig(f, asset);
      const id = channelIdOf(config);
      const opened = await signPermit2(f, id, DEPOSIT);
      await f.channels.connect(f.relayer).openWithPermit2(config, DEPOSIT, opened.nonce, opened.deadline, opened.signature);
      await f.channels.connect(f.payer).requestClose(config);
      const topUp = await signPermit2(f, id, 300n);
      await expect(
        f.channels.connect(f.relayer).topUpWithPermit2(config, 300n, topUp.nonce, topUp.deadline, topUp.signature),
      ).to.be.revertedWithCustomError(f.channels, "ChannelClosing");
    });
  });
});
