// A contract signer (ERC-1271): its answer decides, and a refusing, reverting or gas-burning wallet
// yields VoucherSignatureInvalid, never a payout.
import { expect } from "chai";
import type { ERC1271Wallet } from "../../../typechain-types/index.ts";
import {
  DEPOSIT,
  Status,
  deploy,
  ethers,
  expectBalanceChanges,
  expectChannel,
  openChannel,
  parties,
  signVoucher,
  type Fixture,
} from "../helpers/fixtures.ts";

/** Mirrors `ERC1271Wallet.Mode`. */
const WalletMode = { Approve: 0n, Refuse: 1n, Revert: 2n, BurnGas: 3n } as const;

async function walletChannel(f: Fixture, mode: bigint) {
  const wallet: ERC1271Wallet = await ethers.deployContract("ERC1271Wallet", [f.payer.address]);
  await wallet.setMode(mode);
  const walletAddress = await wallet.getAddress();
  const opened = await openChannel(f, f.asset("ETH"), { signer: walletAddress });
  // The wallet's owner key signs; only the wallet's isValidSignature can make that count.
  const signature = await signVoucher(f, f.payer, opened.id, 100n);
  return { ...opened, wallet, walletAddress, signature };
}

describe("attack: ERC-1271 signers", () => {
  it("a wallet that approves lets the payee claim", async () => {
    const f = await deploy();
    const { config, id, signature } = await walletChannel(f, WalletMode.Approve);
    await expectBalanceChanges(
      f.asset("ETH"),
      () => f.channels.connect(f.payee).claim(config, 100n, signature),
      parties(f, 0n, 100n, -100n),
    );
    await expectChannel(f, id, { deposit: DEPOSIT, claimed: 100n, status: Status.Open });
  });

  it("a wallet that approves also settles a close", async () => {
    const f = await deploy();
    const { config, signature } = await walletChannel(f, WalletMode.Approve);
    await expectBalanceChanges(
      f.asset("ETH"),
      () => f.channels.connect(f.payee).close(config, 100n, signature),
      parties(f, DEPOSIT - 100n, 100n, -DEPOSIT),
    );
  });

  for (const [name, mode] of [
    ["refuses", WalletMode.Refuse],
    ["reverts", WalletMode.Revert],
    ["burns all gas", WalletMode.BurnGas],
  ] as const) {
    it(`a wallet that ${name} makes the voucher invalid (VoucherSignatureInvalid), nothing is paid`, async () => {
      const f = await deploy();
      const { config, id, walletAddress, signature } = await walletChannel(f, mode);
      // A fixed gas limit: estimation would fail on the revert, and the burner must get a bounded amount.
      await expect(f.channels.connect(f.payee).claim(config, 100n, signature, { gasLimit: 2_000_000n }))
        .to.be.revertedWithCustomError(f.channels, "VoucherSignatureInvalid")
        .withArgs(id, walletAddress);
      await expectChannel(f, id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
    });
  }

  it("the owner's ECDSA signature does not bypass a refusing wallet (ECDSA must recover to the wallet itself)", async () => {
    const f = await deploy();
    const { config, id, walletAddress, signature } = await walletChannel(f, WalletMode.Refuse);
    expect(ethers.verifyTypedData(
      { name: "Trickle", version: "1", chainId: f.chainId, verifyingContract: f.channelsAddress },
      { Voucher: [{ name: "channelId", type: "bytes32" }, { name: "amount", type: "uint256" }] },
      { channelId: id, amount: 100n },
      signature,
    )).to.equal(f.payer.address);
    await expect(f.channels.connect(f.payee).close(config, 100n, signature))
      .to.be.revertedWithCustomError(f.channels, "VoucherSignatureInvalid")
      .withArgs(id, walletAddress);
  });
});
