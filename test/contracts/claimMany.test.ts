import { expect } from "chai";
import {
  ASSET_KINDS,
  DEPOSIT,
  MAX_CLAIM_BATCH,
  Status,
  deploy,
  ethers,
  expectBalanceChanges,
  expectChannel,
  expectSolvent,
  openChannel,
  parties,
  signVoucher,
  transferCount,
  type Fixture,
  type OpenedChannel,
} from "./helpers/fixtures.ts";
import type { Wallet } from "ethers";
import type { IPaymentChannels } from "../../typechain-types/PaymentChannels.ts";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";

async function claimOf(f: Fixture, channel: OpenedChannel, amount: bigint, key: Wallet | HardhatEthersSigner = f.payer) {
  return { config: channel.config, amount, signature: await signVoucher(f, key, channel.id, amount) };
}

async function openMany(f: Fixture, kind: "ETH" | "ERC-20", count: number): Promise<OpenedChannel[]> {
  const opened: OpenedChannel[] = [];
  for (let i = 0; i < count; i++) {
    opened.push(await openChannel(f, f.asset(kind), { salt: ethers.toBeHex(i + 1, 32) }));
  }
  return opened;
}

describe("PaymentChannels.claimMany", () => {
  for (const kind of ASSET_KINDS) {
    describe(`${kind} channels`, () => {
      it("settles every channel of the batch and pays the sum in one transfer", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const opened = await openMany(f, kind, 3);
        const claims = await Promise.all(opened.map((channel, i) => claimOf(f, channel, BigInt(i + 1) * 100n)));
        const tx = await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payee).claimMany(claims),
          parties(f, 0n, 600n, -600n),
        );
        for (const [i, channel] of opened.entries()) {
          await expect(tx).to.emit(f.channels, "ChannelClaimed").withArgs(channel.id, BigInt(i + 1) * 100n, BigInt(i + 1) * 100n);
          await expectChannel(f, channel.id, { deposit: DEPOSIT, claimed: BigInt(i + 1) * 100n, status: Status.Open });
        }
        if (kind === "ERC-20") expect(await transferCount(tx, f.tokenAddress)).to.equal(1);
        await expectSolvent(f, asset, opened.map((c) => c.id), []);
      });

      it("takes the same channel twice with rising vouchers and pays only the increase", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const [channel] = await openMany(f, kind, 1);
        const claims = [await claimOf(f, channel, 100n), await claimOf(f, channel, 350n)];
        await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payee).claimMany(claims),
          parties(f, 0n, 350n, -350n),
        );
        await expectChannel(f, channel.id, { deposit: DEPOSIT, claimed: 350n, status: Status.Open });
      });

      it(`accepts a full batch of MAX_CLAIM_BATCH (${MAX_CLAIM_BATCH}) claims`, async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        // A local session key signs the 256 vouchers: signing through the node would dominate the run time.
        const channel = await openChannel(f, asset, { signer: f.sessionKey.address });
        const claims: IPaymentChannels.ClaimStruct[] = [];
        for (let amount = 1n; amount <= MAX_CLAIM_BATCH; amount++) {
          claims.push(await claimOf(f, channel, amount, f.sessionKey));
        }
        await expectBalanceChanges(
          asset,
          () => f.channels.connect(f.payee).claimMany(claims),
          parties(f, 0n, MAX_CLAIM_BATCH, -MAX_CLAIM_BATCH),
        );
        await expectChannel(f, channel.id, { deposit: DEPOSIT, claimed: MAX_CLAIM_BATCH, status: Status.Open });
      });

      it("reverts CallerNotPayee and pays nothing when one claim of the batch has another payee", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const mine = await openChannel(f, asset);
        const theirs = await openChannel(f, asset, { payee: f.other.address });
        const claims = [await claimOf(f, mine, 10n), await claimOf(f, theirs, 10n)];
        await expect(f.channels.connect(f.payee).claimMany(claims))
          .to.be.revertedWithCustomError(f.channels, "CallerNotPayee")
          .withArgs(f.payee.address, f.other.address);
        await expectChannel(f, mine.id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
      });

      it("reverts the whole batch when one voucher is invalid", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const opened = await openMany(f, kind, 2);
        const claims = [await claimOf(f, opened[0], 10n), { ...(await claimOf(f, opened[1], 10n)), amount: 11n }];
        await expect(f.channels.connect(f.payee).claimMany(claims))
          .to.be.revertedWithCustomError(f.channels, "VoucherSignatureInvalid")
          .withArgs(opened[1].id, f.payer.address);
        await expectChannel(f, opened[0].id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
      });
    });
  }

  it("pays once per token however the tokens are interleaved (mixed ETH and two ERC-20s)", async () => {
    const f = await deploy();
    const second = await ethers.deployContract("TestToken");
    const secondAddress = await second.getAddress();
    await second.mint(f.payer.address, DEPOSIT * 10n);
    await second.connect(f.payer).approve(f.channelsAddress, ethers.MaxUint256);
    const eth = await openMany(f, "ETH", 2);
    const erc20 = await openMany(f, "ERC-20", 2);
    const other: OpenedChannel[] = [];
    for (let i = 0; i < 2; i++) {
      const config = { ...erc20[0].config, token: secondAddress, salt: ethers.toBeHex(100 + i, 32) };
      await f.channels.connect(f.payer).open(config, DEPOSIT);
      other.push({ config, id: await f.channels.channelId(config), receipt: erc20[0].receipt });
    }
    const order = [erc20[0], eth[0], other[0], erc20[1], eth[1], other[1]];
    const claims = await Promise.all(order.map((channel) => claimOf(f, channel, 10n)));
    const ethBefore = await ethers.provider.getBalance(f.payee.address);
    const tx = await f.channels.connect(f.payee).claimMany(claims);
    const receipt = (await tx.wait())!;
    expect(await transferCount(tx, f.tokenAddress)).to.equal(1);
    expect(await transferCount(tx, secondAddress)).to.equal(1);
    await expect(tx).to.changeTokenBalances(ethers, f.token, [f.payee, f.channelsAddress], [20n, -20n]);
    await expect(tx).to.changeTokenBalances(ethers, second, [f.payee, f.channelsAddress], [20n, -20n]);
    expect((await ethers.provider.getBalance(f.payee.address)) - ethBefore + receipt.fee).to.equal(20n);
    expect(await ethers.provider.getBalance(f.channelsAddress)).to.equal(2n * DEPOSIT - 20n);
  });

  it("reverts ClaimBatchSizeInvalid for an empty batch and for MAX_CLAIM_BATCH + 1 claims", async () => {
    const f = await deploy();
    await expect(f.channels.connect(f.payee).claimMany([]))
      .to.be.revertedWithCustomError(f.channels, "ClaimBatchSizeInvalid")
      .withArgs(0n, MAX_CLAIM_BATCH);
    const [channel] = await openMany(f, "ETH", 1);
    const claim = await claimOf(f, channel, 1n);
    const tooMany = Array.from({ length: Number(MAX_CLAIM_BATCH) + 1 }, () => claim);
    await expect(f.channels.connect(f.payee).claimMany(tooMany))
      .to.be.revertedWithCustomError(f.channels, "ClaimBatchSizeInvalid")
      .withArgs(MAX_CLAIM_BATCH + 1n, MAX_CLAIM_BATCH);
  });
});
