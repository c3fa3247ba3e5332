// Properties of the SDK's gasless and relayed-settlement encodings, over random inputs: each equals what
// PaymentChannels computes (its type strings, its nonce formula, its signature forms).
import { expect } from "chai";
import fc from "fast-check";
import { AbiCoder, keccak256, Signature, toUtf8Bytes, TypedDataEncoder, Wallet, type TypedDataField } from "ethers";
import { channelId, type Address, type ChannelConfig, type Hex } from "../../src/channel.ts";
import { toCompactClaims } from "../../src/chain/compact-claims.ts";
import { depositNonce, permit2DepositTypedData, type TypedData } from "../../src/gasless.ts";
import { relayedClaimTypedData, relayedCloseTypedData, relayedRefundTypedData } from "../../src/relay.ts";
import { eip712Domain } from "../../src/voucher.ts";

const abi = AbiCoder.defaultAbiCoder();
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `0x${Buffer.from(b).toString("hex")}` as Hex);
const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => `0x${Buffer.from(b).toString("hex")}` as Address);
const uint256 = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n });
const key = fc.bigInt({ min: 1n, max: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140n });

function digest(typed: TypedData<Record<string, unknown>>): string {
  return TypedDataEncoder.hash(typed.domain, typed.types as unknown as Record<string, TypedDataField[]>, typed.message);
}

/** The digest as PaymentChannels builds it: its own type string, `abi.encode`, the Trickle domain. */
function contractDigest(chainId: bigint, contract: Address, typeString: string, types: string[], values: unknown[]): string {
  const separator = TypedDataEncoder.hashDomain(eip712Domain({ chainId, verifyingContract: contract }));
  const structHash = keccak256(abi.encode(["bytes32", ...types], [keccak256(toUtf8Bytes(typeString)), ...values]));
  return keccak256(`0x1901${separator.slice(2)}${structHash.slice(2)}`);
}

describe("gasless and relayed typed data", () => {
  it("depositNonce is keccak256(abi.encode(channelId, amount, salt)), as the contract derives it", () => {
    fc.assert(
      fc.property(bytes32, uint256, bytes32, (id, amount, salt) => {
        expect(depositNonce(id, amount, salt)).to.equal(keccak256(abi.encode(["bytes32", "uint256", "bytes32"], [id, amount, salt])));
      }),
    );
  });

  it("the relayed claim, close and refund digests are the contract's, for any channel, amounts and deadline", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }), address, bytes32, uint256, uint256, uint256, (chainId, contract, id, amount, fee, deadline) => {
        const domain = { chainId, verifyingContract: contract };
        const claimType = "RelayedClaim(bytes32 channelId,uint256 amount,uint256 fee,uint256 deadline)";
        const closeType = "RelayedClose(bytes32 channelId,uint256 amount,uint256 fee,uint256 deadline)";
        const refundType = "RelayedRefund(bytes32 channelId,uint256 refunded,uint256 deadline)";
        const four = ["bytes32", "uint256", "uint256", "uint256"];
        expect(digest(relayedClaimTypedData({ domain, channelId: id, amount, fee, deadline }))).to.equal(
          contractDigest(chainId, contract, claimType, four, [id, amount, fee, deadline]),
        );
        expect(digest(relayedCloseTypedData({ domain, channelId: id, amount, fee, deadline }))).to.equal(
          contractDigest(chainId, contract, closeType, four, [id, amount, fee, deadline]),
        );
        expect(digest(relayedRefundTypedData({ domain, channelId: id, refunded: amount, deadline }))).to.equal(
          contractDigest(chainId, contract, refundType, ["bytes32", "uint256", "uint256"], [id, amount, deadline]),
        );
      }),
      { numRuns: 200 },
    );
  });

  it("the Permit2 witness type is the contract's PERMIT2_WITNESS_TYPE", () => {
    const typed = permit2DepositTypedData({
      chainId: 1n,
      contract: `0x${"11".repeat(20)}`,
      token: `0x${"22".repeat(20)}`,
      channelId: `0x${"33".repeat(32)}`,
      amount: 1n,
      nonce: 0n,
      deadline: 1n,
    });
    const encoder = TypedDataEncoder.from(typed.types as unknown as Record<string, TypedDataField[]>);
    expect(encoder.encodeType("PermitWitnessTransferFrom")).to.equal(
      "PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,ChannelDeposit witness)" +
        "ChannelDeposit(bytes32 channelId)TokenPermissions(address token,uint256 amount)",
    );
  });

  it("toCompactClaims turns any EOA voucher signature into the EIP-2098 form of the same signature", () => {
    fc.assert(
      fc.property(key, bytes32, fc.bigInt({ min: 1n, max: (1n << 104n) - 1n }), fc.bigInt({ min: 1n, max: 1n << 64n }), (privateKey, salt, amount, chainId) => {
        const wallet = new Wallet(`0x${privateKey.toString(16).padStart(64, "0")}`);
        const contract = `0x${"aa".repeat(20)}` as Address;
        const config: ChannelConfig = {
          payer: wallet.address as Address,
          payee: `0x${"bb".repeat(20)}`,
          token: `0x${"00".repeat(20)}`,
          signer: wallet.address as Address,
          closeDelay: 3600n,
          salt,
        };
        const voucherDigest = TypedDataEncoder.hash(
          eip712Domain({ chainId, verifyingContract: contract }),
          { Voucher: [{ name: "channelId", type: "bytes32" }, { name: "amount", type: "uint256" }] },
          { channelId: channelId(config), amount },
        );
        const signature = wallet.signingKey.sign(voucherDigest).serialized as Hex;
        const compact = toCompactClaims({ chainId, verifyingContract: contract }, [{ config, amount, signature }]);
        expect(compact).to.have.length(1);
        expect(Signature.from({ r: compact![0].r, yParityAndS: compact![0].vs }).serialized).to.equal(signature);
        // Another signer's signature keeps the general form.
        const other = { ...config, signer: `0x${"cc".repeat(20)}` as Address };
        expect(toCompactClaims({ chainId, verifyingContract: contract }, [{ config: other, amount, signature }])).to.equal(undefined);
      }),
      { numRuns: 100 },
    );
  });
});
