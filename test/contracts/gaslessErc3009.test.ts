// openWithAuthorization and topUpWithAuthorization: the payer signs an ERC-3009 ReceiveWithAuthorization once;
// a relayer submits it and pays the gas.
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
  networkHelpers,
  type BalanceChange,
} from "./helpers/fixtures.ts";
import { deployGasless, signAuthorization, type GaslessFixture } from "./helpers/gasless.ts";
import { depositNonce } from "../../src/gasless.ts";
import type { Hex } from "../../src/channel.ts";

function usdcParties(f: GaslessFixture, payer: bigint, relayer: bigint, contract: bigint): BalanceChange[] {
  return [
    ["payer", f.payer.address, payer],
    ["relayer", f.relayer.address, relayer],
    ["contract", f.channelsAddress, contract],
  ];
}

async function openByAuthorization(f: GaslessFixture, amount = DEPOSIT, salt = ethers.ZeroHash) {
  const config = makeConfig(f, f.usdcAsset, { salt });
  const id = channelIdOf(config);
  const { signature, validAfter, validBefore } = await signAuthorization(f, id, amount);
  await f.channels
    .connect(f.relayer)
    .openWithAuthorization(config, amount, validAfter, validBefore, signature.v, signature.r, signature.s);
  return { config, id };
}

describe("PaymentChannels gasless deposits through ERC-3009", () => {
  describe("openWithAuthorization", () => {
    it("opens exactly the signed channel with the signed amount, submitted by a relayer who pays nothing but gas", async () => {
      const f = await deployGasless();
      const config = makeConfig(f, f.usdcAsset);
      const id = channelIdOf(config);
      const { signature, validAfter, validBefore, nonce } = await signAuthorization(f, id, DEPOSIT);
      const tx = await expectBalanceChanges(
        f.usdcAsset,
        () =>
          f.channels
            .connect(f.relayer)
            .openWithAuthorization(config, DEPOSIT, validAfter, validBefore, signature.v, signature.r, signature.s),
        usdcParties(f, -DEPOSIT, 0n, DEPOSIT),
      );
      await expect(tx)
        .to.emit(f.channels, "ChannelOpened")
        .withArgs(id, config.payer, config.payee, config.token, config.signer, config.closeDelay, config.salt, DEPOSIT);
      await expectChannel(f, id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
      expect(nonce).to.equal(await f.channels.depositNonce(id, DEPOSIT, ethers.ZeroHash));
      expect(await f.usdc.authorizationState(f.payer.address, nonce)).to.equal(true);
      await expectSolvent(f, f.usdcAsset, [id], []);
    });

    it("the SDK's depositNonce equals the contract's for any channel, amount and salt", async () => {
      const f = await deployGasless();
      for (const [id, amount, salt] of [
        [ethers.id("a"), 1n, ethers.ZeroHash],
        [ethers.id("b"), (1n << 256n) - 1n, ethers.id("salt")],
      ] as const) {
        expect(depositNonce(id as Hex, amount, salt as Hex)).to.equal(await f.channels.depositNonce(id, amount, salt));
      }
    });

    it("cannot be replayed: the same authorization again reverts ChannelExists and moves nothing", async () => {
      const f = await deployGasless();
      const config = makeConfig(f, f.usdcAsset);
      const id = channelIdOf(config);
      const { signature, validAfter, validBefore } = await signAuthorization(f, id, DEPOSIT);
      const send = () =>
        f.channels
          .connect(f.relayer)
          .openWithAuthorization(config, DEPOSIT, validAfter, validBefore, signature.v, signature.r, signature.s);
      await send();
      const before = await f.usdc.balanceOf(f.payer.address);
      await expect(send()).to.be.revertedWithCustomError(f.channels, "ChannelExists").withArgs(id);
      expect(await f.usdc.balanceOf(f.payer.address)).to.equal(before);
    });

    it("reverts in the token when the authorization is expired or not yet valid, and opens nothing", async () => {
      const f = await deployGasless();
      const config = makeConfig(f, f.usdcAsset);
      const id = channelIdOf(config);
      const now = BigInt(await networkHelpers.time.latest());
      for (const [validAfter, validBefore, error] of [
        [0n, now, "AuthorizationExpired"],
        [now + 1000n, now + 2000n, "AuthorizationNotYetValid"],
      ] as const) {
        const { signature } = await signAuthorization(f, id, DEPOSIT, { validAfter, validBefore });
        await expect(
          f.channels
            .connect(f.relayer)
            .openWithAuthorization(config, DEPOSIT, validAfter, validBefore, signature.v, signature.r, signature.s),
        ).to.be.revertedWithCustomError(f.usdc, error);
        await expectChannel(f, id, { deposit: 0n, claimed: 0n, status: Status.None });
      }
    });

    it("refuses ETH and a token without code with ChannelConfigInvalid", async () => {
      const f = await deployGasless();
      for (const token of [ethers.ZeroAddress, f.other.address]) {
        const config = makeConfig(f, f.usdcAsset, { token });
        const { signature, validAfter, validBefore } = await signAuthorization(f, channelIdOf(config), DEPOSIT);
        await expect(
          f.channels
            .connect(f.relayer)
            .openWithAuthorization(config, DEPOSIT, validAfter, validBefore, signature.v, signature.r, signature.s),
        ).to.be.revertedWithCustomError(f.channels, "ChannelConfigInvalid");
      }
    });

    it("refuses a deposit above MAX_DEPOSIT with DepositTooLarge", async () => {
      const f = await deployGasless();
      const huge = 1n << 104n;
      await f.usdc.mint(f.payer.address, huge);
      const config = makeConfig(f, f.usdcAsset);
      const { signature, validAfter, validBefore } = await signAuthorization(f, channelIdOf(config), huge);
      await expect(
        f.channels
          .connect(f.relayer)
          .openWithAuthorization(config, huge, validAfter, validBefore, signature.v, signature.r, signature.s),
      ).to.be.revertedWithCustomError(f.channels, "DepositTooLarge");
    });
  });

  describe("topUpWithAuthorization", () => {
    it("adds the signed amount to exactly the signed channel; ChannelToppedUp names the payer as funder", async () => {
      const f = await deployGasless();
      const { config, id } = await openByAuthorization(f);
      const salt = ethers.id("top-up 1");
      const { signature, validAfter, validBefore } = await signAuthorization(f, id, 500n, { salt: salt as Hex });
      const tx = await expectBalanceChanges(
        f.usdcAsset,
        () =>
          f.channels
            .connect(f.relayer)
            .topUpWithAuthorization(config, 500n, validAfter, validBefore, salt, signature.v, signature.r, signature.s),
        usdcParties(f, -500n, 0n, 500n),
      );
      await expect(tx).to.emit(f.channels, "ChannelToppedUp").withArgs(id, f.payer.address, 500n, DEPOSIT + 500n);
      await expectChannel(f, id, { deposit: DEPOSIT + 500n, claimed: 0n, status: Status.Open });
      await expectSolvent(f, f.usdcAsset, [id], []);
    });

    it("two top-ups of the same amount need two salts; a salt used once is spent", async () => {
      const f = await deployGasless();
      const { config, id } = await openByAuthorization(f);
      const salt = ethers.id("top-up");
      const first = await signAuthorization(f, id, 500n, { salt: salt as Hex });
      const send = (a: typeof first, s: string) =>
        f.channels
          .connect(f.relayer)
          .topUpWithAuthorization(config, 500n, a.validAfter, a.validBefore, s, a.signature.v, a.signature.r, a.signature.s);
      await send(first, salt);
      await expect(send(first, salt)).to.be.revertedWithCustomError(f.usdc, "AuthorizationUsedOrCanceled");
      const second = await signAuthorization(f, id, 500n, { salt: ethers.id("top-up 2") as Hex });
      await send(second, ethers.id("top-up 2"));
      await expectChannel(f, id, { deposit: DEPOSIT + 1000n, claimed: 0n, status: Status.Open });
    });

    it("reverts ChannelClosing once the payer asked to close, and ChannelNotOpen for a channel never opened", async () => {
      const f = await deployGasless();
      const { config, id } = await openByAuthorization(f);
      await f.channels.connect(f.payer).requestClose(config);
      const salt = ethers.id("late");
      const late = await signAuthorization(f, id, 500n, { salt: salt as Hex });
      await expect(
        f.channels
          .connect(f.relayer)
          .topUpWithAuthorization(config, 500n, late.validAfter, late.validBefore, salt, late.signature.v, late.signature.r, late.signature.s),
      ).to.be.revertedWithCustomError(f.channels, "ChannelClosing");
      const never = makeConfig(f, f.usdcAsset, { salt: ethers.id("never") });
      const neverId = channelIdOf(never);
      const auth = await signAuthorization(f, neverId, 500n, { salt: salt as Hex });
      await expect(
        f.channels
          .connect(f.relayer)
          .topUpWithAuthorization(never, 500n, auth.validAfter, auth.validBefore, salt, auth.signature.v, auth.signature.r, auth.signature.s),
      )
        .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
        .withArgs(neverId, Status.None);
    });
  });
});
