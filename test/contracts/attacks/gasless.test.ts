// Attacks on what a payer or payee signs for someone else to submit: front-running each gasless open and
// top-up (ERC-3009 and Permit2) and each relayed settlement, and replaying a signature across channels,
// contracts, chains and entry points. In every case the attacker gains nothing beyond the fee the payee
// offered to whoever submits, and the signer loses nothing.
import { expect } from "chai";
import {
  DEPOSIT,
  Status,
  channelIdOf,
  ethers,
  expectChannel,
  makeConfig,
  openChannel,
  signVoucher,
} from "../helpers/fixtures.ts";
import {
  deployGasless,
  permit2,
  signAuthorization,
  signPermit2,
  signRelayedClaim,
  signRelayedClose,
  signRelayedRefund,
} from "../helpers/gasless.ts";
import type { Hex } from "../../../src/channel.ts";

describe("attack: front-running a gasless ERC-3009 deposit", () => {
  it("the token pays receiveWithAuthorization only to its recipient: an attacker calling it directly fails", async () => {
    const f = await deployGasless();
    const config = makeConfig(f, f.usdcAsset);
    const { signature, validAfter, validBefore, nonce } = await signAuthorization(f, channelIdOf(config), DEPOSIT);
    await expect(
      f.usdc
        .connect(f.other)
        .receiveWithAuthorization(f.payer.address, f.channelsAddress, DEPOSIT, validAfter, validBefore, nonce, signature.v, signature.r, signature.s),
    ).to.be.revertedWithCustomError(f.usdc, "CallerNotPayee");
    await expect(
      f.usdc
        .connect(f.other)
        .transferWithAuthorization(f.payer.address, f.other.address, DEPOSIT, validAfter, validBefore, nonce, signature.v, signature.r, signature.s),
    ).to.be.revertedWithCustomError(f.usdc, "AuthorizationSignatureInvalid");
  });

  it("an attacker who changes the config (its own payee, another signer or salt) or the amount opens nothing", async () => {
    const f = await deployGasless();
    const config = makeConfig(f, f.usdcAsset);
    const { signature, validAfter, validBefore } = await signAuthorization(f, channelIdOf(config), DEPOSIT);
    for (const [tampered, amount] of [
      [{ ...config, payee: f.other.address }, DEPOSIT],
      [{ ...config, signer: f.other.address }, DEPOSIT],
      [{ ...config, salt: ethers.id("mine") }, DEPOSIT],
      [config, DEPOSIT - 1n],
    ] as const) {
      await expect(
        f.channels
          .connect(f.other)
          .openWithAuthorization(tampered, amount, validAfter, validBefore, signature.v, signature.r, signature.s),
      ).to.be.revertedWithCustomError(f.usdc, "AuthorizationSignatureInvalid");
      await expectChannel(f, channelIdOf(tampered), { deposit: 0n, claimed: 0n, status: Status.None });
    }
    // Submitted as signed, by anyone, it opens the payer's channel; the front-run relayer's copy then fails.
    const send = () =>
      f.channels.connect(f.other).openWithAuthorization(config, DEPOSIT, validAfter, validBefore, signature.v, signature.r, signature.s);
    await send();
    await expect(send()).to.be.revertedWithCustomError(f.channels, "ChannelExists");
    await expectChannel(f, channelIdOf(config), { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
  });

  it("an open authorization cannot top up another channel, and a top-up's cannot top up another", async () => {
    const f = await deployGasless();
    const target = makeConfig(f, f.usdcAsset, { salt: ethers.id("target") });
    const attacker = makeConfig(f, f.usdcAsset, { salt: ethers.id("attacker"), payee: f.other.address });
    await f.usdc.connect(f.payer).approve(f.channelsAddress, ethers.MaxUint256);
    await openChannel(f, f.usdcAsset, { salt: ethers.id("attacker"), payee: f.other.address });
    const openAuth = await signAuthorization(f, channelIdOf(target), DEPOSIT);
    await expect(
      f.channels
        .connect(f.other)
        .topUpWithAuthorization(attacker, DEPOSIT, openAuth.validAfter, openAuth.validBefore, ethers.ZeroHash, openAuth.signature.v, openAuth.signature.r, openAuth.signature.s),
    ).to.be.revertedWithCustomError(f.usdc, "AuthorizationSignatureInvalid");
    const salt = ethers.id("s");
    const topUpAuth = await signAuthorization(f, channelIdOf(target), 10n, { salt: salt as Hex });
    await expect(
      f.channels
        .connect(f.other)
        .topUpWithAuthorization(attacker, 10n, topUpAuth.validAfter, topUpAuth.validBefore, salt, topUpAuth.signature.v, topUpAuth.signature.r, topUpAuth.signature.s),
    ).to.be.revertedWithCustomError(f.usdc, "AuthorizationSignatureInvalid");
  });

  it("an authorization made out to another deployment is refused here", async () => {
    const f = await deployGasless();
    const config = makeConfig(f, f.usdcAsset);
    const otherDeployment = await ethers.deployContract("PaymentChannels");
    const auth = await signAuthorization(f, channelIdOf(config), DEPOSIT, { contract: await otherDeployment.getAddress() });
    await expect(
      f.channels
        .connect(f.other)
        .openWithAuthorization(config, DEPOSIT, auth.validAfter, auth.validBefore, auth.signature.v, auth.signature.r, auth.signature.s),
    ).to.be.revertedWithCustomError(f.usdc, "AuthorizationSignatureInvalid");
  });
});

describe("attack: front-running a gasless Permit2 deposit", () => {
  it("the signature names PaymentChannels as spender: an attacker calling Permit2 directly cannot move the funds", async () => {
    const f = await deployGasless();
    const config = makeConfig(f, f.asset("ERC-20"));
    const id = channelIdOf(config);
    const { signature, nonce, deadline } = await signPermit2(f, id, DEPOSIT);
    const witness = ethers.keccak256(
      ethers.AbiCoder.defaultAbiCoder().encode(["bytes32", "bytes32"], [ethers.id("ChannelDeposit(bytes32 channelId)"), id]),
    );
    await expect(
      (permit2().connect(f.other) as ReturnType<typeof permit2>).permitWitnessTransferFrom(
        { permitted: { token: f.tokenAddress, amount: DEPOSIT }, nonce, deadline },
        { to: f.other.address, requestedAmount: DEPOSIT },
        f.payer.address,
        witness,
        await f.channels.PERMIT2_WITNESS_TYPE(),
        signature,
      ),
    ).to.be.revertedWithCustomError(permit2(), "InvalidSigner");
  });

  it("an attacker who changes the config or the amount opens nothing", async () => {
    const f = await deployGasless();
    const config = makeConfig(f, f.asset("ERC-20"));
    const { signature, nonce, deadline } = await signPermit2(f, channelIdOf(config), DEPOSIT);
    for (const [tampered, amount] of [
      [{ ...config, payee: f.other.address }, DEPOSIT],
      [{ ...config, salt: ethers.id("mine") }, DEPOSIT],
      [config, DEPOSIT + 1n],
    ] as const) {
      await expect(
        f.channels.connect(f.other).openWithPermit2(tampered, amount, nonce, deadline, signature),
      ).to.be.revertedWithCustomError(permit2(), "InvalidSigner");
      await expectChannel(f, channelIdOf(tampered), { deposit: 0n, claimed: 0n, status: Status.None });
    }
    // A top-up of another open channel with the same signature fails too.
    const other = await openChannel(f, f.asset("ERC-20"), { salt: ethers.id("open"), payee: f.other.address });
    await expect(
      f.channels.connect(f.other).topUpWithPermit2(other.config, DEPOSIT, nonce, deadline, signature),
    ).to.be.revertedWithCustomError(permit2(), "InvalidSigner");
  });
});

describe("attack: replaying a payee's relayed-settlement signature", () => {
  it("across channels: a claim, close or refund signed for one channel is refused on another", async () => {
    const f = await deployGasless();
    const asset = f.asset("ETH");
    const first = await openChannel(f, asset, { salt: ethers.id("first") });
    const second = await openChannel(f, asset, { salt: ethers.id("second") });
    const voucher = await signVoucher(f, f.payer, second.id, 100n);
    const claim = await signRelayedClaim(f, first.id, 100n, 0n);
    await expect(f.channels.connect(f.other).claimRelayed(second.config, 100n, voucher, 0n, claim.deadline, claim.payeeSignature))
      .to.be.revertedWithCustomError(f.channels, "SettlementSignatureInvalid")
      .withArgs(second.id, f.payee.address);
    const close = await signRelayedClose(f, first.id, 100n, 0n);
    await expect(f.channels.connect(f.other).closeRelayed(second.config, 100n, voucher, 0n, close.deadline, close.payeeSignature))
      .to.be.revertedWithCustomError(f.channels, "SettlementSignatureInvalid");
    const refund = await signRelayedRefund(f, first.id, 100n);
    await expect(f.channels.connect(f.other).refundRelayed(second.config, 100n, refund.deadline, refund.payeeSignature))
      .to.be.revertedWithCustomError(f.channels, "SettlementSignatureInvalid");
    await expectChannel(f, second.id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
  });

  it("across chains and contracts: a signature under another chain id or another deployment is refused", async () => {
    const f = await deployGasless();
    const { config, id } = await openChannel(f, f.asset("ETH"));
    const voucher = await signVoucher(f, f.payer, id, 100n);
    const otherChain = await signRelayedClaim(f, id, 100n, 0n, { chainId: f.chainId + 1n });
    await expect(f.channels.connect(f.other).claimRelayed(config, 100n, voucher, 0n, otherChain.deadline, otherChain.payeeSignature))
      .to.be.revertedWithCustomError(f.channels, "SettlementSignatureInvalid");
    const otherContract = await signRelayedClaim(f, id, 100n, 0n, { contract: f.other.address });
    await expect(f.channels.connect(f.other).claimRelayed(config, 100n, voucher, 0n, otherContract.deadline, otherContract.payeeSignature))
      .to.be.revertedWithCustomError(f.channels, "SettlementSignatureInvalid");
    await expectChannel(f, id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
  });

  it("across entry points: a refund signature is no claim, and a voucher is no settlement signature", async () => {
    const f = await deployGasless();
    const { config, id } = await openChannel(f, f.asset("ETH"));
    const voucher = await signVoucher(f, f.payer, id, 100n);
    const refund = await signRelayedRefund(f, id, 100n);
    await expect(f.channels.connect(f.other).claimRelayed(config, 100n, voucher, 0n, refund.deadline, refund.payeeSignature))
      .to.be.revertedWithCustomError(f.channels, "SettlementSignatureInvalid");
    // A voucher signed by the payee itself (the payer's session key being the payee) is still no RelayedClaim.
    const payeeVoucher = await signVoucher(f, f.payee, id, 100n);
    await expect(f.channels.connect(f.other).claimRelayed(config, 100n, voucher, 0n, refund.deadline, payeeVoucher))
      .to.be.revertedWithCustomError(f.channels, "SettlementSignatureInvalid");
    await expectChannel(f, id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
  });

  it("a relayed close signature is spent once: the id never reopens and the close cannot run again", async () => {
    const f = await deployGasless();
    const { config, id } = await openChannel(f, f.asset("ETH"));
    const voucher = await signVoucher(f, f.payer, id, 100n);
    const close = await signRelayedClose(f, id, 100n, 0n);
    await f.channels.connect(f.other).closeRelayed(config, 100n, voucher, 0n, close.deadline, close.payeeSignature);
    await expect(f.channels.connect(f.payer).open(config, DEPOSIT, { value: DEPOSIT }))
      .to.be.revertedWithCustomError(f.channels, "ChannelExists");
    await expect(f.channels.connect(f.other).closeRelayed(config, 100n, voucher, 0n, close.deadline, close.payeeSignature))
      .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen")
      .withArgs(id, Status.Finished);
  });
});

describe("attack: replaying a payer's gasless deposit signature across chains, contracts and entry points", () => {
  it("an ERC-3009 authorization signed under another chain id is refused by the token", async () => {
    const f = await deployGasless();
    const config = makeConfig(f, f.usdcAsset);
    const auth = await signAuthorization(f, channelIdOf(config), DEPOSIT, { chainId: f.chainId + 1n });
    await expect(
      f.channels
        .connect(f.other)
        .openWithAuthorization(config, DEPOSIT, auth.validAfter, auth.validBefore, auth.signature.v, auth.signature.r, auth.signature.s),
    ).to.be.revertedWithCustomError(f.usdc, "AuthorizationSignatureInvalid");
    await expectChannel(f, channelIdOf(config), { deposit: 0n, claimed: 0n, status: Status.None });
  });

  it("an ERC-3009 open authorization is spent by the open: replayed as a top-up of the same channel it is refused", async () => {
    const f = await deployGasless();
    const config = makeConfig(f, f.usdcAsset);
    const id = channelIdOf(config);
    const auth = await signAuthorization(f, id, DEPOSIT);
    const { v, r, s } = auth.signature;
    await f.channels.connect(f.other).openWithAuthorization(config, DEPOSIT, auth.validAfter, auth.validBefore, v, r, s);
    await expect(
      f.channels.connect(f.other).topUpWithAuthorization(config, DEPOSIT, auth.validAfter, auth.validBefore, ethers.ZeroHash, v, r, s),
    ).to.be.revertedWithCustomError(f.usdc, "AuthorizationUsedOrCanceled");
    await expectChannel(f, id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
  });

  it("a Permit2 signature made out to another deployment or under another chain id is refused by Permit2", async () => {
    const f = await deployGasless();
    const config = makeConfig(f, f.asset("ERC-20"));
    const id = channelIdOf(config);
    const otherDeployment = await signPermit2(f, id, DEPOSIT, { contract: f.other.address });
    await expect(
      f.channels.connect(f.other).openWithPermit2(config, DEPOSIT, otherDeployment.nonce, otherDeployment.deadline, otherDeployment.signature),
    ).to.be.revertedWithCustomError(permit2(), "InvalidSigner");
    const otherChain = await signPermit2(f, id, DEPOSIT, { chainId: f.chainId + 1n });
    await expect(
      f.channels.connect(f.other).openWithPermit2(config, DEPOSIT, otherChain.nonce, otherChain.deadline, otherChain.signature),
    ).to.be.revertedWithCustomError(permit2(), "InvalidSigner");
    await expectChannel(f, id, { deposit: 0n, claimed: 0n, status: Status.None });
  });

  it("a Permit2 deposit signature works once, whichever entry point: an open's cannot top up the channel it opened", async () => {
    const f = await deployGasless();
    const config = makeConfig(f, f.asset("ERC-20"));
    const id = channelIdOf(config);
    const { signature, nonce, deadline } = await signPermit2(f, id, DEPOSIT);
    await f.channels.connect(f.other).openWithPermit2(config, DEPOSIT, nonce, deadline, signature);
    await expect(f.channels.connect(f.other).topUpWithPermit2(config, DEPOSIT, nonce, deadline, signature))
      .to.be.revertedWithCustomError(permit2(), "InvalidNonce");
    await expectChannel(f, id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
  });
});

describe("attack: front-running a gasless top-up", () => {
  it("ERC-3009: a front-runner who changes the channel or the amount adds nothing; as signed it adds exactly the signed amount, once", async () => {
    const f = await deployGasless();
    await f.usdc.connect(f.payer).approve(f.channelsAddress, ethers.MaxUint256);
    const target = await openChannel(f, f.usdcAsset, { salt: ethers.id("target") });
    const mine = await openChannel(f, f.usdcAsset, { salt: ethers.id("mine"), payee: f.other.address });
    const salt = ethers.id("top-up") as Hex;
    const auth = await signAuthorization(f, target.id, 500n, { salt });
    const { v, r, s } = auth.signature;
    for (const [config, amount] of [[mine.config, 500n], [target.config, 501n]] as const) {
      await expect(
        f.channels.connect(f.other).topUpWithAuthorization(config, amount, auth.validAfter, auth.validBefore, salt, v, r, s),
      ).to.be.revertedWithCustomError(f.usdc, "AuthorizationSignatureInvalid");
    }
    await f.channels.connect(f.other).topUpWithAuthorization(target.config, 500n, auth.validAfter, auth.validBefore, salt, v, r, s);
    await expect(
      f.channels.connect(f.payee).topUpWithAuthorization(target.config, 500n, auth.validAfter, auth.validBefore, salt, v, r, s),
    ).to.be.revertedWithCustomError(f.usdc, "AuthorizationUsedOrCanceled");
    await expectChannel(f, target.id, { deposit: DEPOSIT + 500n, claimed: 0n, status: Status.Open });
    await expectChannel(f, mine.id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
  });

  it("Permit2: a front-runner who changes the channel or the amount adds nothing; as signed it adds exactly the signed amount, once", async () => {
    const f = await deployGasless();
    const asset = f.asset("ERC-20");
    const target = await openChannel(f, asset, { salt: ethers.id("target") });
    const mine = await openChannel(f, asset, { salt: ethers.id("mine"), payee: f.other.address });
    const { signature, nonce, deadline } = await signPermit2(f, target.id, 500n);
    for (const [config, amount] of [[mine.config, 500n], [target.config, 501n]] as const) {
      await expect(f.channels.connect(f.other).topUpWithPermit2(config, amount, nonce, deadline, signature))
        .to.be.revertedWithCustomError(permit2(), "InvalidSigner");
    }
    await f.channels.connect(f.other).topUpWithPermit2(target.config, 500n, nonce, deadline, signature);
    await expect(f.channels.connect(f.payee).topUpWithPermit2(target.config, 500n, nonce, deadline, signature))
      .to.be.revertedWithCustomError(permit2(), "InvalidNonce");
    await expectChannel(f, target.id, { deposit: DEPOSIT + 500n, claimed: 0n, status: Status.Open });
    await expectChannel(f, mine.id, { deposit: DEPOSIT, claimed: 0n, status: Status.Open });
  });
});

describe("attack: front-running a relayed settlement", () => {
  for (const kind of ["ETH", "ERC-20"] as const) {
    it(`${kind}: a front-runner who changes the amount, fee or deadline is refused; as signed it is credited exactly the signed fee and the payee gets the rest`, async () => {
      const f = await deployGasless();
      const asset = f.asset(kind);
      const { config, id } = await openChannel(f, asset);
      const voucher = await signVoucher(f, f.payer, id, 400n);
      const { payeeSignature, deadline } = await signRelayedClaim(f, id, 400n, 10n);
      const lower = await signVoucher(f, f.payer, id, 300n);
      const frontRunner = f.payer;
      for (const [amount, signature, fee, until] of [
        [300n, lower, 10n, deadline],
        [400n, voucher, 11n, deadline],
        [400n, voucher, 10n, deadline + 1n],
      ] as const) {
        await expect(f.channels.connect(frontRunner).claimRelayed(config, amount, signature, fee, until, payeeSignature))
          .to.be.revertedWithCustomError(f.channels, "SettlementSignatureInvalid");
      }
      const payeeBefore = await asset.balanceOf(f.payee.address);
      await f.channels.connect(frontRunner).claimRelayed(config, 400n, voucher, 10n, deadline, payeeSignature);
      expect(await asset.balanceOf(f.payee.address)).to.equal(payeeBefore + 390n);
      expect(await f.channels.credits(asset.token, frontRunner.address)).to.equal(10n);
      // The relayer's own copy now pays nothing: the voucher is spent, nobody lost anything it was owed.
      await expect(f.channels.connect(f.other).claimRelayed(config, 400n, voucher, 10n, deadline, payeeSignature))
        .to.be.revertedWithCustomError(f.channels, "VoucherAmountNotIncreasing");
      expect(await f.channels.credits(asset.token, f.other.address)).to.equal(0n);

      const close = await signRelayedClose(f, id, 400n, 0n);
      const refund = await signRelayedRefund(f, id, 100n);
      await f.channels.connect(frontRunner).refundRelayed(config, 100n, refund.deadline, refund.payeeSignature);
      await expect(f.channels.connect(f.other).refundRelayed(config, 100n, refund.deadline, refund.payeeSignature))
        .to.be.revertedWithCustomError(f.channels, "RefundNotIncreasing");
      await f.channels.connect(frontRunner).closeRelayed(config, 400n, "0x", 0n, close.deadline, close.payeeSignature);
      await expect(f.channels.connect(f.other).closeRelayed(config, 400n, "0x", 0n, close.deadline, close.payeeSignature))
        .to.be.revertedWithCustomError(f.channels, "ChannelNotOpen");
      await expectChannel(f, id, { deposit: DEPOSIT - 100n, claimed: 400n, status: Status.Finished });
    });
  }
});
