// Gasless deposits and relayed settlements through the viem and ethers adapters: the payer's or payee's
// adapter signs the SDK's typed data, a third account's adapter submits it, and exactly the signed thing
// happens on-chain. And the adapters' claimMany, which sends the compact batch when every signer is an EOA.
import { expect } from "chai";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { channelId, ChannelStatus, ETH, type Address, type ChannelConfig, type Hex } from "../../src/channel.ts";
import { ContractRevertError } from "../../src/errors.ts";
import type { ChainWriter } from "../../src/chain/adapter.ts";
import { toCompactClaims } from "../../src/chain/compact-claims.ts";
import { permit2DepositTypedData, receiveAuthorizationTypedData, PERMIT2_ADDRESS } from "../../src/gasless.ts";
import { relayedClaimTypedData, relayedCloseTypedData, relayedRefundTypedData } from "../../src/relay.ts";
import { installPermit2 } from "../../scripts/lib/permit2.ts";
import { ADAPTERS, deploy, salt, type Deployment } from "./fixture.ts";

const USDC = 10n ** 6n;

for (const kind of ADAPTERS) {
  describe(`gasless deposits and relayed settlement (${kind} adapter)`, function () {
    let d: Deployment;
    let payerChain: ChainWriter;
    let payeeChain: ChainWriter;
    let relayerChain: ChainWriter;
    let payer: Address;
    let payee: Address;
    let relayer: Address;
    let usdc: Address;
    let usdcBalance: (account: Address) => Promise<bigint>;
    const session = privateKeyToAccount(generatePrivateKey());
    let nextSalt = 1;

    function config(token: Address, overrides: Partial<ChannelConfig> = {}): ChannelConfig {
      return { payer, payee, token, signer: session.address, closeDelay: 3600n, salt: salt(nextSalt++), ...overrides };
    }

    function voucher(id: Hex, amount: bigint): Promise<Hex> {
      return session.signTypedData({
        domain: { name: "Trickle", version: "1", chainId: d.chainId, verifyingContract: d.contract },
        types: { Voucher: [{ name: "channelId", type: "bytes32" }, { name: "amount", type: "uint256" }] },
        primaryType: "Voucher",
        message: { channelId: id, amount },
      });
    }

    async function later(): Promise<bigint> {
      return (await payerChain.blockTimestamp()) + 3600n;
    }

    async function openByAuthorization(c: ChannelConfig, amount: bigint) {
      const validBefore = await later();
      const typed = receiveAuthorizationTypedData({
        token: { name: "Trickle Test USDC", version: "2", chainId: d.chainId, token: usdc },
        contract: d.contract,
        payer,
        channelId: channelId(c),
        amount,
        validBefore,
      });
      const signature = await payerChain.signTypedData(typed);
      return relayerChain.openWithAuthorization(c, amount, { validAfter: 0n, validBefore, signature });
    }

    before(async () => {
      d = await deploy(kind);
      payer = d.accounts[1];
      payee = d.accounts[2];
      relayer = d.accounts[4];
      payerChain = await d.writer(1);
      payeeChain = await d.writer(2);
      relayerChain = await d.writer(4);
      const { ethers } = d.connection;
      await installPermit2(d.connection);
      const token = await ethers.deployContract("TestUsdc");
      usdc = (await token.getAddress()) as Address;
      await (await token.getFunction("mint")(payer, 1_000n * USDC)).wait();
      usdcBalance = async (account) => (await token.getFunction("balanceOf")(account)) as bigint;
      await d.mint(payer, 1_000n * USDC);
      const signers = await ethers.getSigners();
      const testToken = await ethers.getContractAt("TestToken", d.token, signers[1]);
      await (await testToken.approve(PERMIT2_ADDRESS, ethers.MaxUint256)).wait();
    });

    it("a payer's ERC-3009 authorization, submitted by a relayer, opens exactly the signed channel", async () => {
      const c = config(usdc);
      const payerBefore = await usdcBalance(payer);
      const start = await relayerChain.blockNumber();
      const tx = await openByAuthorization(c, 10n * USDC);
      expect(await usdcBalance(payer)).to.equal(payerBefore - 10n * USDC);
      expect(await relayerChain.readChannel(channelId(c))).to.include({ deposit: 10n * USDC, status: ChannelStatus.Open });
      const events = await d.reader().events(start + 1n, tx.blockNumber);
      expect(events.map((e) => e.type)).to.deep.equal(["opened"]);
      expect(events[0]).to.deep.include({ channelId: channelId(c), config: c, deposit: 10n * USDC });
      // The same authorization for another payee opens nothing.
      const stolen = { ...c, payee: relayer, salt: salt(nextSalt++) };
      const validBefore = await later();
      const signature = await payerChain.signTypedData(
        receiveAuthorizationTypedData({
          token: { name: "Trickle Test USDC", version: "2", chainId: d.chainId, token: usdc },
          contract: d.contract,
          payer,
          channelId: channelId(c),
          amount: USDC,
          validBefore,
          salt: salt(99),
        }),
      );
      try {
        await relayerChain.openWithAuthorization(stolen, USDC, { validAfter: 0n, validBefore, signature });
        expect.fail("a tampered authorization must revert");
      } catch (error) {
        expect(error).to.be.instanceOf(ContractRevertError);
      }
      expect((await relayerChain.readChannel(channelId(stolen))).status).to.equal(ChannelStatus.None);
    });

    it("a gasless ERC-3009 top-up names the payer as funder", async () => {
      const c = config(usdc);
      await openByAuthorization(c, 10n * USDC);
      const validBefore = await later();
      const topUpSalt = salt(12345);
      const signature = await payerChain.signTypedData(
        receiveAuthorizationTypedData({
          token: { name: "Trickle Test USDC", version: "2", chainId: d.chainId, token: usdc },
          contract: d.contract,
          payer,
          channelId: channelId(c),
          amount: USDC,
          validBefore,
          salt: topUpSalt,
        }),
      );
      const tx = await relayerChain.topUpWithAuthorization(c, USDC, { validAfter: 0n, validBefore, salt: topUpSalt, signature });
      const [event] = await d.reader().events(tx.blockNumber, tx.blockNumber);
      expect(event).to.include({ type: "toppedUp", amount: USDC, deposit: 11n * USDC });
      expect(event.type === "toppedUp" && event.funder.toLowerCase()).to.equal(payer.toLowerCase());
    });

    it("a payer's Permit2 signature, submitted by a relayer, opens and tops up exactly the signed channel", async () => {
      const c = config(d.token);
      const id = channelId(c);
      const permit = async (amount: bigint, nonce: bigint) => {
        const deadline = await later();
        const signature = await payerChain.signTypedData(
          permit2DepositTypedData({ chainId: d.chainId, contract: d.contract, token: d.token, channelId: id, amount, nonce, deadline }),
        );
        return { nonce, deadline, signature };
      };
      const before = await d.balance(payer, d.token);
      await relayerChain.openWithPermit2(c, 20n * USDC, await permit(20n * USDC, 1n));
      await relayerChain.topUpWithPermit2(c, 5n * USDC, await permit(5n * USDC, 2n));
      expect(await d.balance(payer, d.token)).to.equal(before - 25n * USDC);
      expect(await relayerChain.readChannel(id)).to.include({ deposit: 25n * USDC, status: ChannelStatus.Open });
    });

    it("a payee's relayed claim, refund and close credit the relayer its fee, withdrawn at once, and decode as events", async () => {
      const c = config(usdc);
      const id = channelId(c);
      await openByAuthorization(c, 10n * USDC);
      const domain = { chainId: d.chainId, verifyingContract: d.contract };
      const deadline = await later();
      const start = await relayerChain.blockNumber();
      const payeeBefore = await usdcBalance(payee);
      const relayerBefore = await usdcBalance(relayer);
      const claimSig = await payeeChain.signTypedData(relayedClaimTypedData({ domain, channelId: id, amount: 3n * USDC, fee: 1_000n, deadline }));
      await relayerChain.claimRelayed(c, 3n * USDC, await voucher(id, 3n * USDC), { fee: 1_000n, deadline, payeeSignature: claimSig });
      const refundSig = await payeeChain.signTypedData(relayedRefundTypedData({ domain, channelId: id, refunded: USDC, deadline }));
      await relayerChain.refundRelayed(c, USDC, deadline, refundSig);
      await payeeChain.refund(c, USDC);
      await payerChain.requestClose(c);
      const closeSig = await payeeChain.signTypedData(relayedCloseTypedData({ domain, channelId: id, amount: 4n * USDC, fee: 500n, deadline }));
      const closeTx = await relayerChain.closeRelayed(c, 4n * USDC, await voucher(id, 4n * USDC), { fee: 500n, deadline, payeeSignature: closeSig });
      expect(await usdcBalance(payee)).to.equal(payeeBefore + 4n * USDC - 1_500n);
      expect(await usdcBalance(relayer)).to.equal(relayerBefore);
      expect(await relayerChain.readCredit(usdc)).to.equal(1_500n);
      expect(await payeeChain.readCredit(usdc, relayer)).to.equal(1_500n);
      await relayerChain.withdrawCredit(usdc);
      expect(await usdcBalance(relayer)).to.equal(relayerBefore + 1_500n);
      expect(await relayerChain.readCredit(usdc)).to.equal(0n);
      const events = await d.reader().events(start + 1n, closeTx.blockNumber);
      expect(events.map((e) => e.type)).to.deep.equal(["claimed", "refunded", "refunded", "closeRequested", "closed"]);
      expect(events[0]).to.include({ claimed: 3n * USDC, paid: 3n * USDC });
      expect(events[1]).to.include({ amount: USDC, deposit: 9n * USDC });
      expect(events[2]).to.include({ amount: USDC, deposit: 8n * USDC });
      expect(events[3].type === "closeRequested" && events[3].payee.toLowerCase()).to.equal(payee.toLowerCase());
      expect(events[4]).to.include({ claimed: 4n * USDC, refund: 4n * USDC });
      expect(events[4].type === "closed" && events[4].payer.toLowerCase()).to.equal(payer.toLowerCase());
    });

    it("claimMany sends claimManyCompact when every signer is an EOA, claimMany otherwise", async () => {
      const a = config(ETH);
      const b = config(ETH);
      for (const x of [a, b]) await payerChain.open(x, 10n ** 15n);
      const claims = [
        { config: a, amount: 100n, signature: await voucher(channelId(a), 100n) },
        { config: b, amount: 200n, signature: await voucher(channelId(b), 200n) },
      ];
      const domain = { chainId: d.chainId, verifyingContract: d.contract };
      expect(toCompactClaims(domain, claims)).to.have.length(2);
      const tx = await payeeChain.claimMany(claims);
      const sent = await d.connection.ethers.provider.getTransaction(tx.hash);
      const selector = (await d.connection.ethers.getContractAt("PaymentChannels", d.contract)).interface.getFunction("claimManyCompact")!.selector;
      expect(sent?.data.slice(0, 10)).to.equal(selector);
      expect(await payeeChain.readChannel(channelId(b))).to.include({ claimed: 200n });
      // A signature that does not recover to the config's signer (an ERC-1271 wallet's, say) keeps the general form.
      const wrong = [{ config: a, amount: 300n, signature: await voucher(channelId(b), 300n) }];
      expect(toCompactClaims(domain, wrong)).to.equal(undefined);
    });
  });
}
