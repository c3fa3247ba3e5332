// SplitPayee: a split channel pays every committed recipient its share in the claim or close itself; the list
// cannot be changed; rounding loses nothing; a recipient that cannot receive is credited and blocks nobody.
import { expect } from "chai";
import type { BlocklistToken, SplitPayee } from "../../../typechain-types/index.ts";
import { splitSalt, splitShares, type SplitList } from "../../../src/donations/index.ts";
import type { Address, Hex } from "../../../src/channel.ts";
import {
  ASSET_KINDS,
  DEPOSIT,
  ETH,
  deploy,
  ethers,
  expectBalanceChanges,
  networkHelpers,
  openChannel,
  signVoucher,
  type Asset,
  type Fixture,
} from "../helpers/fixtures.ts";
import { ReceiveMode, deployReceiver } from "../helpers/accounts.ts";

interface SplitFixture {
  f: Fixture;
  split: SplitPayee;
  splitAddress: Address;
  recipients: Address[];
}

async function splitFixture(): Promise<SplitFixture> {
  const f = await deploy();
  const split = await ethers.deployContract("SplitPayee", [f.channelsAddress]);
  const recipients = (await ethers.getSigners()).slice(5, 9).map((signer) => signer.address as Address);
  return { f, split, splitAddress: (await split.getAddress()) as Address, recipients };
}

function setUp(): Promise<SplitFixture> {
  return networkHelpers.loadFixture(splitFixture);
}

function listOf(recipients: Address[], weights: bigint[], nonce: Hex = ethers.ZeroHash as Hex): SplitList {
  return { recipients, weights, nonce };
}

async function openSplit(s: SplitFixture, asset: Asset, list: SplitList, deposit = DEPOSIT) {
  return openChannel(s.f, asset, { payee: s.splitAddress, salt: splitSalt(list), deposit });
}

function args(list: SplitList) {
  return [list.recipients, list.weights, list.nonce] as const;
}

describe("SplitPayee", () => {
  it("computes the same salt as the SDK", async () => {
    const s = await setUp();
    const list = listOf(s.recipients, [1n, 2n, 3n, 4n], ethers.id("nonce") as Hex);
    expect(await s.split.splitSalt(...args(list))).to.equal(splitSalt(list));
    expect(await s.split.channels()).to.equal(s.f.channelsAddress);
  });

  for (const kind of ASSET_KINDS) {
    describe(`${kind} split channel`, () => {
      it("claim pays every recipient its share of each cumulative voucher, in the same transaction", async () => {
        const s = await setUp();
        const asset = s.f.asset(kind);
        const list = listOf(s.recipients.slice(0, 3), [1n, 2n, 3n]);
        const { config, id } = await openSplit(s, asset, list);
        let claimed = 0n;
        for (const amount of [1_000n, 1_001n, 7_777n, DEPOSIT]) {
          const arrived = amount - claimed;
          const shares = splitShares(list, arrived);
          expect(shares.reduce((a, b) => a + b, 0n)).to.equal(arrived);
          const signature = await signVoucher(s.f, s.f.payer, id, amount);
          // A relayer (not a recipient) triggers it.
          const tx = await expectBalanceChanges(
            asset,
            () => s.split.connect(s.f.other).claim(config, amount, signature, ...args(list)),
            [
              ...list.recipients.map((recipient, i) => [`recipient ${i}`, recipient, shares[i]!] as const),
              ["split payee", s.splitAddress, 0n],
              ["channels", s.f.channelsAddress, -arrived],
            ],
          );
          await expect(tx).to.emit(s.split, "SplitDistributed").withArgs(id, asset.token, arrived, 3n);
          claimed = amount;
        }
      });

      it("close splits the last voucher and refunds the payer the rest", async () => {
        const s = await setUp();
        const asset = s.f.asset(kind);
        const list = listOf(s.recipients.slice(0, 2), [1n, 1n]);
        const { config, id } = await openSplit(s, asset, list);
        const signature = await signVoucher(s.f, s.f.payer, id, 301n);
        await expectBalanceChanges(
          asset,
          () => s.split.connect(s.f.other).close(config, 301n, signature, ...args(list)),
          [
            ["recipient 0 (takes the remainder)", list.recipients[0]!, 151n],
            ["recipient 1", list.recipients[1]!, 150n],
            ["payer", s.f.payer.address, DEPOSIT - 301n],
            ["split payee", s.splitAddress, 0n],
          ],
        );
      });

      it("close at the claimed amount splits nothing and only refunds the payer", async () => {
        const s = await setUp();
        const asset = s.f.asset(kind);
        const list = listOf(s.recipients.slice(0, 2), [1n, 3n]);
        const { config, id } = await openSplit(s, asset, list);
        await s.split.claim(config, 400n, await signVoucher(s.f, s.f.payer, id, 400n), ...args(list));
        const tx = await expectBalanceChanges(
          asset,
          () => s.split.close(config, 400n, "0x", ...args(list)),
          [
            ["recipient 0", list.recipients[0]!, 0n],
            ["recipient 1", list.recipients[1]!, 0n],
            ["payer", s.f.payer.address, DEPOSIT - 400n],
          ],
        );
        await expect(tx).not.to.emit(s.split, "SplitDistributed");
      });
    });
  }

  it("rounds down every share after the first and gives the first the remainder: nothing is lost", async () => {
    const s = await setUp();
    const asset = s.f.asset("ETH");
    const list = listOf(s.recipients.slice(0, 3), [1n, 1n, 1n]);
    const { config, id } = await openSplit(s, asset, list);
    await expectBalanceChanges(
      asset,
      async () => s.split.claim(config, 100n, await signVoucher(s.f, s.f.payer, id, 100n), ...args(list)),
      [
        ["recipient 0", list.recipients[0]!, 34n],
        ["recipient 1", list.recipients[1]!, 33n],
        ["recipient 2", list.recipients[2]!, 33n],
        ["split payee", s.splitAddress, 0n],
      ],
    );
  });

  it("credits an ETH recipient that reverts, pays the others, and lets it withdraw elsewhere", async () => {
    const s = await setUp();
    const asset = s.f.asset("ETH");
    const rejecting = await deployReceiver(ReceiveMode.Revert);
    const burning = await deployReceiver(ReceiveMode.BurnGas);
    const rejectingAddress = (await rejecting.getAddress()) as Address;
    const burningAddress = (await burning.getAddress()) as Address;
    const list = listOf([rejectingAddress, s.recipients[0]!, burningAddress], [2n, 1n, 1n]);
    const { config, id } = await openSplit(s, asset, list);
    const tx = await expectBalanceChanges(
      asset,
      async () => s.split.claim(config, 400n, await signVoucher(s.f, s.f.payer, id, 400n), ...args(list)),
      [
        ["paid recipient", s.recipients[0]!, 100n],
        ["split payee holds the credits", s.splitAddress, 300n],
      ],
    );
    await expect(tx).to.emit(s.split, "ShareCredited").withArgs(ETH, rejectingAddress, 200n);
    await expect(tx).to.emit(s.split, "ShareCredited").withArgs(ETH, burningAddress, 100n);
    expect(await s.split.credits(ETH, rejectingAddress)).to.equal(200n);

    const withdraw = s.split.interface.encodeFunctionData("withdrawCredit", [ETH, rejectingAddress]);
    await expect(rejecting.execute(s.splitAddress, withdraw)).to.be.revertedWithCustomError(s.split, "EthTransferFailed")
      .withArgs(rejectingAddress, 200n);
    const elsewhere = s.f.other.address;
    await expectBalanceChanges(
      asset,
      () => rejecting.execute(s.splitAddress, s.split.interface.encodeFunctionData("withdrawCredit", [ETH, elsewhere])),
      [["elsewhere", elsewhere, 200n], ["split payee", s.splitAddress, -200n]],
    );
    expect(await s.split.credits(ETH, rejectingAddress)).to.equal(0n);
    await expect(s.split.connect(s.f.other).withdrawCredit(ETH, elsewhere))
      .to.be.revertedWithCustomError(s.split, "CreditEmpty").withArgs(ETH, s.f.other.address);
  });

  it("credits a blocklisted token recipient and pays it out to another address", async () => {
    const s = await setUp();
    const token = (await ethers.deployContract("BlocklistToken")) as BlocklistToken;
    const tokenAddress = (await token.getAddress()) as Address;
    await token.mint(s.f.payer.address, DEPOSIT);
    await token.connect(s.f.payer).approve(s.f.channelsAddress, DEPOSIT);
    const asset: Asset = { kind: "ERC-20", token: tokenAddress, balanceOf: (a) => token.balanceOf(a), value: () => ({ value: 0n }) };
    const list = listOf(s.recipients.slice(0, 2), [1n, 1n]);
    await token.setBlocked(list.recipients[1]!, true);
    const { config, id } = await openSplit(s, asset, list);
    const tx = await expectBalanceChanges(
      asset,
      async () => s.split.claim(config, 100n, await signVoucher(s.f, s.f.payer, id, 100n), ...args(list)),
      [["recipient 0", list.recipients[0]!, 50n], ["split payee", s.splitAddress, 50n]],
    );
    await expect(tx).to.emit(s.split, "ShareCredited").withArgs(tokenAddress, list.recipients[1]!, 50n);
    const blocked = await ethers.getSigner(list.recipients[1]!);
    await expectBalanceChanges(
      asset,
      () => s.split.connect(blocked).withdrawCredit(tokenAddress, s.f.other.address),
      [["elsewhere", s.f.other.address, 50n], ["split payee", s.splitAddress, -50n]],
    );
  });

  it("splits what a fee-on-transfer token delivered, not what was asked", async () => {
    const s = await setUp();
    const token = await ethers.deployContract("FeeOnTransferToken");
    const tokenAddress = (await token.getAddress()) as Address;
    await token.mint(s.f.payer.address, DEPOSIT * 2n);
    await token.connect(s.f.payer).approve(s.f.channelsAddress, DEPOSIT * 2n);
    const asset: Asset = { kind: "ERC-20", token: tokenAddress, balanceOf: (a) => token.balanceOf(a), value: () => ({ value: 0n }) };
    const list = listOf(s.recipients.slice(0, 2), [1n, 1n]);
    const { config, id } = await openSplit(s, asset, list);
    const signature = await signVoucher(s.f, s.f.payer, id, 10_000n);
    const received = await s.split.claim.staticCall(config, 10_000n, signature, ...args(list));
    expect(received).to.be.lessThan(10_000n);
    await s.split.claim(config, 10_000n, signature, ...args(list));
    expect(await token.balanceOf(s.splitAddress)).to.equal(0n);
  });

  describe("refuses, and moves nothing", () => {
    it("a channel whose payee is not the split payee", async () => {
      const s = await setUp();
      const list = listOf(s.recipients.slice(0, 2), [1n, 1n]);
      const { config, id } = await openChannel(s.f, s.f.asset("ETH"), { salt: splitSalt(list) });
      const signature = await signVoucher(s.f, s.f.payer, id, 10n);
      await expect(s.split.claim(config, 10n, signature, ...args(list)))
        .to.be.revertedWithCustomError(s.split, "SplitNotPayee").withArgs(s.f.payee.address);
    });

    it("a list that is not the committed one (reordered, reweighted, another nonce)", async () => {
      const s = await setUp();
      const list = listOf(s.recipients.slice(0, 2), [1n, 3n]);
      const { config, id } = await openSplit(s, s.f.asset("ETH"), list);
      const signature = await signVoucher(s.f, s.f.payer, id, 10n);
      for (const other of [
        listOf([list.recipients[1]!, list.recipients[0]!], [1n, 3n]),
        listOf(list.recipients, [3n, 1n]),
        listOf(list.recipients, [1n, 3n], ethers.id("other") as Hex),
      ]) {
        await expect(s.split.claim(config, 10n, signature, ...args(other)))
          .to.be.revertedWithCustomError(s.split, "SplitListMismatch").withArgs(config.salt, splitSalt(other));
        await expect(s.split.close(config, 10n, signature, ...args(other)))
          .to.be.revertedWithCustomError(s.split, "SplitListMismatch");
      }
    });

    it("an unusable list, even committed: empty, lengths that differ, zero total weight, too long", async () => {
      const s = await setUp();
      const asset = s.f.asset("ETH");
      const nonce = ethers.ZeroHash;
      const coder = ethers.AbiCoder.defaultAbiCoder();
      const tooMany = Array.from({ length: 1_001 }, (_, i) => ethers.zeroPadValue(ethers.toBeHex(i + 1), 20));
      for (const [recipients, weights] of [
        [[], []],
        [[s.recipients[0]!], [1n, 1n]],
        [[s.recipients[0]!, s.recipients[1]!], [0n, 0n]],
        [tooMany, tooMany.map(() => 1n)],
      ] as [string[], bigint[]][]) {
        const salt = ethers.keccak256(coder.encode(["address[]", "uint96[]", "bytes32"], [recipients, weights, nonce]));
        const { config, id } = await openChannel(s.f, asset, { payee: s.splitAddress, salt });
        const signature = await signVoucher(s.f, s.f.payer, id, 10n);
        await expect(s.split.claim(config, 10n, signature, recipients, weights, nonce))
          .to.be.revertedWithCustomError(s.split, "SplitListInvalid").withArgs(recipients.length, weights.length);
      }
    });

    it("ETH sent by anyone but PaymentChannels", async () => {
      const s = await setUp();
      await expect(s.f.other.sendTransaction({ to: s.splitAddress, value: 1n }))
        .to.be.revertedWithCustomError(s.split, "EthSenderNotChannels").withArgs(s.f.other.address);
    });

    it("a bad voucher: PaymentChannels' own error comes through", async () => {
      const s = await setUp();
      const list = listOf(s.recipients.slice(0, 2), [1n, 1n]);
      const { config, id } = await openSplit(s, s.f.asset("ETH"), list);
      const forged = await signVoucher(s.f, s.f.other, id, 10n);
      await expect(s.split.claim(config, 10n, forged, ...args(list)))
        .to.be.revertedWithCustomError(s.f.channels, "VoucherSignatureInvalid");
    });
  });
});
