import { Contract, Interface as EthersInterface, Signature, type ContractTransactionResponse, type Interface, type Provider, type Signer, type TypedDataField } from "ethers";
// Types only: TypeChain's generated contract type (the copy in ./typechain/, shipped in the package). Nothing from
// there is loaded at run time: the adapter never loads the factory and its bytecode.
import type { PaymentChannels } from "./typechain/PaymentChannels.ts";
import type { PaymentChannels__factory } from "./typechain/factories/PaymentChannels__factory.ts";
import { ETH, type Address, type ChannelConfig, type Hex } from "../channel.ts";
import { ContractRevertError, InvalidArgumentError } from "../errors.ts";
import type { ChainWriter, ChannelEvent, TxResult } from "./adapter.ts";
import { PAYMENT_CHANNELS_ABI } from "./abi.ts";
import { codeHashOf, toChannelStatus } from "./codec.ts";
import { checkMaxBlockRange, windowsBackward, windowsForward } from "./windows.ts";
import { DEFAULT_PERMIT_WINDOW, ERC1271_ABI, ERC1271_MAGIC_VALUE, ERC20_ERRORS_ABI, ERC20_PERMIT_ABI, PERMIT_TYPES } from "./erc20.ts";
import { claimManyCall } from "./claim-batches.ts";

export interface EthersChainParameters {
  /** A signer (sends transactions from its address) or a provider (reads only). */
  runner: Provider | Signer;
  /** The `PaymentChannels` deployment. */
  contract: Address;
  /** First block to search for `ChannelOpened` logs: the deployment block (deployment.json keeps it); 0 by default. */
  fromBlock?: bigint;
  /** Most blocks per `eth_getLogs` call; {@link DEFAULT_MAX_BLOCK_RANGE} (1,000) by default. */
  maxBlockRange?: bigint;
}

/**
 * What `PaymentChannels__factory.connect(contract, runner)` returns. Built here from the committed ABI,
 * the same one the factory embeds (test/chain/abi.test.ts checks it), to avoid loading the factory.
 */
function connect(contract: Address, runner: Provider | Signer): ReturnType<typeof PaymentChannels__factory.connect> {
  return new Contract(contract, PAYMENT_CHANNELS_ABI, runner) as unknown as PaymentChannels;
}

function isSigner(runner: Provider | Signer): runner is Signer {
  return typeof (runner as Partial<Signer>).signTypedData === "function";
}

/** A {@link ChainWriter} over ethers v6 with the TypeChain `PaymentChannels` types. With a provider, only reads work. */
export function ethersChain(params: EthersChainParameters): ChainWriter {
  const { runner, contract } = params;
  const fromBlock = params.fromBlock ?? 0n;
  const maxBlockRange = checkMaxBlockRange(params.maxBlockRange);
  const channels = connect(contract, runner);
  const provider: Provider | null = isSigner(runner) ? runner.provider : runner;
  if (provider === null) throw new InvalidArgumentError("the ethers signer has no provider");
  let chainIdPromise: Promise<bigint> | undefined;

  function signer(): Signer {
    if (!isSigner(runner)) throw new InvalidArgumentError("this chain adapter has a provider, not a signer: it can only read");
    return runner;
  }

  function account(): Address {
    // ethers' Wallet, JsonRpcSigner and Hardhat's signers all expose their address synchronously.
    const address = (signer() as Signer & { address?: unknown }).address;
    if (typeof address !== "string") throw new InvalidArgumentError("the ethers signer does not expose its address");
    return address as Address;
  }

  async function mined(send: () => Promise<ContractTransactionResponse>, functionName: string, iface: Interface): Promise<TxResult> {
    try {
      const response = await send();
      const receipt = await response.wait();
      if (receipt === null) throw new ContractRevertError(`${functionName}: no receipt`, { error: undefined, hash: response.hash });
      return { hash: receipt.hash as Hex, gasUsed: receipt.gasUsed, blockNumber: BigInt(receipt.blockNumber) };
    } catch (error) {
      throw revertError(error, functionName, iface);
    }
  }

  function tx(functionName: string, send: (c: PaymentChannels) => Promise<ContractTransactionResponse>): Promise<TxResult> {
    const writable = channels.connect(signer()) as PaymentChannels;
    return mined(() => send(writable), functionName, channels.interface);
  }

  async function approveIfShort(token: Address, amount: bigint): Promise<void> {
    if (token.toLowerCase() === ETH) return;
    const erc20 = new Contract(token, ERC20_PERMIT_ABI, signer());
    const allowance = (await erc20.getFunction("allowance")(account(), contract)) as bigint;
    if (allowance >= amount) return;
    await mined(() => erc20.getFunction("approve")(contract, amount) as Promise<ContractTransactionResponse>, "approve", erc20.interface);
  }

  const adapter: ChainWriter = {
    contract,
    get account(): Address {
      return account();
    },
    chainId() {
      chainIdPromise ??= provider.getNetwork().then((network) => network.chainId);
      return chainIdPromise;
    },
    async blockNumber() {
      return BigInt(await provider.getBlockNumber());
    },
    async blockTimestamp() {
      const block = await provider.getBlock("latest");
      if (block === null) throw new InvalidArgumentError("the provider has no latest block");
      return BigInt(block.timestamp);
    },
    async readChannel(channelId) {
      const [deposit, claimed, closesAt, status] = await channels.channels(channelId);
      return { deposit, claimed, closesAt, status: toChannelStatus(status) };
    },
    async findChannelConfig(channelId) {
      // Newest window first: the channels a payee is asked about are mostly recent ones.
      const head = BigInt(await provider.getBlockNumber());
      let opened;
      for (const [from, to] of windowsBackward(fromBlock, head, maxBlockRange)) {
        // The newest window ends at "latest": a channel opened after the head was read is still found.
        opened = (await channels.queryFilter(channels.filters.ChannelOpened(channelId), Number(from), to === head ? "latest" : Number(to)))[0];
        if (opened !== undefined) break;
      }
      if (opened === undefined) return undefined;
      const a = opened.args;
      return {
        payer: a.payer as Address,
        payee: a.payee as Address,
        token: a.token as Address,
        signer: a.signer as Address,
        closeDelay: a.closeDelay,
        salt: a.salt as Hex,
      } satisfies ChannelConfig;
    },
    async events(fromWindow, toWindow) {
      const logs = [];
      for (const [from, to] of windowsForward(fromWindow, toWindow, maxBlockRange)) {
        logs.push(...(await provider.getLogs({ address: contract, fromBlock: from, toBlock: to })));
      }
      const events: ChannelEvent[] = [];
      for (const log of logs) {
        const parsed = channels.interface.parseLog({ topics: [...log.topics], data: log.data });
        if (parsed === null) continue;
        const a = parsed.args;
        const at = { blockNumber: BigInt(log.blockNumber), logIndex: log.index };
        const channelId = a.channelId as Hex;
        switch (parsed.name) {
          case "ChannelOpened": {
            const config: ChannelConfig = { payer: a.payer, payee: a.payee, token: a.token, signer: a.signer, closeDelay: a.closeDelay, salt: a.salt };
            events.push({ type: "opened", channelId, config, deposit: a.deposit, ...at });
            break;
          }
          case "ChannelToppedUp":
            events.push({ type: "toppedUp", channelId, funder: a.funder, amount: a.amount, deposit: a.deposit, ...at });
            break;
          case "ChannelClaimed":
            events.push({ type: "claimed", channelId, claimed: a.claimed, paid: a.paid, ...at });
            break;
          case "ChannelCloseRequested":
            events.push({ type: "closeRequested", channelId, payee: a.payee, closesAt: a.closesAt, ...at });
            break;
          case "ChannelClosed":
            events.push({ type: "closed", channelId, payer: a.payer, claimed: a.claimed, refund: a.refund, ...at });
            break;
          case "ChannelWithdrawn":
            events.push({ type: "withdrawn", channelId, refund: a.refund, ...at });
            break;
          case "ChannelRefunded":
            events.push({ type: "refunded", channelId, payer: a.payer, amount: a.amount, deposit: a.deposit, ...at });
            break;
          default:
            break; // credit events do not change a channel
        }
      }
      return events;
    },
    async hasCode(address) {
      return (await provider.getCode(address)) !== "0x";
    },
    async codeHash(address) {
      return codeHashOf(await provider.getCode(address));
    },
    async isValidErc1271Signature(signerAddress, digest, signature) {
      try {
        const wallet = new Contract(signerAddress, ERC1271_ABI, provider);
        const magic = (await wallet.getFunction("isValidSignature")(digest, signature)) as string;
        return magic.toLowerCase() === ERC1271_MAGIC_VALUE;
      } catch {
        return false;
      }
    },
    async open(config, amount) {
      await approveIfShort(config.token, amount);
      const value = config.token.toLowerCase() === ETH ? amount : 0n;
      return tx("open", (c) => c.open(config, amount, { value }));
    },
    async openWithPermit(config, amount, deadline) {
      if (config.token.toLowerCase() === ETH) throw new InvalidArgumentError("a permit needs an ERC-20 channel, not ETH");
      const owner = account();
      const token = new Contract(config.token, ERC20_PERMIT_ABI, provider);
      const [name, version, nonce, chainId, latest] = await Promise.all([
        token.getFunction("name")() as Promise<string>,
        // tokens without EIP-5267 almost always use version "1"
        (token.getFunction("eip712Domain")() as Promise<[string, string, string]>).then((domain) => domain[2]).catch(() => "1"),
        token.getFunction("nonces")(owner) as Promise<bigint>,
        adapter.chainId(),
        adapter.blockTimestamp(),
      ]);
      const permitDeadline = deadline ?? latest + DEFAULT_PERMIT_WINDOW;
      const signature = await signer().signTypedData(
        { name, version, chainId, verifyingContract: config.token },
        { Permit: PERMIT_TYPES.Permit.map((field) => ({ ...field })) },
        { owner, spender: contract, value: amount, nonce, deadline: permitDeadline },
      );
      const { v, r, s } = Signature.from(signature);
      return tx("openWithPermit", (c) => c.openWithPermit(config, amount, permitDeadline, v, r, s));
    },
    async topUp(config, amount) {
      await approveIfShort(config.token, amount);
      const value = config.token.toLowerCase() === ETH ? amount : 0n;
      return tx("topUp", (c) => c.topUp(config, amount, { value }));
    },
    claim(config, amount, signature) {
      return tx("claim", (c) => c.claim(config, amount, signature));
    },
    async claimMany(claims) {
      const call = claimManyCall({ chainId: await adapter.chainId(), verifyingContract: contract }, account(), claims);
      if (call.functionName === "claimManyCompact") return tx(call.functionName, (c) => c.claimManyCompact(...call.args));
      return tx(call.functionName, (c) => c.claimMany(...call.args));
    },
    async signTypedData(typed) {
      // ethers derives the primary type from `types`, which must not list EIP712Domain.
      const types: Record<string, TypedDataField[]> = {};
      for (const [name, fields] of Object.entries(typed.types)) types[name] = fields.map((field) => ({ ...field }));
      return (await signer().signTypedData(typed.domain, types, typed.message)) as Hex;
    },
    openWithAuthorization(config, amount, { validAfter, validBefore, signature }) {
      const { v, r, s } = Signature.from(signature);
      return tx("openWithAuthorization", (c) => c.openWithAuthorization(config, amount, validAfter, validBefore, v, r, s));
    },
    topUpWithAuthorization(config, amount, { validAfter, validBefore, salt, signature }) {
      const { v, r, s } = Signature.from(signature);
      return tx("topUpWithAuthorization", (c) => c.topUpWithAuthorization(config, amount, validAfter, validBefore, salt, v, r, s));
    },
    openWithPermit2(config, amount, { nonce, deadline, signature }) {
      return tx("openWithPermit2", (c) => c.openWithPermit2(config, amount, nonce, deadline, signature));
    },
    topUpWithPermit2(config, amount, { nonce, deadline, signature }) {
      return tx("topUpWithPermit2", (c) => c.topUpWithPermit2(config, amount, nonce, deadline, signature));
    },
    claimRelayed(config, amount, signature, { fee, deadline, payeeSignature }) {
      return tx("claimRelayed", (c) => c.claimRelayed(config, amount, signature, fee, deadline, payeeSignature));
    },
    closeRelayed(config, amount, signature, { fee, deadline, payeeSignature }) {
      return tx("closeRelayed", (c) => c.closeRelayed(config, amount, signature, fee, deadline, payeeSignature));
    },
    async readCredit(token, account) {
      return channels.credits(token, account ?? adapter.account);
    },
    withdrawCredit(token, to) {
      return tx("withdrawCredit", (c) => c.withdrawCredit(token, to ?? adapter.account));
    },
    refund(config, amount) {
      return tx("refund", (c) => c.refund(config, amount));
    },
    refundRelayed(config, refunded, deadline, payeeSignature) {
      return tx("refundRelayed", (c) => c.refundRelayed(config, refunded, deadline, payeeSignature));
    },
    close(config, amount, signature) {
      return tx("close", (c) => c.close(config, amount, signature));
    },
    requestClose(config) {
      return tx("requestClose", (c) => c.requestClose(config));
    },
    withdraw(config) {
      return tx("withdraw", (c) => c.withdraw(config));
    },
  };
  return adapter;
}

/** Every error a channel transaction can revert with: the contract's and the token's. */
const ERRORS_INTERFACE = new EthersInterface([...PAYMENT_CHANNELS_ABI, ...ERC20_ERRORS_ABI]);

/** The revert data carried somewhere in an ethers (or Hardhat provider) error, if any. */
function findRevertData(error: unknown, depth = 0): string | undefined {
  if (depth > 6 || typeof error !== "object" || error === null) return undefined;
  const record = error as Record<string, unknown>;
  const data = record.data;
  if (typeof data === "string" && /^0x[0-9a-fA-F]{8}/.test(data)) return data;
  for (const key of ["error", "info", "cause", "data"]) {
    const found = findRevertData(record[key], depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Turns an ethers failure into a {@link ContractRevertError} carrying the decoded custom error, or returns it unchanged. */
function revertError(error: unknown, functionName: string, iface: Interface): unknown {
  if (error instanceof ContractRevertError) return error;
  const decodedByEthers = (error as { revert?: { name: string; args: readonly unknown[] } } | null)?.revert;
  if (decodedByEthers?.name) {
    return new ContractRevertError(`${functionName} reverted with ${decodedByEthers.name}`, { error: decodedByEthers.name, args: [...decodedByEthers.args] }, { cause: error });
  }
  const data = findRevertData(error);
  if (data !== undefined) {
    for (const candidate of [iface, ERRORS_INTERFACE]) {
      try {
        const parsed = candidate.parseError(data);
        if (parsed !== null) {
          return new ContractRevertError(`${functionName} reverted with ${parsed.name}`, { error: parsed.name, args: [...parsed.args], data }, { cause: error });
        }
      } catch {
        // not one of this interface's errors
      }
    }
    return new ContractRevertError(`${functionName} reverted`, { error: undefined, data }, { cause: error });
  }
  if ((error as { code?: unknown } | null)?.code === "CALL_EXCEPTION") {
    return new ContractRevertError(`${functionName} reverted`, { error: undefined }, { cause: error });
  }
  return error;
}
