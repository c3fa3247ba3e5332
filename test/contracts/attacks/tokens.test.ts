// Money property 7 and odd tokens: fee-on-transfer deposits are credited with what arrived; a token that
// returns false is refused on deposit and credited on payout.
import { expect } from "chai";
import type { FalseReturningToken, FeeOnTransferToken } from "../../../typechain-types/index.ts";
import {
  DEPOSIT,
  Status,
  deploy,
  ethers,
  expectBalanceChanges,
  expectChannel,
  expectSolvent,
  makeConfig,
  openChannel,
  parties,
  signVoucher,
  type Asset,
  type Fixture,
} from "../helpers/fixtures.ts";

async function tokenAsset<T extends FeeOnTransferToken | FalseReturningToken>(
  f: Fixture,
  name: "FeeOnTransferToken" | "FalseReturningToken",
): Promise<{ token: T; asset: Asset }> {
  // The name decides the contract type; deployContract cannot infer it from a union of names.
  const token = (await ethers.deployContract(name)) as unknown as T;
  const address = await token.getAddress();
  await token.mint(f.payer.address, DEPOSIT * 10n);
  await token.connect(f.payer).approve(f.channelsAddress, ethers.MaxUint256);
  const asset: Asset = {
    kind: "ERC-20",
    token: address,
    balanceOf: (account) => token.balanceOf(account),
    value: () => ({ value: 0n }),
  };
  return { token, asset };
}

describe("attack: odd tokens", () => {
  describe("fee-on-transfer token (1% burnt per transfer)", () => {
    it("open and topUp credit the channel with what arrived, not with the amount sent", async () => {
      const f = await deploy();
      const { asset } = await tokenAsset<FeeOnTransferToken>(f, "FeeOnTransferToken");
      const config = makeConfig(f, asset);
      const id = await f.channels.channelId(config);
      const arrived = DEPOSIT - DEPOSIT / 100n;
      const tx = await expectBalanceChanges(
        asset,
        () => f.channels.connect(f.payer).open(config, DEPOSIT),
        parties(f, -DEPOSIT, 0n, arrived),
      );
      await expect(tx)
        .to.emit(f.channels, "ChannelOpened")
        .withArgs(id, config.payer, config.payee, config.token, config.signer, config.closeDelay, config.salt, arrived);
      await expect(f.channels.connect(f.payer).topUp(config, 1000n))
        .to.emit(f.channels, "ChannelToppedUp")
        .withArgs(id, f.payer.address, 990n, arrived + 990n);
      await expectChannel(f, id, { deposit: arrived + 990n, claimed: 0n, status: Status.Open });
      await expectSolvent(f, asset, [id], []);
    });

    it("a voucher above what arrived is refused (VoucherAmountTooHigh); the payee bears the outgoing fee", async () => {
      const f = await deploy();
      const { asset } = await tokenAsset<FeeOnTransferToken>(f, "FeeOnTransferToken");
      const { config, id } = await openChannel(f, asset);
      const arrived = DEPOSIT - DEPOSIT / 100n;
      await expect(f.channels.connect(f.payee).claim(config, DEPOSIT, await signVoucher(f, f.payer, id, DEPOSIT)))
        .to.be.revertedWithCustomError(f.channels, "VoucherAmountTooHigh")
        .withArgs(DEPOSIT, arrived);
      await expectBalanceChanges(
        asset,
        async () => f.channels.connect(f.payee).close(config, 10_000n, await signVoucher(f, f.payer, id, 10_000n)),
        parties(f, ((arrived - 10_000n) * 99n) / 100n, 9_900n, -arrived),
      );
      await expectSolvent(f, asset, [id], []);
    });
  });

  describe("token returning false", () => {
    it("transferFrom returning false refuses the deposit (SafeERC20FailedOperation)", async () => {
      const f = await deploy();
      const { token, asset } = await tokenAsset<FalseReturningToken>(f, "FalseReturningToken");
      await token.setFailures(false, true);
      const config = makeConfig(f, asset);
      await expect(f.channels.connect(f.payer).open(config, DEPOSIT))
        .to.be.revertedWithCustomError(f.channels, "SafeERC20FailedOperation")
        .withArgs(asset.token);
    });

    it("transfer returning false on a payout credits it; the other side is paid once the token works", async () => {
      const f = await deploy();
      const { token, asset } = await tokenAsset<FalseReturningToken>(f, "FalseReturningToken");
      const { config, id } = await openChannel(f, asset);
      await token.setFailures(true, false);
      const tx = await expectBalanceChanges(
        asset,
        async () => f.channels.connect(f.payee).close(config, 300n, await signVoucher(f, f.payer, id, 300n)),
        parties(f, 0n, 0n, 0n),
      );
      await expect(tx).to.emit(f.channels, "PayoutCredited").withArgs(asset.token, f.payee.address, 300n);
      await expect(tx).to.emit(f.channels, "PayoutCredited").withArgs(asset.token, f.payer.address, DEPOSIT - 300n);
      await expectSolvent(f, asset, [id], [f.payer.address, f.payee.address]);
      // While the token keeps failing, withdrawCredit reverts and the credit stays.
      await expect(f.channels.connect(f.payee).withdrawCredit(asset.token, f.payee.address))
        .to.be.revertedWithCustomError(f.channels, "SafeERC20FailedOperation")
        .withArgs(asset.token);
      await token.setFailures(false, false);
      await expectBalanceChanges(
        asset,
        () => f.channels.connect(f.payee).withdrawCredit(asset.token, f.payee.address),
        parties(f, 0n, 300n, -300n),
      );
      await expectSolvent(f, asset, [id], [f.payer.address, f.payee.address]);
    });
  });
});
