// Cross-implementation: Trickle's digest, channel id and vouchers against PaymentChannels on an in-process chain,
// ethers, viem and the node's eth_signTypedData_v4; and one corpus of good and bad vouchers on which the
// TypeScript verifier (native and noble) and the contract give the same verdict, case by case.
import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import type { PaymentChannels } from "../../typechain-types/index.ts";
import { Wallet, verifyTypedData as ethersVerifyTypedData } from "ethers";
import { recoverTypedDataAddress, verifyTypedData as viemVerifyTypedData } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { loadSecp256k1Backend, nobleBackend } from "../../src/crypto/secp256k1.ts";
import { channelId, type ChannelConfig } from "../../src/channel.ts";
import { BadSignatureError, MalformedVoucherError } from "../../src/errors.ts";
import {
  VOUCHER_TYPES,
  VoucherVerifier,
  eip712Domain,
  signVoucher,
  voucherDigest,
  type Voucher,
  type VoucherDomain,
} from "../../src/voucher.ts";
import { CURVE_ORDER, compactErc2098, flipV, highSTwin, replaceSignatureWord, withV } from "./signatures.ts";

type Hex = `0x${string}`;

const KEY: Hex = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba";
const OTHER_KEY: Hex = "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e";
const ETH: Hex = "0x0000000000000000000000000000000000000000";
const ZERO_SALT: Hex = `0x${"00".repeat(32)}`;
const DEPOSIT = 10n ** 18n;
const MAX_UINT256 = (1n << 256n) - 1n;

const randomHex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => `0x${Buffer.from(b).toString("hex")}` as Hex);

interface CorpusCase {
  name: string;
  amount: bigint;
  signature: Hex;
  /** The expected verdict: accepted, or refused with this TypeScript error code (the contract just reverts). */
  expected: "accepted" | "MALFORMED" | "BAD_SIGNATURE";
}

function verdict(action: () => unknown): CorpusCase["expected"] {
  try {
    action();
    return "accepted";
  } catch (error) {
    if (error instanceof MalformedVoucherError) return "MALFORMED";
    if (error instanceof BadSignatureError) return "BAD_SIGNATURE";
    throw error;
  }
}

describe("voucher: cross-implementation against PaymentChannels, ethers, viem and JSON-RPC", function () {
  this.timeout(60_000);

  let connection: Awaited<ReturnType<typeof network.create>>;
  let paymentChannels: PaymentChannels;
  let domain: VoucherDomain;
  let payeeAddress: Hex;
  let payerAddress: Hex;
  let rpcSignerAddress: Hex;
  const signer = new Wallet(KEY);

  const configFor = (signerAddress: Hex, salt: Hex = ZERO_SALT): ChannelConfig => ({
    payer: payerAddress,
    payee: payeeAddress,
    token: ETH,
    signer: signerAddress,
    closeDelay: 3600n,
    salt,
  });

  async function openChannel(config: ChannelConfig): Promise<Hex> {
    await (await paymentChannels.open(config, DEPOSIT, { value: DEPOSIT })).wait();
    return channelId(config);
  }

  /** The contract's verdict on a claim by the payee, without sending it. */
  async function contractAccepts(config: ChannelConfig, amount: bigint, signature: Hex): Promise<boolean> {
    const [, payee] = await connection.ethers.getSigners();
    try {
      await paymentChannels.connect(payee).claim.staticCall(config, amount, signature);
      return true;
    } catch (error) {
      const data = (error as { data?: string }).data;
      const decoded = data === undefined ? null : paymentChannels.interface.parseError(data);
      // Every refusal in the corpus must be the signature check, not some other rule.
      expect(decoded?.name, String(error)).to.equal("VoucherSignatureInvalid");
      return false;
    }
  }

  before(async () => {
    connection = await network.create();
    const [payer, payee, rpcSigner] = await connection.ethers.getSigners();
    payerAddress = payer.address as Hex;
    payeeAddress = payee.address as Hex;
    rpcSignerAddress = rpcSigner.address as Hex;
    paymentChannels = await connection.ethers.deployContract("PaymentChannels");
    domain = {
      chainId: (await connection.ethers.provider.getNetwork()).chainId,
      verifyingContract: (await paymentChannels.getAddress()) as Hex,
    };
  });

  it("computes the contract's voucherDigest for random channels and amounts, 0 and 2^256-1 included", async () => {
    for (const amount of [0n, 1n, DEPOSIT, (1n << 104n) - 1n, MAX_UINT256]) {
      expect(voucherDigest(domain, ZERO_SALT, amount)).to.equal(await paymentChannels.voucherDigest(ZERO_SALT, amount));
    }
    await fc.assert(
      fc.asyncProperty(randomHex(32), fc.bigInt({ min: 0n, max: MAX_UINT256 }), async (id, amount) => {
        expect(voucherDigest(domain, id, amount)).to.equal(await paymentChannels.voucherDigest(id, amount));
      }),
      { numRuns: 25 },
    );
  });

  it("computes the contract's channelId for random configs", async () => {
    const config = fc.record({
      payer: randomHex(20),
      payee: randomHex(20),
      token: randomHex(20),
      signer: randomHex(20),
      closeDelay: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      salt: randomHex(32),
    });
    await fc.assert(
      fc.asyncProperty(config, async (c) => {
        expect(channelId(c)).to.equal(await paymentChannels.channelId(c));
      }),
      { numRuns: 25 },
    );
  });

  it("Trickle's vouchers verify in ethers and viem, and claim on-chain", async () => {
    const config = configFor(signer.address as Hex, `0x${"01".repeat(32)}`);
    const id = await openChannel(config);
    const [, payee] = await connection.ethers.getSigners();
    for (const amount of [1n, 12_345n, DEPOSIT]) {
      const voucher = signVoucher(domain, id, amount, KEY);
      const typed = {
        domain: eip712Domain(domain),
        types: VOUCHER_TYPES,
        primaryType: "Voucher" as const,
        message: { channelId: id, amount },
      };
      expect(ethersVerifyTypedData(typed.domain, VOUCHER_TYPES, typed.message, voucher.signature)).to.equal(
        signer.address,
      );
      expect(
        await viemVerifyTypedData({ ...typed, address: signer.address as Hex, signature: voucher.signature }),
      ).to.equal(true);
      expect(await recoverTypedDataAddress({ ...typed, signature: voucher.signature })).to.equal(signer.address);
      await (await paymentChannels.connect(payee).claim(config, amount, voucher.signature)).wait();
      expect((await paymentChannels.channels(id)).claimed).to.equal(amount);
    }
  });

  it("vouchers signed by ethers, viem and the node's eth_signTypedData_v4 verify in Trickle", async () => {
    const id = await openChannel(configFor(rpcSignerAddress, `0x${"02".repeat(32)}`));
    const message = { channelId: id, amount: 777n };
    const verifier = new VoucherVerifier(domain);
    const nobleVerifier = new VoucherVerifier(domain, { backend: nobleBackend });

    const fromEthers = await signer.signTypedData(eip712Domain(domain), VOUCHER_TYPES, message);
    const fromViem = await privateKeyToAccount(KEY).signTypedData({
      domain: eip712Domain(domain),
      types: VOUCHER_TYPES,
      primaryType: "Voucher",
      message,
    });
    const fromNode = (await connection.ethers.provider.send("eth_signTypedData_v4", [
      rpcSignerAddress,
      JSON.stringify({
        types: {
          EIP712Domain: [
            { name: "name", type: "string" },
            { name: "version", type: "string" },
            { name: "chainId", type: "uint256" },
            { name: "verifyingContract", type: "address" },
          ],
          ...VOUCHER_TYPES,
        },
        domain: { ...eip712Domain(domain), chainId: Number(domain.chainId) },
        primaryType: "Voucher",
        message: { channelId: id, amount: message.amount.toString() },
      }),
    ])) as Hex;

    for (const [from, signature, address] of [
      ["ethers", fromEthers, signer.address],
      ["viem", fromViem, signer.address],
      ["eth_signTypedData_v4", fromNode, rpcSignerAddress],
    ] as const) {
      const voucher: Voucher = { ...message, signature: signature as Hex };
      expect(() => verifier.verify(voucher, address as Hex), from).to.not.throw();
      expect(() => nobleVerifier.verify(voucher, address as Hex), from).to.not.throw();
    }
    expect(fromEthers).to.equal(signVoucher(domain, id, message.amount, KEY).signature);
    expect(fromViem).to.equal(fromEthers);
    // The node's signature is for the channel's signer: it claims too.
    const [, payee] = await connection.ethers.getSigners();
    await (
      await paymentChannels.connect(payee).claim(configFor(rpcSignerAddress, `0x${"02".repeat(32)}`), 777n, fromNode)
    ).wait();
    expect((await paymentChannels.channels(id)).claimed).to.equal(777n);
  });

  it("a shared corpus of good and bad vouchers gets the same verdict from the TypeScript verifier and the contract", async () => {
    const config = configFor(signer.address as Hex, `0x${"03".repeat(32)}`);
    const id = await openChannel(config);
    const amount = 5_000n;
    const good = signVoucher(domain, id, amount, KEY).signature;
    const signedAs = (d: VoucherDomain, channel: Hex, value: bigint, key: Hex) =>
      signVoucher(d, channel, value, key).signature;
    const s = BigInt(`0x${good.slice(66, 130)}`);
    const r = BigInt(`0x${good.slice(2, 66)}`);
    const garbage = `0x${"5a".repeat(32)}${"33".repeat(32)}1b` as Hex;
    const corpus: CorpusCase[] = [
      { name: "valid", amount, signature: good, expected: "accepted" },
      {
        name: "valid at another amount",
        amount: amount + 1n,
        signature: signedAs(domain, id, amount + 1n, KEY),
        expected: "accepted",
      },
      {
        name: "valid at the full deposit",
        amount: DEPOSIT,
        signature: signedAs(domain, id, DEPOSIT, KEY),
        expected: "accepted",
      },
      { name: "v flipped (recovers another key)", amount, signature: flipV(good), expected: "BAD_SIGNATURE" },
      { name: "high-s twin (valid ECDSA, malleable)", amount, signature: highSTwin(good), expected: "MALFORMED" },
      { name: "high s, same v", amount, signature: flipV(highSTwin(good)), expected: "MALFORMED" },
      { name: "v = 0", amount, signature: withV(good, good.endsWith("1b") ? 0 : 1), expected: "MALFORMED" },
      { name: "v = 1", amount, signature: withV(good, good.endsWith("1b") ? 1 : 0), expected: "MALFORMED" },
      { name: "v = 29", amount, signature: withV(good, 29), expected: "MALFORMED" },
      { name: "v = 26", amount, signature: withV(good, 26), expected: "MALFORMED" },
      { name: "length 0", amount, signature: "0x", expected: "MALFORMED" },
      { name: "length 64 (r | s)", amount, signature: good.slice(0, 130) as Hex, expected: "MALFORMED" },
      { name: "length 64 (ERC-2098 compact)", amount, signature: compactErc2098(good), expected: "MALFORMED" },
      { name: "length 66", amount, signature: `${good}00`, expected: "MALFORMED" },
      {
        name: "wrong chain",
        amount,
        signature: signedAs({ ...domain, chainId: domain.chainId + 1n }, id, amount, KEY),
        expected: "BAD_SIGNATURE",
      },
      {
        name: "wrong contract",
        amount,
        signature: signedAs({ ...domain, verifyingContract: payeeAddress }, id, amount, KEY),
        expected: "BAD_SIGNATURE",
      },
      { name: "wrong channel", amount, signature: signedAs(domain, ZERO_SALT, amount, KEY), expected: "BAD_SIGNATURE" },
      { name: "wrong signer", amount, signature: signedAs(domain, id, amount, OTHER_KEY), expected: "BAD_SIGNATURE" },
      { name: "signed for another amount", amount: amount + 2n, signature: good, expected: "BAD_SIGNATURE" },
      { name: "r = 0", amount, signature: replaceSignatureWord(good, "r", 0n), expected: "MALFORMED" },
      { name: "s = 0", amount, signature: replaceSignatureWord(good, "s", 0n), expected: "MALFORMED" },
      { name: "s = n", amount, signature: replaceSignatureWord(good, "s", CURVE_ORDER), expected: "MALFORMED" },
      { name: "r = n", amount, signature: replaceSignatureWord(good, "r", CURVE_ORDER), expected: "MALFORMED" },
      {
        name: "r = n + 1 (ecrecover takes r < n only)",
        amount,
        signature: replaceSignatureWord(good, "r", CURVE_ORDER + 1n),
        expected: "MALFORMED",
      },
      {
        name: "r - 1 (another x), signer's s",
        amount,
        signature: replaceSignatureWord(good, "r", r - 1n),
        expected: "BAD_SIGNATURE",
      },
      {
        name: "s = n/2 + 1",
        amount,
        signature: replaceSignatureWord(good, "s", CURVE_ORDER / 2n + 1n),
        expected: "MALFORMED",
      },
      {
        name: "s = n/2 (highest low s), not the signer's",
        amount,
        signature: replaceSignatureWord(good, "s", CURVE_ORDER / 2n),
        expected: "BAD_SIGNATURE",
      },
      { name: "s - 1", amount, signature: replaceSignatureWord(good, "s", s - 1n), expected: "BAD_SIGNATURE" },
      {
        name: "r not the x of a curve point",
        amount,
        signature: replaceSignatureWord(good, "r", 5n),
        expected: "BAD_SIGNATURE",
      },
      { name: "garbage, v = 27", amount, signature: garbage, expected: "BAD_SIGNATURE" },
      { name: "garbage, all 0xff", amount, signature: `0x${"ff".repeat(65)}`, expected: "MALFORMED" },
      { name: "garbage, all zero", amount, signature: `0x${"00".repeat(65)}`, expected: "MALFORMED" },
    ];

    const warm = new VoucherVerifier(domain, { backend: loadSecp256k1Backend() });
    const warmNoble = new VoucherVerifier(domain, { backend: nobleBackend });
    warm.verify({ channelId: id, amount, signature: good }, signer.address as Hex);
    warmNoble.verify({ channelId: id, amount, signature: good }, signer.address as Hex);
    for (const entry of corpus) {
      const voucher: Voucher = { channelId: id, amount: entry.amount, signature: entry.signature };
      const onChain = (await contractAccepts(config, entry.amount, entry.signature)) ? "accepted" : "refused";
      const verdicts = {
        warmNative: verdict(() => warm.verify(voucher, signer.address as Hex)),
        coldNative: verdict(() => new VoucherVerifier(domain).verify(voucher, signer.address as Hex)),
        warmNoble: verdict(() => warmNoble.verify(voucher, signer.address as Hex)),
        coldNoble: verdict(() =>
          new VoucherVerifier(domain, { backend: nobleBackend }).verify(voucher, signer.address as Hex),
        ),
      };
      for (const [verifierName, got] of Object.entries(verdicts)) {
        expect(got, `${entry.name}: ${verifierName}`).to.equal(entry.expected);
        expect(got === "accepted" ? "accepted" : "refused", `${entry.name}: ${verifierName} vs contract`).to.equal(
          onChain,
        );
      }
    }
    expect(corpus.filter((c) => c.expected !== "accepted")).to.have.length.greaterThan(25);
  });
});
