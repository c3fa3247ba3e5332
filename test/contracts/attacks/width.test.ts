// Money property 7: amounts beyond the stored width (uint104) are refused, never truncated.
import { expect } from "chai";
import {
  ASSET_KINDS,
  MAX_DEPOSIT,
  Status,
  deploy,
  ethers,
  expectChannel,
  expectSolvent,
  makeConfig,
  networkHelpers,
  openChannel,
  signVoucher,
  type Fixture,
} from "../helpers/fixtures.ts";

/** Gives the payer enough of the asset to go past the stored width. */
async function fundBeyondWidth(f: Fixture, kind: "ETH" | "ERC-20"): Promise<void> {
  if (kind === "ETH") await networkHelpers.setBalance(f.payer.address, MAX_DEPOSIT * 4n);
  else await f.token.mint(f.payer.address, MAX_DEPOSIT * 2n);
}

describe("attack: amounts beyond the stored width", () => {
  for (const kind of ASSET_KINDS) {
    describe(`${kind} channel`, () => {
      it("open with MAX_DEPOSIT + 1 reverts DepositTooLarge", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        await fundBeyondWidth(f, kind);
        const config = makeConfig(f, asset);
        const amount = MAX_DEPOSIT + 1n;
        await expect(f.channels.connect(f.payer).open(config, amount, asset.value(amount)))
          .to.be.revertedWithCustomError(f.channels, "DepositTooLarge")
          .withArgs(amount, MAX_DEPOSIT);
        expect(await asset.balanceOf(f.channelsAddress)).to.equal(0n);
      });

      it("open with exactly MAX_DEPOSIT stores it whole and it can be claimed whole", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        await fundBeyondWidth(f, kind);
        const { config, id } = await openChannel(f, asset, { deposit: MAX_DEPOSIT });
        await expectChannel(f, id, { deposit: MAX_DEPOSIT, claimed: 0n, status: Status.Open });
        await f.channels.connect(f.payee).close(config, MAX_DEPOSIT, await signVoucher(f, f.payer, id, MAX_DEPOSIT));
        await expectChannel(f, id, { deposit: MAX_DEPOSIT, claimed: MAX_DEPOSIT, status: Status.Finished });
        await expectSolvent(f, asset, [id], []);
      });

      it("a topUp that would pass MAX_DEPOSIT reverts DepositTooLarge and leaves the deposit as it was", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        await fundBeyondWidth(f, kind);
        const { config, id } = await openChannel(f, asset, { deposit: MAX_DEPOSIT - 5n });
        await expect(f.channels.connect(f.payer).topUp(config, 6n, asset.value(6n)))
          .to.be.revertedWithCustomError(f.channels, "DepositTooLarge")
          .withArgs(MAX_DEPOSIT + 1n, MAX_DEPOSIT);
        await expectChannel(f, id, { deposit: MAX_DEPOSIT - 5n, claimed: 0n, status: Status.Open });
        await expectSolvent(f, asset, [id], []);
      });

      it("a voucher beyond uint104 is refused (VoucherAmountTooHigh), not truncated into a small claim", async () => {
        const f = await deploy();
        const asset = f.asset(kind);
        const { config, id } = await openChannel(f, asset);
        // Truncated to 104 bits this amount would be 5.
        const amount = (1n << 104n) + 5n;
        await expect(f.channels.connect(f.payee).claim(config, amount, await signVoucher(f, f.payer, id, amount)))
          .to.be.revertedWithCustomError(f.channels, "VoucherAmountTooHigh")
          .withArgs(amount, await f.channels.channels(id).then((c) => c.deposit));
        expect(ethers.toBigInt(amount) & MAX_DEPOSIT).to.equal(5n);
      });
    });
  }
});
