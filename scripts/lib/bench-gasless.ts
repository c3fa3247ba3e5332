// Gas rows of the gasless deposits and the relayed settlements, for scripts/bench-gas.ts: a third account
// (the relayer) submits what the payer or the payee signed. See bench-gas.ts for the steady state each row meets.
import type { NetworkConnection } from "hardhat/types/network";
import type { ContractTransactionResponse, TypedDataField } from "ethers";
import type { PaymentChannels, TestToken, TestUsdc } from "../../typechain-types/index.ts";
import type { IPaymentChannels } from "../../typechain-types/PaymentChannels.ts";
import { permit2DepositTypedData, receiveAuthorizationTypedData, type TypedData } from "../../src/gasless.ts";
import { relayedClaimTypedData, relayedCloseTypedData, relayedRefundTypedData } from "../../src/relay.ts";
import type { Address, Hex } from "../../src/channel.ts";
import { installPermit2, PERMIT2_ADDRESS } from "./permit2.ts";

export interface GasRows {
  gas: Record<string, bigint>;
  targets: Record<string, bigint>;
  /** The measured transaction of each row, for scripts/trace-gas.ts. */
  transactions: Record<string, string>;
}

export interface GaslessBenchContext {
  connection: NetworkConnection;
  paymentChannels: PaymentChannels;
  /** The benchmark's ERC-20 (Permit2 rows). */
  token: TestToken;
  /** Signs a voucher of the payer for a channel. */
  voucher(config: IPaymentChannels.ChannelConfigStruct, amount: bigint): Promise<string>;
}

/** x402's ERC-3009 deposit (113,696) and its claim + settle in one transaction (71,049), each / 1.25. */
const GASLESS_DEPOSIT_TARGET = 90_957n;
const RELAYED_SETTLEMENT_TARGET = 56_839n;

export async function gaslessGas(context: GaslessBenchContext): Promise<GasRows> {
  const { connection, paymentChannels, token, voucher } = context;
  const { ethers, networkHelpers } = connection;
  const [, payer, payee, relayer] = await ethers.getSigners();
  const chainId = (await ethers.provider.getNetwork()).chainId;
  const contract = (await paymentChannels.getAddress()) as Address;
  const tokenAddress = (await token.getAddress()) as Address;
  await installPermit2(connection);
  const usdc = (await ethers.deployContract("TestUsdc")) as unknown as TestUsdc;
  const usdcAddress = (await usdc.getAddress()) as Address;
  const DEPOSIT = 1_000_000n;
  const VOUCHER = 400_000n;
  const FEE = 1_000n;

  // Steady state: every account holds both tokens, the contract holds both, Permit2 is approved for good.
  for (const account of [payer, payee, relayer]) {
    await (await usdc.mint(account.address, 10n ** 15n)).wait();
    await (await token.mint(account.address, 1n)).wait();
  }
  await (await usdc.mint(contract, 1n)).wait();
  await (await (token.connect(payer) as TestToken).approve(PERMIT2_ADDRESS, ethers.MaxUint256)).wait();

  let saltCounter = 0n;
  const newConfig = (tokenOf: string): IPaymentChannels.ChannelConfigStruct & { token: string } => ({
    payer: payer.address,
    payee: payee.address,
    token: tokenOf,
    signer: payer.address,
    closeDelay: 3600n,
    salt: ethers.id(`trickle gasless bench channel ${++saltCounter}`),
  });
  const asRelayer = paymentChannels.connect(relayer) as PaymentChannels;
  let lastTransaction = "";
  const gasOf = async (sent: Promise<ContractTransactionResponse>): Promise<bigint> => {
    const receipt = await (await sent).wait();
    if (receipt === null) throw new Error("transaction without a receipt");
    lastTransaction = receipt.hash;
    return receipt.gasUsed;
  };
  const sign = async (
    signer: typeof payer,
    typed: TypedData<Record<string, unknown>>,
  ): Promise<string> =>
    signer.signTypedData(typed.domain, typed.types as unknown as Record<string, TypedDataField[]>, typed.message);
  const later = async (): Promise<bigint> => BigInt(await networkHelpers.time.latest()) + 3600n;

  const authorization = async (config: ReturnType<typeof newConfig>, amount: bigint, salt?: Hex) => {
    const typed = receiveAuthorizationTypedData({
      token: { name: "Trickle Test USDC", version: "2", chainId, token: usdcAddress },
      contract,
      payer: payer.address as Address,
      channelId: (await paymentChannels.channelId(config)) as Hex,
      amount,
      validBefore: await later(),
      salt,
    });
    return { typed, signature: ethers.Signature.from(await sign(payer, typed)) };
  };
  let permitNonce = 0n;
  const permit2 = async (config: ReturnType<typeof newConfig>, amount: bigint) => {
    const typed = permit2DepositTypedData({
      chainId,
      contract,
      token: tokenAddress,
      channelId: (await paymentChannels.channelId(config)) as Hex,
      amount,
      nonce: ++permitNonce,
      deadline: await later(),
    });
    return { typed, signature: await sign(payer, typed) };
  };
  const openByAuthorization = async (config: ReturnType<typeof newConfig>): Promise<bigint> => {
    const { typed, signature } = await authorization(config, DEPOSIT);
    return gasOf(
      asRelayer.openWithAuthorization(config, DEPOSIT, 0n, typed.message.validBefore, signature.v, signature.r, signature.s),
    );
  };
  const openByPermit2 = async (config: ReturnType<typeof newConfig>): Promise<bigint> => {
    const { typed, signature } = await permit2(config, DEPOSIT);
    return gasOf(asRelayer.openWithPermit2(config, DEPOSIT, typed.message.nonce, typed.message.deadline, signature));
  };
  const domain = { chainId, verifyingContract: contract };

  const gas: Record<string, bigint> = {};
  const transactions: Record<string, string> = {};
  const record = (key: string, used: bigint): void => {
    gas[key] = used;
    transactions[key] = lastTransaction;
  };
  // A first Permit2 deposit puts the payer's nonce word in use, as for a payer who already used Permit2.
  await openByPermit2(newConfig(tokenAddress));
  record("openWithAuthorization", await openByAuthorization(newConfig(usdcAddress)));
  record("openWithPermit2", await openByPermit2(newConfig(tokenAddress)));
  {
    const config = newConfig(usdcAddress);
    await openByAuthorization(config);
    const { typed, signature } = await authorization(config, DEPOSIT, ethers.id("top-up 1") as Hex);
    record("topUpWithAuthorization", await gasOf(
      asRelayer.topUpWithAuthorization(
        config, DEPOSIT, 0n, typed.message.validBefore, ethers.id("top-up 1"), signature.v, signature.r, signature.s,
      ),
    ));
  }
  {
    const config = newConfig(tokenAddress);
    await openByPermit2(config);
    const { typed, signature } = await permit2(config, DEPOSIT);
    record("topUpWithPermit2", await gasOf(
      asRelayer.topUpWithPermit2(config, DEPOSIT, typed.message.nonce, typed.message.deadline, signature),
    ));
  }

  const relayedClaim = async (config: ReturnType<typeof newConfig>, fee = FEE): Promise<bigint> => {
    const id = (await paymentChannels.channelId(config)) as Hex;
    const deadline = await later();
    const payeeSignature = await sign(payee, relayedClaimTypedData({ domain, channelId: id, amount: VOUCHER, fee, deadline }));
    return gasOf(asRelayer.claimRelayed(config, VOUCHER, await voucher(config, VOUCHER), fee, deadline, payeeSignature));
  };
  const relayedClose = async (config: ReturnType<typeof newConfig>): Promise<bigint> => {
    const id = (await paymentChannels.channelId(config)) as Hex;
    const deadline = await later();
    const payeeSignature = await sign(payee, relayedCloseTypedData({ domain, channelId: id, amount: VOUCHER, fee: FEE, deadline }));
    return gasOf(asRelayer.closeRelayed(config, VOUCHER, await voucher(config, VOUCHER), FEE, deadline, payeeSignature));
  };
  const openEth = async (): Promise<ReturnType<typeof newConfig>> => {
    const config = newConfig(ethers.ZeroAddress);
    await (await (paymentChannels.connect(payer) as PaymentChannels).open(config, DEPOSIT, { value: DEPOSIT })).wait();
    return config;
  };
  const openUsdc = async (): Promise<ReturnType<typeof newConfig>> => {
    const config = newConfig(usdcAddress);
    await openByAuthorization(config);
    return config;
  };
  // A relayer's fees are credited and withdrawn in bulk: its credit is already non-zero, as between two
  // withdrawals of a relayer at work.
  await relayedClaim(await openEth());
  await relayedClaim(await openUsdc());
  record("claimRelayed", await relayedClaim(await openEth()));
  record("closeRelayed", await relayedClose(await openEth()));
  record("claimRelayedErc20", await relayedClaim(await openUsdc()));
  record("closeRelayedErc20", await relayedClose(await openUsdc()));
  // x402's claim + settle takes no relayer fee: the same settlement without one.
  record("claimRelayedNoFee", await relayedClaim(await openEth(), 0n));
  record("claimRelayedNoFeeErc20", await relayedClaim(await openUsdc(), 0n));
  // The relayer takes every fee it was credited in one transfer (its credit slot goes back to zero).
  record("relayerWithdrawCreditErc20", await gasOf(asRelayer.withdrawCredit(usdcAddress, relayer.address)));
  {
    const config = await openUsdc();
    record("refundErc20", await gasOf((paymentChannels.connect(payee) as PaymentChannels).refund(config, 1_000n)));
    const id = (await paymentChannels.channelId(config)) as Hex;
    const deadline = await later();
    const payeeSignature = await sign(payee, relayedRefundTypedData({ domain, channelId: id, refunded: 2_000n, deadline }));
    record("refundRelayedErc20", await gasOf(asRelayer.refundRelayed(config, 2_000n, deadline, payeeSignature)));
  }

  const targets: Record<string, bigint> = {
    openWithAuthorization: GASLESS_DEPOSIT_TARGET,
    openWithPermit2: GASLESS_DEPOSIT_TARGET,
    topUpWithAuthorization: GASLESS_DEPOSIT_TARGET,
    topUpWithPermit2: GASLESS_DEPOSIT_TARGET,
    claimRelayed: RELAYED_SETTLEMENT_TARGET,
    closeRelayed: RELAYED_SETTLEMENT_TARGET,
    claimRelayedErc20: RELAYED_SETTLEMENT_TARGET,
    closeRelayedErc20: RELAYED_SETTLEMENT_TARGET,
    claimRelayedNoFee: RELAYED_SETTLEMENT_TARGET,
    claimRelayedNoFeeErc20: RELAYED_SETTLEMENT_TARGET,
  };
  return { gas, targets, transactions };
}
