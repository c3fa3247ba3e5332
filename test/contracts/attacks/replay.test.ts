// Money property 3: a voucher is valid for one channel of one contract on one chain, once.
import { expect } from "chai";
import {
  DEPOSIT,
  Status,
  deploy,
  ethers,
  expectChannel,
  makeConfig,
  openChannel,
  signVoucher,
} from "../helpers/fixtures.ts";

describe("attack: voucher replay", () => {
  it("a voucher of one channel is worthless on another channel of the same payer and payee", async () => {
    const f = await deploy();
    const asset = f.asset("ETH");
    const first = await openChannel(f, asset, { salt: ethers.id("first") });
    const second = await openChannel(f, asset, { salt: ethers.id("second") });
    const signature = await signVoucher(f, f.payer, first.id, 100n);
    await expect(f.channels.connect(f.payee).claim(second.config, 100n, signature))
      .to.be.revertedWithCustomError(f.channels, "VoucherSignatureInvalid")
      .withArgs(second.id, f.payer.address);
    await expectChannel(f, second.id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
  });

  it("a voucher for one deployment is worthless on another deployment with the same config", async () => {
    const f = await deploy();
    const asset = f.asset("ETH");
    const { config, id } = await openChannel(f, asset);
    const signature = await signVoucher(f, f.payer, id, 100n);
    const otherDeployment = await ethers.deployContract("PaymentChannels");
    await otherDeployment.connect(f.payer).open(config, DEPOSIT, { value: DEPOSIT });
    await expect(otherDeployment.connect(f.payee).claim(config, 100n, signature))
      .to.be.revertedWithCustomError(otherDeployment, "VoucherSignatureInvalid")
      .withArgs(id, f.payer.address);
    // The same voucher is good where it was signed for.
    await expect(f.channels.connect(f.payee).claim(config, 100n, signature)).to.emit(f.channels, "ChannelClaimed");
  });

  it("a voucher signed for another chain id is worthless here", async () => {
    const f = await deploy();
    const { config, id } = await openChannel(f, f.asset("ETH"));
    const signature = await signVoucher(f, f.payer, id, 100n, { chainId: f.chainId + 1n });
    await expect(f.channels.connect(f.payee).claim(config, 100n, signature))
      .to.be.revertedWithCustomError(f.channels, "VoucherSignatureInvalid")
      .withArgs(id, f.payer.address);
  });

  it("a voucher cannot be claimed twice (cumulative amounts only rise)", async () => {
    const f = await deploy();
    const { config, id } = await openChannel(f, f.asset("ERC-20"));
    const signature = await signVoucher(f, f.payer, id, 100n);
    await f.channels.connect(f.payee).claim(config, 100n, signature);
    await expect(f.channels.connect(f.payee).claim(config, 100n, signature))
      .to.be.revertedWithCustomError(f.channels, "VoucherAmountNotIncreasing")
      .withArgs(100n, 100n);
  });

  for (const ending of ["close", "withdraw"] as const) {
    it(`a finished id (after ${ending}) cannot be opened again, so its old vouchers stay worthless`, async () => {
      const f = await deploy();
      const asset = f.asset("ETH");
      const { config, id } = await openChannel(f, asset, { closeDelay: 0n });
      const unusedVoucher = await signVoucher(f, f.payer, id, 500n);
      if (ending === "close") {
        await f.channels.connect(f.payee).close(config, 0n, "0x");
      } else {
        await f.channels.connect(f.payer).requestClose(config);
        await f.channels.connect(f.payer).withdraw(config);
      }
      await expect(f.channels.connect(f.payer).open(config, DEPOSIT, { value: DEPOSIT }))
        .to.be.revertedWithCustomError(f.channels, "ChannelExists")
        .withArgs(id);
      await expect(f.channels.connect(f.payee).claim(config, 500n, unusedVoucher))
        .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
        .withArgs(id, Status.Finished);
    });
  }

  it("a reopened id is refused even through openWithPermit", async () => {
    const f = await deploy();
    const config = makeConfig(f, f.asset("ERC-20"));
    const { id } = await openChannel(f, f.asset("ERC-20"));
    await f.channels.connect(f.payee).close(config, 0n, "0x");
    await expect(
      f.channels.connect(f.payer).openWithPermit(config, DEPOSIT, 0n, 27, ethers.ZeroHash, ethers.ZeroHash),
    )
      .to.be.revertedWithCustomError(f.channels, "ChannelExists")
      .withArgs(id);
  });
});
