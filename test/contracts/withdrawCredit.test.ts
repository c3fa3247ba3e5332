import { expect } from "chai";
import {
  DEPOSIT,
  ETH,
  deploy,
  ethers,
  expectBalanceChanges,
  expectSolvent,
  openChannel,
  signVoucher,
  type Asset,
} from "./helpers/fixtures.ts";
import { ReceiveMode, callFrom, deployReceiver } from "./helpers/accounts.ts";

describe("PaymentChannels.withdrawCredit", () => {
  it("sends credited ETH to another address, zeroes the credit and emits CreditWithdrawn", async () => {
    const f = await deploy();
    const asset = f.asset("ETH");
    const payee = await deployReceiver(ReceiveMode.Revert);
    const payeeAddress = await payee.getAddress();
    const { config, id } = await openChannel(f, asset, { payee: payeeAddress });
    await callFrom(f, payee, "claim", [config, 300n, await signVoucher(f, f.payer, id, 300n)]);
    expect(await f.channels.credits(ETH, payeeAddress)).to.equal(300n);
    const tx = await expectBalanceChanges(
      asset,
      () => callFrom(f, payee, "withdrawCredit", [ETH, f.other.address]),
      [
        ["payee", payeeAddress, 0n],
        ["recipient", f.other.address, 300n],
        ["contract", f.channelsAddress, -300n],
      ],
    );
    await expect(tx).to.emit(f.channels, "CreditWithdrawn").withArgs(ETH, payeeAddress, f.other.address, 300n);
    expect(await f.channels.credits(ETH, payeeAddress)).to.equal(0n);
    await expectSolvent(f, asset, [id], [payeeAddress]);
  });

  it("sends credited tokens to another address when the owner is blocklisted", async () => {
    const f = await deploy();
    const token = await ethers.deployContract("BlocklistToken");
    const tokenAddress = await token.getAddress();
    const asset: Asset = {
      kind: "ERC-20",
      token: tokenAddress,
      balanceOf: (account) => token.balanceOf(account),
      value: () => ({ value: 0n }),
    };
    await token.mint(f.payer.address, DEPOSIT);
    await token.connect(f.payer).approve(f.channelsAddress, DEPOSIT);
    const { config, id } = await openChannel(f, asset);
    await token.setBlocked(f.payee.address, true);
    await f.channels.connect(f.payee).claim(config, 300n, await signVoucher(f, f.payer, id, 300n));
    expect(await f.channels.credits(tokenAddress, f.payee.address)).to.equal(300n);
    const tx = await expectBalanceChanges(
      asset,
      () => f.channels.connect(f.payee).withdrawCredit(tokenAddress, f.other.address),
      [
        ["payee", f.payee.address, 0n],
        ["recipient", f.other.address, 300n],
        ["contract", f.channelsAddress, -300n],
      ],
    );
    await expect(tx)
      .to.emit(f.channels, "CreditWithdrawn")
      .withArgs(tokenAddress, f.payee.address, f.other.address, 300n);
    await expectSolvent(f, asset, [id], [f.payee.address]);
  });

  it("reverts CreditEmpty when there is nothing credited", async () => {
    const f = await deploy();
    await expect(f.channels.connect(f.payee).withdrawCredit(ETH, f.payee.address))
      .to.be.revertedWithCustomError(f.channels, "CreditEmpty")
      .withArgs(ETH, f.payee.address);
  });

  it("reverts EthTransferFailed when the recipient refuses ETH, and keeps the credit", async () => {
    const f = await deploy();
    const payee = await deployReceiver(ReceiveMode.Revert);
    const payeeAddress = await payee.getAddress();
    const { config, id } = await openChannel(f, f.asset("ETH"), { payee: payeeAddress });
    await callFrom(f, payee, "claim", [config, 300n, await signVoucher(f, f.payer, id, 300n)]);
    await expect(callFrom(f, payee, "withdrawCredit", [ETH, payeeAddress]))
      .to.be.revertedWithCustomError(f.channels, "EthTransferFailed")
      .withArgs(payeeAddress, 300n);
    expect(await f.channels.credits(ETH, payeeAddress)).to.equal(300n);
  });
});
