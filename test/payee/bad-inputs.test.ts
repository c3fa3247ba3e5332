// Every way a voucher can be wrong, through both adapters: each gets its typed error, and the payee's
// SQLite store is unchanged (a dump of every table, and its best vouchers, compared before and after).
import { expect } from "chai";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { channelId, ETH, type Address, type ChannelConfig, type Hex } from "../../src/channel.ts";
import type { Payee } from "../../src/payee.ts";
import { signVoucher, type Voucher } from "../../src/voucher.ts";
import { ADAPTERS, salt } from "../chain/fixture.ts";
import { dumpDatabase } from "../store/dump.ts";
import { sdkSetup, type SdkSetup } from "./setup.ts";

const ONE = 10n ** 18n;
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

interface Case {
  name: string;
  code: string;
  input(): { voucher: unknown; config?: ChannelConfig };
}

function withSignature(voucher: Voucher, signature: string): unknown {
  return { channelId: voucher.channelId, amount: voucher.amount, signature };
}

/** The same signature with s replaced by n - s and v flipped: what ECDSA malleability produces. */
function highS(signature: Hex): Hex {
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = parseInt(signature.slice(130, 132), 16);
  return `${signature.slice(0, 66)}${(N - s).toString(16).padStart(64, "0")}${(v === 27 ? 28 : 27).toString(16)}` as Hex;
}

function setV(signature: Hex, v: number): Hex {
  return `${signature.slice(0, 130)}${v.toString(16).padStart(2, "0")}` as Hex;
}

for (const kind of ADAPTERS) {
  describe(`Payee.accept refuses bad input, store unchanged (${kind})`, function () {
    let s: SdkSetup;
    let payee: Payee;
    let domain: { chainId: bigint; verifyingContract: Address };
    let mainConfig: ChannelConfig;
    let mainId: Hex;
    let mainKey: Hex;
    let otherId: Hex;
    let v100: Voucher;
    let v200: Voucher;
    const ids: Record<string, { id: Hex; key: Hex; config: ChannelConfig }> = {};
    let refusingWallet: { id: Hex; config: ChannelConfig; ownerKey: Hex };

    async function payerChannel(name: string, params: { payee?: Address; closeDelay?: bigint; token?: Address; amount?: bigint }) {
      const opened = await s.payer.open({ payee: params.payee ?? s.payeeAddress, amount: params.amount ?? ONE, closeDelay: params.closeDelay ?? 3600n, token: params.token });
      const record = await s.payerStore.payerChannel(opened.channelId);
      ids[name] = { id: opened.channelId, key: record!.sessionKey!, config: opened.config };
      return opened;
    }

    function sign(id: Hex, amount: bigint, key: Hex, on = domain): Voucher {
      return signVoucher(on, id, amount, key);
    }

    before(async () => {
      s = await sdkSetup(kind);
      const { d } = s;
      domain = { chainId: d.chainId, verifyingContract: d.contract };
      const otherToken = await d.connection.ethers.deployContract("TestToken");
      const otherTokenAddress = (await otherToken.getAddress()) as Address;
      await (await otherToken.getFunction("mint")(s.payerAddress, 10n ** 12n)).wait();
      payee = s.newPayee({ policy: { tokens: [ETH, d.token] } });

      const main = await payerChannel("main", {});
      mainConfig = main.config;
      mainId = main.channelId;
      mainKey = ids.main.key;
      v100 = await s.payer.payUpTo(mainId, 100n);
      v200 = await s.payer.payUpTo(mainId, 200n);
      await payee.accept(v100);
      await payee.accept(v200);
      otherId = (await payerChannel("other", {})).channelId;

      await payerChannel("closing", {});
      await payee.accept(await s.payer.payUpTo(ids.closing.id, 10n));
      await s.payer.requestClose(ids.closing.id);

      await payerChannel("finished", {});
      await payee.accept(await s.payer.payUpTo(ids.finished.id, 10n));
      await payee.close(ids.finished.id);

      await payerChannel("withdrawn", { closeDelay: 3600n });
      await s.payer.requestClose(ids.withdrawn.id);

      await payerChannel("shortDelay", { closeDelay: 60n });
      await payerChannel("wrongPayee", { payee: d.accounts[3] });
      await payerChannel("wrongToken", { token: otherTokenAddress, amount: 10n ** 9n });

      const ownerKey = generatePrivateKey();
      const wallet = await d.connection.ethers.deployContract("ERC1271Wallet", [privateKeyToAccount(ownerKey).address]);
      await (await wallet.getFunction("setMode")(1)).wait(); // Refuse
      const walletConfig: ChannelConfig = {
        payer: s.payerAddress,
        payee: s.payeeAddress,
        token: ETH,
        signer: (await wallet.getAddress()) as Address,
        closeDelay: 3600n,
        salt: salt(1271),
      };
      await s.payerChain.open(walletConfig, ONE);
      refusingWallet = { id: channelId(walletConfig), config: walletConfig, ownerKey };

      await d.increaseTime(3600n);
      await s.payer.withdraw(ids.withdrawn.id);
      await payee.sync();
    });
    after(async () => s.dispose());

    const cases: Case[] = [
      { name: "voucher that names another chain id", code: "WRONG_CHAIN", input: () => ({ voucher: { ...sign(mainId, 300n, mainKey), chainId: 999n } }) },
      { name: "voucher that names another contract", code: "WRONG_CHAIN", input: () => ({ voucher: { ...sign(mainId, 300n, mainKey), contract: s.d.token } }) },
      { name: "signed for another chain id", code: "BAD_SIGNATURE", input: () => ({ voucher: sign(mainId, 300n, mainKey, { ...domain, chainId: 999n }) }) },
      { name: "signed for another contract", code: "BAD_SIGNATURE", input: () => ({ voucher: sign(mainId, 300n, mainKey, { ...domain, verifyingContract: s.d.token }) }) },
      { name: "another channel's voucher with the channel id swapped", code: "BAD_SIGNATURE", input: () => ({ voucher: { ...sign(otherId, 300n, ids.other.key), channelId: mainId } }) },
      { name: "signed by another channel's session key", code: "BAD_SIGNATURE", input: () => ({ voucher: sign(mainId, 300n, ids.other.key) }) },
      { name: "signed by an unrelated key", code: "BAD_SIGNATURE", input: () => ({ voucher: sign(mainId, 300n, generatePrivateKey()) }) },
      { name: "amount changed after signing", code: "BAD_SIGNATURE", input: () => ({ voucher: { ...sign(mainId, 300n, mainKey), amount: 301n } }) },
      { name: "truncated signature (64 bytes)", code: "MALFORMED", input: () => ({ voucher: withSignature(v200, sign(mainId, 300n, mainKey).signature.slice(0, 130)) }) },
      { name: "over-long signature (66 bytes)", code: "MALFORMED", input: () => ({ voucher: withSignature(v200, `${sign(mainId, 300n, mainKey).signature}00`) }) },
      { name: "empty signature", code: "MALFORMED", input: () => ({ voucher: withSignature(v200, "0x") }) },
      { name: "high-s signature", code: "MALFORMED", input: () => ({ voucher: withSignature(sign(mainId, 300n, mainKey), highS(sign(mainId, 300n, mainKey).signature)) }) },
      { name: "v = 0", code: "MALFORMED", input: () => ({ voucher: withSignature(sign(mainId, 300n, mainKey), setV(sign(mainId, 300n, mainKey).signature, 0)) }) },
      { name: "v = 1", code: "MALFORMED", input: () => ({ voucher: withSignature(sign(mainId, 300n, mainKey), setV(sign(mainId, 300n, mainKey).signature, 1)) }) },
      { name: "v = 29", code: "MALFORMED", input: () => ({ voucher: withSignature(sign(mainId, 300n, mainKey), setV(sign(mainId, 300n, mainKey).signature, 29)) }) },
      { name: "r = 0", code: "MALFORMED", input: () => ({ voucher: withSignature(sign(mainId, 300n, mainKey), `0x${"00".repeat(32)}${sign(mainId, 300n, mainKey).signature.slice(66)}`) }) },
      { name: "s = 0", code: "MALFORMED", input: () => ({ voucher: withSignature(sign(mainId, 300n, mainKey), `${sign(mainId, 300n, mainKey).signature.slice(0, 66)}${"00".repeat(32)}1b`) }) },
      { name: "non-hex signature", code: "MALFORMED", input: () => ({ voucher: withSignature(v200, `0x${"zz".repeat(65)}`) }) },
      { name: "signature without 0x", code: "MALFORMED", input: () => ({ voucher: withSignature(v200, sign(mainId, 300n, mainKey).signature.slice(2)) }) },
      { name: "non-hex channel id", code: "MALFORMED", input: () => ({ voucher: { ...sign(mainId, 300n, mainKey), channelId: `0x${"gg".repeat(32)}` } }) },
      { name: "short channel id", code: "MALFORMED", input: () => ({ voucher: { ...sign(mainId, 300n, mainKey), channelId: mainId.slice(0, 64) } }) },
      { name: "negative amount", code: "MALFORMED", input: () => ({ voucher: { ...sign(mainId, 300n, mainKey), amount: -1n } }) },
      { name: "fractional amount", code: "MALFORMED", input: () => ({ voucher: { ...sign(mainId, 300n, mainKey), amount: 300.5 } }) },
      { name: "amount as a number", code: "MALFORMED", input: () => ({ voucher: { ...sign(mainId, 300n, mainKey), amount: 300 } }) },
      { name: "amount as a string", code: "MALFORMED", input: () => ({ voucher: { ...sign(mainId, 300n, mainKey), amount: "300" } }) },
      { name: "over-width amount (2^256)", code: "MALFORMED", input: () => ({ voucher: { ...sign(mainId, 300n, mainKey), amount: 1n << 256n } }) },
      { name: "not an object", code: "MALFORMED", input: () => ({ voucher: null }) },
      { name: "equal amount (the accepted voucher again)", code: "NOT_INCREASING", input: () => ({ voucher: v200 }) },
      { name: "lower amount (an older valid voucher)", code: "NOT_INCREASING", input: () => ({ voucher: v100 }) },
      { name: "zero amount", code: "NOT_INCREASING", input: () => ({ voucher: sign(mainId, 0n, mainKey) }) },
      { name: "a garbage signature at a stale amount", code: "BAD_SIGNATURE", input: () => ({ voucher: withSignature(v100, sign(salt(7), 5n, generatePrivateKey()).signature) }) },
      { name: "above the deposit", code: "EXCEEDS_DEPOSIT", input: () => ({ voucher: sign(mainId, ONE + 1n, mainKey) }) },
      { name: "channel closing (payer asked to close)", code: "CHANNEL_CLOSING", input: () => ({ voucher: sign(ids.closing.id, 20n, ids.closing.key) }) },
      { name: "channel finished by the payee's close", code: "CHANNEL_NOT_OPEN", input: () => ({ voucher: sign(ids.finished.id, 20n, ids.finished.key) }) },
      { name: "channel finished by the payer's withdraw", code: "CHANNEL_NOT_OPEN", input: () => ({ voucher: sign(ids.withdrawn.id, 20n, ids.withdrawn.key) }) },
      { name: "unknown channel", code: "UNKNOWN_CHANNEL", input: () => ({ voucher: sign(salt(424242), 5n, mainKey) }) },
      {
        name: "unknown channel, with a config that was never opened",
        code: "UNKNOWN_CHANNEL",
        input: () => {
          const config = { ...mainConfig, salt: salt(99) };
          return { voucher: sign(channelId(config), 5n, mainKey), config };
        },
      },
      { name: "config that is not the voucher's channel", code: "INVALID_ARGUMENT", input: () => ({ voucher: sign(mainId, 300n, mainKey), config: ids.other.config }) },
      { name: "closeDelay below the policy", code: "CLOSE_DELAY_TOO_SHORT", input: () => ({ voucher: sign(ids.shortDelay.id, 5n, ids.shortDelay.key) }) },
      { name: "closeDelay below the policy, config given", code: "CLOSE_DELAY_TOO_SHORT", input: () => ({ voucher: sign(ids.shortDelay.id, 5n, ids.shortDelay.key), config: ids.shortDelay.config }) },
      { name: "channel for another payee", code: "WRONG_PAYEE", input: () => ({ voucher: sign(ids.wrongPayee.id, 5n, ids.wrongPayee.key) }) },
      { name: "channel for another payee, config given", code: "WRONG_PAYEE", input: () => ({ voucher: sign(ids.wrongPayee.id, 5n, ids.wrongPayee.key), config: ids.wrongPayee.config }) },
      { name: "token the payee does not take", code: "WRONG_TOKEN", input: () => ({ voucher: sign(ids.wrongToken.id, 5n, ids.wrongToken.key) }) },
      { name: "ERC-1271 signer refusing", code: "BAD_SIGNATURE", input: () => ({ voucher: sign(refusingWallet.id, 5n, refusingWallet.ownerKey) }) },
    ];

    it(`has at least 30 cases (${cases.length})`, () => {
      expect(cases.length).to.be.greaterThanOrEqual(30);
    });

    for (const c of cases) {
      it(`${c.name}: ${c.code}`, async () => {
        const dumpBefore = dumpDatabase(s.payeeStorePath);
        const bestBefore = await s.payeeStore.bestVouchers();
        const { voucher, config } = c.input();
        let code = "accepted";
        try {
          await payee.accept(voucher as Voucher, config);
        } catch (error) {
          code = (error as { code?: string }).code ?? String(error);
        }
        expect(code).to.equal(c.code);
        expect(await s.payeeStore.bestVouchers()).to.deep.equal(bestBefore);
        expect(dumpDatabase(s.payeeStorePath)).to.equal(dumpBefore);
      });
    }

    it("still accepts a good voucher after all of the above", async () => {
      expect(await payee.accept(sign(mainId, 300n, mainKey))).to.deep.equal({ channelId: mainId, amount: 300n, increment: 100n });
    });
  });
}
