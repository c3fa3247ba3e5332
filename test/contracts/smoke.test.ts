import { expect } from "chai";
import { network } from "hardhat";

describe("smoke", () => {
  it("deploys and opens", async () => {
    const { ethers } = await network.connect();
    const [payer, payee] = await ethers.getSigners();
    const pc = await ethers.deployContract("PaymentChannels");
    const cfg = { payer: payer.address, payee: payee.address, token: ethers.ZeroAddress, signer: payer.address, closeDelay: 3600n, salt: ethers.ZeroHash };
    const tx = await pc.open(cfg, 10n ** 18n, { value: 10n ** 18n });
    const r = await tx.wait();
    console.log("open gas", r!.gasUsed);
    const cfg2 = { ...cfg, salt: ethers.toBeHex(1, 32) };
    const r2 = await (await pc.open(cfg2, 10n ** 18n, { value: 10n ** 18n })).wait();
    console.log("open gas 2", r2!.gasUsed);
    const id = await pc.channelId(cfg);
    const net = await ethers.provider.getNetwork();
    const sig = await payer.signTypedData({ name: "Trickle", version: "1", chainId: net.chainId, verifyingContract: await pc.getAddress() }, { Voucher: [{ name: "channelId", type: "bytes32" }, { name: "amount", type: "uint256" }] }, { channelId: id, amount: 1000n });
    const r3 = await (await pc.connect(payee).claim(cfg, 1000n, sig)).wait();
    console.log("claim gas", r3!.gasUsed);
    const sig2 = await payer.signTypedData({ name: "Trickle", version: "1", chainId: net.chainId, verifyingContract: await pc.getAddress() }, { Voucher: [{ name: "channelId", type: "bytes32" }, { name: "amount", type: "uint256" }] }, { channelId: id, amount: 2000n });
    const r4 = await (await pc.connect(payee).close(cfg, 2000n, sig2)).wait();
    console.log("close gas", r4!.gasUsed);
    expect((await pc.channels(id)).status).to.equal(3n);
  });
});
