// Money property 6: a party that cannot receive (reverting or gas-burning ETH receiver, blocklisted token
// address) never blocks the other party; its share is credited and withdrawable to another address.
import { expect } from "chai";
import type { BlocklistToken } from "../../../typechain-types/index.ts";
import {
  DEPOSIT,
  ETH,
  claimEntry,
  deploy,
  ethers,
  expectBalanceChanges,
  expectSolvent,
  openChannel,
  signVoucher,
  type Asset,
  type Fixture,
} from "../helpers/fixtures.ts";
import { ReceiveMode, callFrom, deployReceiver } from "../helpers/accounts.ts";

async function blocklistAsset(f: Fixture): Promise<{ token: BlocklistToken; asset: Asset }> {
  const token = await ethers.deployContract("BlocklistToken");
  const address = await token.getAddress();
  for (const funder of [f.payer, f.other]) {
    await token.mint(funder.address, DEPOSIT * 10n);
    await token.connect(funder).approve(f.channelsAddress, ethers.MaxUint256);
  }
  const asset: Asset = {
    kind: "ERC-20",
    token: address,
    balanceOf: (account) => token.balanceOf(account),
    value: () => ({ value: 0n }),
  };
  return { token, asset };
}

describe("attack: a party that cannot receive", () => {
  for (const [name, mode] of [
    ["reverts", ReceiveMode.Revert],
    ["burns all gas", ReceiveMode.BurnGas],
  ] as const) {
    describe(`ETH receiver that ${name}`, () => {
      it("as payee: claim credits the payee's share instead of reverting; nothing is stranded", async () => {
        const f = await deploy();
        const asset = f.asset("ETH");
        const payee = await deployReceiver(mode);
        const payeeAddress = await payee.getAddress();
        const { config, id } = await openChannel(f, asset, { payee: payeeAddress });
        const tx = await expectBalanceChanges(
          asset,
          async () => callFrom(f, payee, "claim", [config, 300n, await signVoucher(f, f.payer, id, 300n)]),
          [
            ["payer", f.payer.address, 0n],
            ["payee", payeeAddress, 0n],
            ["contract", f.channelsAddress, 0n],
          ],
        );
        await expect(tx).to.emit(f.channels, "PayoutCredited").withArgs(ETH, payeeAddress, 300n);
        expect(await f.channels.credits(ETH, payeeAddress)).to.equal(300n);
        await expectSolvent(f, asset, [id], [payeeAddress]);
      });

      it("as payee: close still refunds the payer; the payee's share is credited and withdrawable elsewhere", async () => {
        const f = await deploy();
        const asset = f.asset("ETH");
        const payee = await deployReceiver(mode);
        const payeeAddress = await payee.getAddress();
        const { config, id } = await openChannel(f, asset, { payee: payeeAddress });
        await expectBalanceChanges(
          asset,
          async () => callFrom(f, payee, "close", [config, 300n, await signVoucher(f, f.payer, id, 300n)]),
          [
            ["payer", f.payer.address, DEPOSIT - 300n],
            ["payee", payeeAddress, 0n],
            ["contract", f.channelsAddress, -(DEPOSIT - 300n)],
          ],
        );
        await expectSolvent(f, asset, [id], [payeeAddress]);
        await expectBalanceChanges(
          asset,
          () => callFrom(f, payee, "withdrawCredit", [ETH, f.other.address]),
          [
            ["recipient", f.other.address, 300n],
            ["contract", f.channelsAddress, -300n],
          ],
        );
        await expectSolvent(f, asset, [id], [payeeAddress]);
      });

      it("as payer: close still pays the payee; the refund is credited and withdrawable elsewhere", async () => {
        const f = await deploy();
        const asset = f.asset("ETH");
        const payer = await deployReceiver(mode);
        const payerAddress = await payer.getAddress();
        const { config, id } = await openChannel(f, asset, { payer: payerAddress, from: f.other });
        const tx = await expectBalanceChanges(
          asset,
          async () => f.channels.connect(f.payee).close(config, 300n, await signVoucher(f, f.payer, id, 300n)),
          [
            ["payer", payerAddress, 0n],
            ["payee", f.payee.address, 300n],
            ["contract", f.channelsAddress, -300n],
          ],
        );
        await expect(tx).to.emit(f.channels, "PayoutCredited").withArgs(ETH, payerAddress, DEPOSIT - 300n);
        await expectSolvent(f, asset, [id], [payerAddress]);
        await expectBalanceChanges(
          asset,
          () => callFrom(f, payer, "withdrawCredit", [ETH, f.other.address]),
          [
            ["recipient", f.other.address, DEPOSIT - 300n],
            ["contract", f.channelsAddress, -(DEPOSIT - 300n)],
          ],
        );
        await expectSolvent(f, asset, [id], [payerAddress]);
      });

      it("as payer: withdraw after the delay credits the refund instead of reverting", async () => {
        const f = await deploy();
        const asset = f.asset("ETH");
        const payer = await deployReceiver(mode);
        const payerAddress = await payer.getAddress();
        const { config, id } = await openChannel(f, asset, { payer: payerAddress, from: f.other, closeDelay: 0n });
        await callFrom(f, payer, "requestClose", [config]);
        const tx = await expectBalanceChanges(
          asset,
          () => callFrom(f, payer, "withdraw", [config]),
          [
            ["payer", payerAddress, 0n],
            ["contract", f.channelsAddress, 0n],
          ],
        );
        await expect(tx).to.emit(f.channels, "ChannelWithdrawn").withArgs(id, DEPOSIT);
        expect(await f.channels.credits(ETH, payerAddress)).to.equal(DEPOSIT);
        await expectSolvent(f, asset, [id], [payerAddress]);
      });
    });
  }

  describe("blocklisting token", () => {
    it("blocked payee: claim and close credit the payee, the payer is refunded, credit goes to another address", async () => {
      const f = await deploy();
      const { token, asset } = await blocklistAsset(f);
      const { config, id } = await openChannel(f, asset);
      await token.setBlocked(f.payee.address, true);
      await expectBalanceChanges(
        asset,
        async () => f.channels.connect(f.payee).claim(config, 100n, await signVoucher(f, f.payer, id, 100n)),
        [
          ["payer", f.payer.address, 0n],
          ["payee", f.payee.address, 0n],
          ["contract", f.channelsAddress, 0n],
        ],
      );
      const tx = await expectBalanceChanges(
        asset,
        async () => f.channels.connect(f.payee).close(config, 300n, await signVoucher(f, f.payer, id, 300n)),
        [
          ["payer", f.payer.address, DEPOSIT - 300n],
          ["payee", f.payee.address, 0n],
          ["contract", f.channelsAddress, -(DEPOSIT - 300n)],
        ],
      );
      await expect(tx).to.emit(f.channels, "PayoutCredited").withArgs(asset.token, f.payee.address, 200n);
      expect(await f.channels.credits(asset.token, f.payee.address)).to.equal(300n);
      await expectSolvent(f, asset, [id], [f.payee.address]);
      await expectBalanceChanges(
        asset,
        () => f.channels.connect(f.payee).withdrawCredit(asset.token, f.other.address),
        [
          ["recipient", f.other.address, 300n],
          ["contract", f.channelsAddress, -300n],
        ],
      );
      await expectSolvent(f, asset, [id], [f.payee.address]);
    });

    it("blocked payer: close pays the payee, the refund is credited and withdrawable elsewhere", async () => {
      const f = await deploy();
      const { token, asset } = await blocklistAsset(f);
      const { config, id } = await openChannel(f, asset);
      await token.setBlocked(f.payer.address, true);
      await expectBalanceChanges(
        asset,
        async () => f.channels.connect(f.payee).close(config, 300n, await signVoucher(f, f.payer, id, 300n)),
        [
          ["payer", f.payer.address, 0n],
          ["payee", f.payee.address, 300n],
          ["contract", f.channelsAddress, -300n],
        ],
      );
      expect(await f.channels.credits(asset.token, f.payer.address)).to.equal(DEPOSIT - 300n);
      await expectSolvent(f, asset, [id], [f.payer.address]);
      await f.channels.connect(f.payer).withdrawCredit(asset.token, f.other.address);
      await expectSolvent(f, asset, [id], [f.payer.address]);
    });

    it("blocked payer: withdraw credits the refund; a blocked recipient of withdrawCredit reverts and keeps the credit", async () => {
      const f = await deploy();
      const { token, asset } = await blocklistAsset(f);
      const { config, id } = await openChannel(f, asset, { closeDelay: 0n });
      await f.channels.connect(f.payer).requestClose(config);
      await token.setBlocked(f.payer.address, true);
      await f.channels.connect(f.payer).withdraw(config);
      expect(await f.channels.credits(asset.token, f.payer.address)).to.equal(DEPOSIT);
      await expect(f.channels.connect(f.payer).withdrawCredit(asset.token, f.payer.address))
        .to.be.revertedWithCustomError(token, "AccountBlocked")
        .withArgs(f.payer.address);
      expect(await f.channels.credits(asset.token, f.payer.address)).to.equal(DEPOSIT);
      await expectSolvent(f, asset, [id], [f.payer.address]);
    });

    it("blocked payee: claimMany credits the batch's sum once", async () => {
      const f = await deploy();
      const { token, asset } = await blocklistAsset(f);
      const a = await openChannel(f, asset, { salt: ethers.id("a") });
      const b = await openChannel(f, asset, { salt: ethers.id("b") });
      await token.setBlocked(f.payee.address, true);
      const claims = [
        claimEntry(a.config, 10n, await signVoucher(f, f.payer, a.id, 10n)),
        claimEntry(b.config, 20n, await signVoucher(f, f.payer, b.id, 20n)),
      ];
      const tx = await f.channels.connect(f.payee).claimMany(asset.token, claims);
      await expect(tx).to.emit(f.channels, "PayoutCredited").withArgs(asset.token, f.payee.address, 30n);
      await expectSolvent(f, asset, [a.id, b.id], [f.payee.address]);
    });
  });
});
