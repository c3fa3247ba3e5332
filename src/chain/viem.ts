import {
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  type PublicClient,
  type WalletClient,
  type Transport,
  type Chain,
  type Account,
} from "viem";
import { ETH, type Address, type ChannelConfig, type ChannelState, type Hex } from "../channel.ts";
import { ContractRevertError, InvalidArgumentError } from "../errors.ts";
import type { ChainWriter, ChannelEvent, TxResult } from "./adapter.ts";
import { PAYMENT_CHANNELS_ABI } from "./abi.ts";
import { DEFAULT_PERMIT_WINDOW, ERC1271_ABI, ERC1271_MAGIC_VALUE, ERC20_ERRORS_ABI, ERC20_PERMIT_ABI, PERMIT_TYPES } from "./erc20.ts";
import { codeHashOf, splitSignature, toChannelStatus } from "./codec.ts";
import { checkMaxBlockRange, windowsBackward, windowsForward } from "./windows.ts";
import { claimManyCall } from "./claim-batches.ts";

export interface ViemChainParameters {
  publicClient: PublicClient<Transport, Chain | undefined>;
  /** Needed for transactions; reads work without it. Its `account` sends every transaction. */
  walletClient?: WalletClient<Transport, Chain | undefined, Account>;
  /** The `PaymentChannels` deployment. */
  contract: Address;
  /** First block to search for `ChannelOpened` logs: the deployment block (deployment.json keeps it); 0 by default. */
  fromBlock?: bigint;
  /** Most blocks per `eth_getLogs` call; {@link DEFAULT_MAX_BLOCK_RANGE} (1,000) by default. */
  maxBlockRange?: bigint;
}

type FunctionName =
  | "open" | "openWithPermit" | "topUp" | "claim" | "claimMany" | "close" | "requestClose" | "withdraw"
  | "claimManyCompact" | "openWithAuthorization" | "topUpWithAuthorization" | "openWithPermit2" | "topUpWithPermit2"
  | "claimRelayed" | "closeRelayed" | "refund" | "refundRelayed" | "withdrawCredit";

/** A {@link ChainWriter} over viem clients. Without a wallet client, only the reader methods work. */
export function viemChain(params: ViemChainParameters): ChainWriter {
  const { publicClient, walletClient, contract } = params;
  const fromBlock = params.fromBlock ?? 0n;
  const maxBlockRange = checkMaxBlockRange(params.maxBlockRange);
  let chainIdPromise: Promise<bigint> | undefined;

  function wallet(): WalletClient<Transport, Chain | undefined, Account> {
    if (walletClient === undefined) throw new InvalidArgumentError("this chain adapter has no wallet client: it can only read");
    return walletClient;
  }

  async function mined(hash: Hex, functionName: string): Promise<TxResult> {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") {
      throw new ContractRevertError(`${functionName} reverted in block ${receipt.blockNumber}`, { error: undefined, hash });
    }
    return { hash, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber };
  }

  async function send(functionName: FunctionName, args: readonly unknown[], value?: bigint): Promise<TxResult> {
    const client = wallet();
    let hash: Hex;
    try {
      hash = await client.writeContract({
        address: contract,
        abi: PAYMENT_CHANNELS_ABI,
        functionName,
        // The ABI types every call; `args` is checked by the typed wrappers below.
        args: args as never,
        value: value as never,
        account: client.account,
        chain: client.chain,
      });
    } catch (error) {
      throw revertError(error, functionName);
    }
    return mined(hash, functionName);
  }

  async function approveIfShort(token: Address, amount: bigint): Promise<void> {
    if (token.toLowerCase() === ETH) return;
    const client = wallet();
    const owner = client.account.address;
    const allowance = await publicClient.readContract({ address: token, abi: ERC20_PERMIT_ABI, functionName: "allowance", args: [owner, contract] });
    if (allowance >= amount) return;
    let hash: Hex;
    try {
      hash = await client.writeContract({ address: token, abi: ERC20_PERMIT_ABI, functionName: "approve", args: [contract, amount], account: client.account, chain: client.chain });
    } catch (error) {
      throw revertError(error, "approve");
    }
    await mined(hash, "approve");
  }

  const adapter: ChainWriter = {
    contract,
    get account(): Address {
      return wallet().account.address;
    },
    chainId() {
      chainIdPromise ??= publicClient.getChainId().then(BigInt);
      return chainIdPromise;
    },
    blockNumber() {
      return publicClient.getBlockNumber({ cacheTime: 0 });
    },
    async blockTimestamp() {
      return (await publicClient.getBlock({ blockTag: "latest" })).timestamp;
    },
    async readChannel(channelId) {
      const [deposit, claimed, closesAt, status] = await publicClient.readContract({
        address: contract,
        abi: PAYMENT_CHANNELS_ABI,
        functionName: "channels",
        args: [channelId],
      });
      return { deposit, claimed, closesAt: BigInt(closesAt), status: toChannelStatus(status) } satisfies ChannelState;
    },
    async findChannelConfig(channelId) {
      // Newest window first: the channels a payee is asked about are mostly recent ones.
      const head = await publicClient.getBlockNumber({ cacheTime: 0 });
      for (const [from, to] of windowsBackward(fromBlock, head, maxBlockRange)) {
        const logs = await publicClient.getContractEvents({
          address: contract,
          abi: PAYMENT_CHANNELS_ABI,
          eventName: "ChannelOpened",
          args: { channelId },
          fromBlock: from,
          // The newest window ends at "latest": a channel opened after the head was read is still found.
          toBlock: to === head ? "latest" : to,
          strict: true,
        });
        const opened = logs[0];
        if (opened === undefined) continue;
        const a = opened.args;
        return { payer: a.payer, payee: a.payee, token: a.token, signer: a.signer, closeDelay: a.closeDelay, salt: a.salt };
      }
      return undefined;
    },
    async events(fromWindow, toWindow) {
      const logs = [];
      for (const [from, to] of windowsForward(fromWindow, toWindow, maxBlockRange)) {
        logs.push(...(await publicClient.getContractEvents({ address: contract, abi: PAYMENT_CHANNELS_ABI, fromBlock: from, toBlock: to, strict: true })));
      }
      const events: ChannelEvent[] = [];
      for (const log of logs) {
        const at = { blockNumber: log.blockNumber, logIndex: log.logIndex };
        switch (log.eventName) {
          case "ChannelOpened": {
            const a = log.args;
            const config = { payer: a.payer, payee: a.payee, token: a.token, signer: a.signer, closeDelay: a.closeDelay, salt: a.salt };
            events.push({ type: "opened", channelId: a.channelId, config, deposit: a.deposit, ...at });
            break;
          }
          case "ChannelToppedUp":
            events.push({ type: "toppedUp", channelId: log.args.channelId, funder: log.args.funder, amount: log.args.amount, deposit: log.args.deposit, ...at });
            break;
          case "ChannelClaimed":
            events.push({ type: "claimed", channelId: log.args.channelId, claimed: log.args.claimed, paid: log.args.paid, ...at });
            break;
          case "ChannelCloseRequested":
            events.push({ type: "closeRequested", channelId: log.args.channelId, payee: log.args.payee, closesAt: log.args.closesAt, ...at });
            break;
          case "ChannelClosed":
            events.push({ type: "closed", channelId: log.args.channelId, payer: log.args.payer, claimed: log.args.claimed, refund: log.args.refund, ...at });
            break;
          case "ChannelWithdrawn":
            events.push({ type: "withdrawn", channelId: log.args.channelId, refund: log.args.refund, ...at });
            break;
          case "ChannelRefunded":
            events.push({ type: "refunded", channelId: log.args.channelId, payer: log.args.payer, amount: log.args.amount, deposit: log.args.deposit, ...at });
            break;
          default:
            break; // credit events do not change a channel
        }
      }
      return events;
    },
    async hasCode(address) {
      const code = await publicClient.getCode({ address });
      return code !== undefined && code !== "0x";
    },
    async codeHash(address) {
      return codeHashOf(await publicClient.getCode({ address }));
    },
    async isValidErc1271Signature(signer, digest, signature) {
      try {
        const magic = await publicClient.readContract({ address: signer, abi: ERC1271_ABI, functionName: "isValidSignature", args: [digest, signature] });
        return magic.toLowerCase() === ERC1271_MAGIC_VALUE;
      } catch {
        return false;
      }
    },
    async open(config, amount) {
      await approveIfShort(config.token, amount);
      return send("open", [config, amount], config.token.toLowerCase() === ETH ? amount : undefined);
    },
    async openWithPermit(config, amount, deadline) {
      if (config.token.toLowerCase() === ETH) throw new InvalidArgumentError("a permit needs an ERC-20 channel, not ETH");
      const client = wallet();
      const owner = client.account.address;
      const token = config.token;
      const [name, version, nonce, chainId, latest] = await Promise.all([
        publicClient.readContract({ address: token, abi: ERC20_PERMIT_ABI, functionName: "name" }),
        publicClient
          .readContract({ address: token, abi: ERC20_PERMIT_ABI, functionName: "eip712Domain" })
          .then((domain) => domain[2])
          .catch(() => "1"), // tokens without EIP-5267 almost always use version "1"
        publicClient.readContract({ address: token, abi: ERC20_PERMIT_ABI, functionName: "nonces", args: [owner] }),
        adapter.chainId(),
        adapter.blockTimestamp(),
      ]);
      const permitDeadline = deadline ?? latest + DEFAULT_PERMIT_WINDOW;
      const signature = await client.signTypedData({
        account: client.account,
        domain: { name, version, chainId, verifyingContract: token },
        types: PERMIT_TYPES,
        primaryType: "Permit",
        message: { owner, spender: contract, value: amount, nonce, deadline: permitDeadline },
      });
      const { v, r, s } = splitSignature(signature);
      return send("openWithPermit", [config, amount, permitDeadline, v, r, s]);
    },
    async topUp(config, amount) {
      await approveIfShort(config.token, amount);
      return send("topUp", [config, amount], config.token.toLowerCase() === ETH ? amount : undefined);
    },
    claim(config, amount, signature) {
      return send("claim", [config, amount, signature]);
    },
    async claimMany(claims) {
      const call = claimManyCall({ chainId: await adapter.chainId(), verifyingContract: contract }, wallet().account.address, claims);
      return send(call.functionName, call.args);
    },
    async signTypedData(typed) {
      const client = wallet();
      return client.signTypedData({
        account: client.account,
        domain: typed.domain,
        types: typed.types as Record<string, { name: string; type: string }[]>,
        primaryType: typed.primaryType,
        message: typed.message,
      });
    },
    openWithAuthorization(config, amount, { validAfter, validBefore, signature }) {
      const { v, r, s } = splitSignature(signature);
      return send("openWithAuthorization", [config, amount, validAfter, validBefore, v, r, s]);
    },
    topUpWithAuthorization(config, amount, { validAfter, validBefore, salt, signature }) {
      const { v, r, s } = splitSignature(signature);
      return send("topUpWithAuthorization", [config, amount, validAfter, validBefore, salt, v, r, s]);
    },
    openWithPermit2(config, amount, { nonce, deadline, signature }) {
      return send("openWithPermit2", [config, amount, nonce, deadline, signature]);
    },
    topUpWithPermit2(config, amount, { nonce, deadline, signature }) {
      return send("topUpWithPermit2", [config, amount, nonce, deadline, signature]);
    },
    claimRelayed(config, amount, signature, { fee, deadline, payeeSignature }) {
      return send("claimRelayed", [config, amount, signature, fee, deadline, payeeSignature]);
    },
    closeRelayed(config, amount, signature, { fee, deadline, payeeSignature }) {
      return send("closeRelayed", [config, amount, signature, fee, deadline, payeeSignature]);
    },
    async readCredit(token, account) {
      return publicClient.readContract({
        address: contract,
        abi: PAYMENT_CHANNELS_ABI,
        functionName: "credits",
        args: [token, account ?? adapter.account],
      });
    },
    withdrawCredit(token, to) {
      return send("withdrawCredit", [token, to ?? adapter.account]);
    },
    refund(config, amount) {
      return send("refund", [config, amount]);
    },
    refundRelayed(config, refunded, deadline, payeeSignature) {
      return send("refundRelayed", [config, refunded, deadline, payeeSignature]);
    },
    close(config, amount, signature) {
      return send("close", [config, amount, signature]);
    },
    requestClose(config) {
      return send("requestClose", [config]);
    },
    withdraw(config) {
      return send("withdraw", [config]);
    },
  };
  return adapter;
}

/** Turns a viem failure into a {@link ContractRevertError} carrying the decoded custom error, or returns it unchanged. */
function revertError(error: unknown, functionName: string): unknown {
  if (!(error instanceof BaseError)) return error;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError) {
    let name = reverted.data?.errorName;
    let args: readonly unknown[] | undefined = reverted.data?.args;
    // A revert raised inside the token is not in the ABI the call was made with.
    if (name === undefined && reverted.raw !== undefined) {
      try {
        const decoded = decodeErrorResult({ abi: [...PAYMENT_CHANNELS_ABI, ...ERC20_ERRORS_ABI], data: reverted.raw });
        name = decoded.errorName;
        args = decoded.args;
      } catch {
        // left undecoded: `details.data` carries the raw bytes
      }
    }
    return new ContractRevertError(`${functionName} reverted${name ? ` with ${name}` : ""}`, { error: name ?? reverted.reason, args, data: reverted.raw }, { cause: error });
  }
  return error;
}
