import { expect } from "chai";
import {
  ASSET_KINDS,
  DEPOSIT,
  ETH,
  MAX_CLOSE_DELAY,
  Status,
  channelIdOf,
  deploy,
  ethers,
  expectBalanceChanges,
  expectChannel,
  expectSolvent,
  makeConfig,
  openChannel,
  parties,
} from "./helpers/fixtures.ts";

describe("PaymentChannels.open", () => {
  for (const kind of ASSET_KINDS) {
    describe(`${kind} channel`, () => {
      it("takes the deposit from the caller, stores the channel and emits the full config", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const config = makeConfig(f, asset, { signer: f.sessionKey.address, salt: ethers.id("salt") });
        const id = channelIdOf(config);
        const tx = await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payer).open(config, DEPOSIT, asset.value(DEPOSIT)),
          parties(f, -DEPOSIT, 0n, DEPOSIT),
        );
        await expect(tx)
          .to.emit(f.channels, "ChannelOpened")
          .withArgs(id, config.payer, config.payee, config.token, config.signer, config.closeDelay, config.salt, DEPOSIT);
        await expectChannel(f, id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
        await expectSolvent(f, asset, [id], []);
      });

      it("returns the channel id (staticCall) equal to channelId(config)", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const config = makeConfig(f, asset);
        const returned = await f.channels.connect(f.payer).open.staticCall(config, DEPOSIT, asset.value(DEPOSIT));
        expect(returned).to.equal(channelIdOf(config));
        expect(await f.channels.channelId(config)).to.equal(returned);
      });

      it("lets a third party fund the channel; the config's payer stays the refund address", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const config = makeConfig(f, asset);
        await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.other).open(config, DEPOSIT, asset.value(DEPOSIT)),
          [...parties(f, 0n, 0n, DEPOSIT), ["funder", f.other.address, -DEPOSIT]],
        );
        await expectChannel(f, channelIdOf(config), { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
      });

      it("accepts a zero deposit and the longest close delay", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { id } = await openChannel(f, asset, { deposit: 0n, closeDelay: MAX_CLOSE_DELAY });
        await expectChannel(f, id, { deposit: 0n, claimed: 0n, status: Status.Open });
      });

      it("reverts ChannelExists when the id is already open", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        await expect(f.channels.connect(f.payer).open(config, DEPOSIT, asset.value(DEPOSIT)))
          .to.be.revertedWithCustomError(f.channels, "ChannelExists")
          .withArgs(id);
      });

      it("reverts ChannelConfigInvalid for a zero payer, payee or signer, or a close delay above the maximum", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const invalid = [
          { payer: ETH },
          { payee: ETH },
          { signer: ETH },
          { closeDelay: MAX_CLOSE_DELAY + 1n },
        ];
        for (const overrides of invalid) {
          const config = makeConfig(f, asset, overrides);
          await expect(
            f.channels.connect(f.payer).open(config, DEPOSIT, asset.value(DEPOSIT)),
          ).to.be.revertedWithCustomError(f.channels, "ChannelConfigInvalid");
        }
        expect(await asset.balanceOf(f.channelsAddress)).to.equal(0n);
      });
    });
  }

  describe("ETH value checks", () => {
    it("reverts EthValueMismatch when msg.value differs from the amount of an ETH channel", async () => {
      const f = await deploy();
      const config = makeConfig(f, f.asset("ETH"));
      await expect(f.channels.connect(f.payer).open(config, DEPOSIT, { value: DEPOSIT - 1n }))
        .to.be.revertedWithCustomError(f.channels, "EthValueMismatch")
        .withArgs(DEPOSIT - 1n, DEPOSIT);
    });

    it("reverts EthValueMismatch when ETH is sent to open a token channel", async () => {
      const f = await deploy();
      const config = makeConfig(f, f.asset("ERC-20"));
      await expect(f.channels.connect(f.payer).open(config, DEPOSIT, { value: 1n }))
        .to.be.revertedWithCustomError(f.channels, "EthValueMismatch")
        .withArgs(1n, 0n);
    });
  });

  describe("token pulls", () => {
    it("reverts with ERC20InsufficientAllowance when the funder has not approved", async () => {
      const f = await deploy();
      const config = makeConfig(f, f.asset("ERC-20"));
      await f.token.mint(f.payee.address, DEPOSIT);
      await expect(f.channels.connect(f.payee).open(config, DEPOSIT))
        .to.be.revertedWithCustomError(f.token, "ERC20InsufficientAllowance")
        .withArgs(f.channelsAddress, 0n, DEPOSIT);
    });

    it("reverts ChannelConfigInvalid for a token address without code", async () => {
      const f = await deploy();
      const config = makeConfig(f, f.asset("ERC-20"), { token: f.other.address });
      await expect(f.channels.connect(f.payer).open(config, DEPOSIT)).to.be.revertedWithCustomError(
        f.channels,
        "ChannelConfigInvalid",
      );
    });
  });
});
