import { expect } from "chai";
import hre, { network } from "hardhat";
import { CREATEX_ADDRESS, deployPaymentChannels, paymentChannelsAddress, paymentChannelsInitCode } from "../../scripts/lib/deploy.ts";

describe("PaymentChannels Ignition module (create2)", () => {
  it("lands on the same address on two fresh chains, at the address computed off-chain", async () => {
    const first = await network.create();
    const second = await network.create();
    // Another deployer, whose nonce is not zero, on the second chain: neither may move the address.
    const [, otherDeployer] = await second.ethers.getSigners();
    await (await otherDeployer.sendTransaction({ to: otherDeployer.address, value: 0n })).wait();

    const a = await deployPaymentChannels(first);
    const b = await deployPaymentChannels(second, { defaultSender: otherDeployer.address });

    expect(a.address).to.equal(b.address);
    expect(a.address).to.equal(paymentChannelsAddress(await paymentChannelsInitCode(first)));
    expect(a.alreadyDeployed).to.equal(false);
    expect(a.gasUsed > 0n).to.equal(true);
    const creation = await second.ethers.provider.getTransaction(b.transactionHash ?? "");
    expect(creation?.from).to.equal(otherDeployer.address);
    expect(await first.ethers.provider.getCode(CREATEX_ADDRESS)).to.not.equal("0x");
  });

  it("puts PaymentChannels there, and a second deploy sends nothing", async () => {
    const connection = await network.create();
    const deployment = await deployPaymentChannels(connection);
    const domain = await deployment.paymentChannels.eip712Domain();
    expect(domain.name).to.equal("Trickle");
    expect(domain.version).to.equal("1");
    expect(domain.verifyingContract).to.equal(deployment.address);
    expect(await deployment.paymentChannels.MAX_CLOSE_DELAY()).to.equal(365n * 24n * 3600n);

    const again = await deployPaymentChannels(connection);
    expect(again.alreadyDeployed).to.equal(true);
    expect(again.address).to.equal(deployment.address);
    expect(again.transactionHash).to.equal(undefined);
    // The deployment block, where log queries start: from the receipt, and found again by bisection.
    const receipt = await connection.ethers.provider.getTransactionReceipt(deployment.transactionHash ?? "");
    expect(deployment.blockNumber).to.equal(BigInt(receipt?.blockNumber ?? -1));
    expect(again.blockNumber).to.equal(deployment.blockNumber);
  });
});

describe("deployPaymentChannels off Hardhat's chain id", () => {
  it("refuses, sending nothing, when the CreateX factory is missing", async () => {
    // Ignition installs CreateX only on chain 31337; elsewhere the factory must already be there.
    const connection = await network.create({ override: { chainId: 1337 } });
    const [deployer] = await connection.ethers.getSigners();
    const nonceBefore = await deployer.getNonce();
    let refusal: unknown;
    try {
      await deployPaymentChannels(connection);
    } catch (error) {
      refusal = error;
    }
    expect(String(refusal)).to.match(/CreateX factory is not deployed .* on chain 1337/);
    expect(await deployer.getNonce()).to.equal(nonceBefore);
  });
});

describe("build profiles", () => {
  it("compile the production build (hardhat ignition deploy) with the tested settings", () => {
    // Another optimizer or EVM version would deploy other bytecode, at another CREATE2 address.
    const { profiles } = hre.config.solidity;
    expect(profiles.production.compilers).to.deep.equal(profiles.default.compilers);
    expect(profiles.production.overrides).to.deep.equal(profiles.default.overrides);
  });
});
