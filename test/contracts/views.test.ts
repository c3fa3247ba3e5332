import { expect } from "chai";
import { channelId as sdkChannelId, type ChannelConfig as SdkChannelConfig } from "../../src/channel.ts";
import {
  ASSET_KINDS,
  MAX_CLAIM_BATCH,
  MAX_CLOSE_DELAY,
  MAX_DEPOSIT,
  channelIdOf,
  deploy,
  ethers,
  makeConfig,
  voucherDigest,
} from "./helpers/fixtures.ts";

describe("PaymentChannels views", () => {
  for (const kind of ASSET_KINDS) {
    it(`channelId(config) of a ${kind} config is keccak256(abi.encode(config)), as the SDK computes it`, async () => {
      const f = await deploy();
      const config = makeConfig(f, f.asset(kind), { closeDelay: 123n, salt: ethers.id(kind) });
      const onChain = await f.channels.channelId(config);
      expect(onChain).to.equal(channelIdOf(config));
      expect(onChain).to.equal(sdkChannelId(config as SdkChannelConfig));
    });
  }

  it("channelId(config) reverts on a non-canonical encoding (dirty high bits in an address) instead of hashing it", async () => {
    const f = await deploy();
    const config = makeConfig(f, f.asset("ETH"));
    const calldata = f.channels.interface.encodeFunctionData("channelId", [config]);
    expect(await f.channels.channelId(config)).to.equal(channelIdOf(config));
    // Byte 4 is the highest byte of the payer word: non-zero there is no address.
    const dirty = `${calldata.slice(0, 10)}01${calldata.slice(12)}`;
    const refused = await ethers.provider.call({ to: f.channelsAddress, data: dirty }).then(
      () => false,
      () => true,
    );
    expect(refused).to.equal(true);
  });

  it("voucherDigest is the EIP-712 hash of Voucher(channelId, amount) for this contract and chain", async () => {
    const f = await deploy();
    const id = ethers.id("some channel");
    for (const amount of [0n, 1n, MAX_DEPOSIT, ethers.MaxUint256]) {
      expect(await f.channels.voucherDigest(id, amount)).to.equal(voucherDigest(f, id, amount));
    }
  });

  it("eip712Domain is {Trickle, 1, chainId, this contract}", async () => {
    const f = await deploy();
    const domain = await f.channels.eip712Domain();
    expect(domain.name).to.equal("Trickle");
    expect(domain.version).to.equal("1");
    expect(domain.chainId).to.equal(f.chainId);
    expect(domain.verifyingContract).to.equal(f.channelsAddress);
  });

  it("exposes its limits and the voucher type hash", async () => {
    const f = await deploy();
    expect(await f.channels.MAX_DEPOSIT()).to.equal(MAX_DEPOSIT);
    expect(await f.channels.MAX_CLOSE_DELAY()).to.equal(MAX_CLOSE_DELAY);
    expect(await f.channels.MAX_CLAIM_BATCH()).to.equal(MAX_CLAIM_BATCH);
    expect(await f.channels.ETH_PAYOUT_GAS()).to.equal(50_000n);
    expect(await f.channels.VOUCHER_TYPEHASH()).to.equal(ethers.id("Voucher(bytes32 channelId,uint256 amount)"));
  });

  it("reports an unknown channel as all zeros (status None) and no credit", async () => {
    const f = await deploy();
    const [deposit, claimed, closesAt, status] = await f.channels.channels(ethers.id("unknown"));
    expect([deposit, claimed, closesAt, status]).to.deep.equal([0n, 0n, 0n, 0n]);
    expect(await f.channels.credits(f.tokenAddress, f.payee.address)).to.equal(0n);
  });
});
