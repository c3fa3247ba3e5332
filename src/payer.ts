// The paying side of a channel: opens it with one transaction, then signs cumulative vouchers off-chain.
// Every voucher is durable in the payer's store before it is handed out, so a restart (or a crash right
// after a voucher left) continues from the last signed amount and never signs one cumulative amount twice.
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { parseHexInto } from "./crypto/encoding.ts";
import {
  bytesToHex,
  channelId as computeChannelId,
  ChannelStatus,
  ETH,
  MAX_CLOSE_DELAY,
  MAX_DEPOSIT,
  type Address,
  type ChannelConfig,
  type ChannelState,
  type Hex,
} from "./channel.ts";
import type { ChainWriter, TxResult } from "./chain/adapter.ts";
import {
  ChannelClosingError,
  ChannelNotOpenError,
  InsufficientFundsError,
  InvalidArgumentError,
  NotIncreasingError,
  UnknownChannelError,
} from "./errors.ts";
import type { PayerChannelRecord, PayerStore } from "./store/store.ts";
import { viewFor, type StoreOrView } from "./store/deployment.ts";
import { signVoucher, type Voucher } from "./voucher.ts";
import { receiveAuthorizationTypedData } from "./gasless.ts";

export type { PayerChannelRecord } from "./store/store.ts";

export interface OpenChannelParameters {
  payee: Address;
  /** The first deposit, in the token's smallest unit. */
  amount: bigint;
  /** ERC-20 token of the channel; ETH when omitted. */
  token?: Address;
  /** Seconds the payee has to claim after a close request; 86400 (one day) by default. */
  closeDelay?: bigint;
  /**
   * Who signs vouchers. `"session"` (the default): a fresh local key, kept in the payer's store, so the
   * wallet signs only the open transaction. `{ privateKey }`: that key, held in memory only (pass it
   * again in the Payer's `privateKeys` after a restart).
   */
  signer?: "session" | { privateKey: Hex };
  /** Makes the channel id unique when the other fields repeat; 32 zero bytes by default. */
  salt?: Hex;
  /** Open an EIP-2612 token channel with a permit instead of an approval transaction. */
  permit?: boolean;
}

export interface PayerChannel {
  channelId: Hex;
  config: ChannelConfig;
  chainId: bigint;
  contract: Address;
  /** The open transaction. */
  transaction: TxResult;
}

export interface PayerParameters {
  chain: ChainWriter;
  /** A store backend (the Payer takes the view of its chain's deployment), or that deployment's view. */
  store: StoreOrView<PayerStore>;
  /** Voucher keys of channels opened with `signer: { privateKey }`, needed again after a restart. */
  privateKeys?: Hex[];
  /**
   * Gasless opens: a channel in one of these ERC-3009 tokens is opened from an authorization that `chain`'s
   * account signs (no gas, no approval) and `relayer` submits. The payer's wallet then only signs.
   */
  gasless?: PayerGaslessOptions;
}

export interface PayerGaslessOptions {
  /** Submits the signed authorization: any account with gas (the payee's server, a relay service). */
  relayer: ChainWriter;
  /** The ERC-3009 tokens to open gaslessly, with the EIP-712 name and version each declares (USDC: "2"). */
  tokens: { token: Address; name: string; version: string }[];
  /** Seconds an authorization stays valid. Default 3600. */
  validForSeconds?: bigint;
}

export const DEFAULT_CLOSE_DELAY = 86_400n;
const ZERO_SALT: Hex = `0x${"00".repeat(32)}`;

/** The Ethereum address of a secp256k1 private key. */
export function addressOfPrivateKey(privateKey: Hex): Address {
  if (!/^0x[0-9a-fA-F]{64}$/.test(privateKey)) throw new InvalidArgumentError("a private key is 32 bytes of 0x-prefixed hex");
  const secret = new Uint8Array(32);
  parseHexInto(privateKey, secret, 0, 32, false); // the regex above has checked the shape
  if (!secp256k1.utils.isValidSecretKey(secret)) throw new InvalidArgumentError("not a valid secp256k1 private key");
  const publicKey = secp256k1.getPublicKey(secret, false);
  return bytesToHex(keccak_256(publicKey.subarray(1)).subarray(12)) as Address;
}

function isAddress(value: unknown): value is Address {
  return typeof value === "string" && /^0x[0-9a-fA-F]{40}$/.test(value);
}

export class Payer {
  readonly #chain: ChainWriter;
  readonly #storeGiven: StoreOrView<PayerStore>;
  #view: Promise<PayerStore> | undefined;
  /** Voucher keys given by the caller, by lower-cased signer address. Session keys live in the store. */
  readonly #keys = new Map<string, Hex>();
  /** The store's records, read once per process; the store stays the authority written first. */
  readonly #records = new Map<Hex, PayerChannelRecord>();
  /** On-chain state as last read, to refuse vouchers above the deposit without a call per voucher. */
  readonly #states = new Map<Hex, ChannelState>();
  /** Per-channel queue: signing reads then raises `signedAmount`, so two calls must not interleave. */
  readonly #queues = new Map<Hex, Promise<unknown>>();

  readonly #gasless: PayerGaslessOptions | undefined;

  constructor(params: PayerParameters) {
    this.#gasless = params.gasless;
    this.#chain = params.chain;
    this.#storeGiven = params.store;
    for (const key of params.privateKeys ?? []) this.#keys.set(addressOfPrivateKey(key).toLowerCase(), key);
  }

  /** Opens a channel. Its record (with the session key) is durable before the transaction is sent. */
  async open(params: OpenChannelParameters): Promise<PayerChannel> {
    if (!isAddress(params.payee)) throw new InvalidArgumentError("payee must be an address", { payee: params.payee });
    if (typeof params.amount !== "bigint" || params.amount <= 0n || params.amount > MAX_DEPOSIT) {
      throw new InvalidArgumentError(`amount must be a bigint in [1, ${MAX_DEPOSIT}]`, { amount: params.amount });
    }
    const token = params.token ?? ETH;
    if (!isAddress(token)) throw new InvalidArgumentError("token must be an address", { token });
    const closeDelay = params.closeDelay ?? DEFAULT_CLOSE_DELAY;
    if (typeof closeDelay !== "bigint" || closeDelay < 0n || closeDelay > MAX_CLOSE_DELAY) {
      throw new InvalidArgumentError(`closeDelay must be a bigint in [0, ${MAX_CLOSE_DELAY}]`, { closeDelay });
    }
    const salt = params.salt ?? ZERO_SALT;
    if (!/^0x[0-9a-fA-F]{64}$/.test(salt)) throw new InvalidArgumentError("salt must be 32 bytes of hex", { salt });
    if (params.permit === true && token === ETH) throw new InvalidArgumentError("a permit needs an ERC-20 token");

    const signer = params.signer ?? "session";
    const sessionKey = signer === "session" ? bytesToHex(secp256k1.utils.randomSecretKey()) : undefined;
    const voucherKey = sessionKey ?? (signer as { privateKey: Hex }).privateKey;
    const signerAddress = addressOfPrivateKey(voucherKey);
    if (sessionKey === undefined) this.#keys.set(signerAddress.toLowerCase(), voucherKey);

    const config: ChannelConfig = { payer: this.#chain.account, payee: params.payee, token, signer: signerAddress, closeDelay, salt };
    const id = computeChannelId(config);
    const chainId = await this.#chain.chainId();
    const record: PayerChannelRecord = { channelId: id, chainId, contract: this.#chain.contract, config, sessionKey, signedAmount: 0n };
    // Before the transaction: once the deposit is locked, losing the session key would leave the payer
    // unable to pay from it (it could still get the deposit back through requestClose and withdraw).
    await (await this.#store()).savePayerChannel(record);
    this.#records.set(id, record);

    const gaslessToken = this.#gasless?.tokens.find((t) => t.token.toLowerCase() === token.toLowerCase());
    const transaction =
      gaslessToken !== undefined
        ? await this.#openGasless(config, id, chainId, params.amount, gaslessToken)
        : params.permit === true
          ? await this.#chain.openWithPermit(config, params.amount)
          : await this.#chain.open(config, params.amount);
    // Read back rather than assume: a fee-on-transfer token credits what actually arrived.
    this.#states.set(id, await this.#chain.readChannel(id));
    return { channelId: id, config, chainId, contract: this.#chain.contract, transaction };
  }

  /** Signs an ERC-3009 authorization of exactly this channel and amount, and has the relayer submit it. */
  async #openGasless(
    config: ChannelConfig,
    id: Hex,
    chainId: bigint,
    amount: bigint,
    token: PayerGaslessOptions["tokens"][number],
  ): Promise<TxResult> {
    const gasless = this.#gasless as PayerGaslessOptions;
    const validBefore = (await this.#chain.blockTimestamp()) + (gasless.validForSeconds ?? 3600n);
    const typed = receiveAuthorizationTypedData({
      token: { name: token.name, version: token.version, chainId, token: token.token },
      contract: this.#chain.contract,
      payer: config.payer,
      channelId: id,
      amount,
      validBefore,
    });
    const signature = await this.#chain.signTypedData(typed);
    return gasless.relayer.openWithAuthorization(config, amount, { validAfter: 0n, validBefore, signature });
  }

  /** Signs the next cumulative voucher, raised by `increment`; durable in the store before it returns. */
  pay(channelId: Hex, increment: bigint): Promise<Voucher> {
    if (typeof increment !== "bigint" || increment <= 0n) {
      return Promise.reject(new InvalidArgumentError("increment must be a positive bigint", { increment }));
    }
    return this.#sign(channelId, (signed) => signed + increment);
  }

  /** Signs a voucher for an absolute cumulative amount (must be above what was signed). */
  payUpTo(channelId: Hex, cumulativeAmount: bigint): Promise<Voucher> {
    if (typeof cumulativeAmount !== "bigint" || cumulativeAmount <= 0n) {
      return Promise.reject(new InvalidArgumentError("cumulativeAmount must be a positive bigint", { cumulativeAmount }));
    }
    return this.#sign(channelId, () => cumulativeAmount);
  }

  /** What the store holds about a channel (the session key included). */
  async channel(channelId: Hex): Promise<PayerChannelRecord | undefined> {
    const record = this.#records.get(channelId.toLowerCase() as Hex) ?? (await (await this.#store()).payerChannel(channelId));
    return record && { ...record, config: { ...record.config } };
  }

  async topUp(channelId: Hex, amount: bigint): Promise<TxResult> {
    if (typeof amount !== "bigint" || amount <= 0n) throw new InvalidArgumentError("amount must be a positive bigint", { amount });
    const record = await this.#record(channelId);
    const transaction = await this.#chain.topUp(record.config, amount);
    this.#states.set(record.channelId, await this.#chain.readChannel(record.channelId));
    return transaction;
  }

  /** Starts the close countdown; no voucher is signed for this channel afterwards. */
  async requestClose(channelId: Hex): Promise<TxResult> {
    const record = await this.#record(channelId);
    const transaction = await this.#chain.requestClose(record.config);
    this.#states.set(record.channelId, await this.#chain.readChannel(record.channelId));
    return transaction;
  }

  /** After the close delay: takes back what the payee did not claim. */
  async withdraw(channelId: Hex): Promise<TxResult> {
    const record = await this.#record(channelId);
    const transaction = await this.#chain.withdraw(record.config);
    this.#states.set(record.channelId, await this.#chain.readChannel(record.channelId));
    return transaction;
  }

  /** The store's view for this payer's chain (a view for another deployment fails as WRONG_CHAIN). */
  #store(): Promise<PayerStore> {
    this.#view ??= viewFor(this.#storeGiven, this.#chain).catch((error: unknown) => {
      this.#view = undefined;
      throw error;
    });
    return this.#view;
  }

  async #record(channelId: Hex): Promise<PayerChannelRecord> {
    if (typeof channelId !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(channelId)) {
      throw new InvalidArgumentError("channelId must be 32 bytes of hex", { channelId });
    }
    const id = channelId.toLowerCase() as Hex;
    let record = this.#records.get(id);
    if (record === undefined) {
      record = await (await this.#store()).payerChannel(id);
      if (record === undefined) throw new UnknownChannelError(`this payer has no channel ${id}`, { channelId: id });
      this.#records.set(id, record);
    }
    return record;
  }

  async #state(id: Hex, refresh: boolean): Promise<ChannelState> {
    let state = this.#states.get(id);
    if (state === undefined || refresh) {
      state = await this.#chain.readChannel(id);
      this.#states.set(id, state);
    }
    return state;
  }

  #sign(channelId: Hex, target: (signedAmount: bigint) => bigint): Promise<Voucher> {
    const key = typeof channelId === "string" ? (channelId.toLowerCase() as Hex) : channelId;
    const previous = this.#queues.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.#signNow(channelId, target));
    this.#queues.set(key, next);
    // Drop the queue entry once idle so the map does not grow with every channel ever paid.
    void next.catch(() => undefined).then(() => {
      if (this.#queues.get(key) === next) this.#queues.delete(key);
    });
    return next;
  }

  async #signNow(channelId: Hex, target: (signedAmount: bigint) => bigint): Promise<Voucher> {
    const record = await this.#record(channelId);
    const id = record.channelId.toLowerCase() as Hex;
    const amount = target(record.signedAmount);
    if (amount <= record.signedAmount) {
      throw new NotIncreasingError(`already signed ${record.signedAmount} on this channel`, { channelId: id, amount, signedAmount: record.signedAmount });
    }
    let state = await this.#state(id, false);
    // Someone may have topped the channel up since the last read: look once more before refusing.
    if (amount > state.deposit) state = await this.#state(id, true);
    if (state.status === ChannelStatus.Closing) throw new ChannelClosingError("the payer asked to close this channel", { channelId: id });
    if (state.status !== ChannelStatus.Open) throw new ChannelNotOpenError("the channel is not open", { channelId: id, status: state.status });
    if (amount > state.deposit) {
      throw new InsufficientFundsError(`the channel holds ${state.deposit}, a voucher for ${amount} would exceed it`, {
        channelId: id,
        deposit: state.deposit,
        amount,
      });
    }
    const privateKey = record.sessionKey ?? this.#keys.get(record.config.signer.toLowerCase());
    if (privateKey === undefined) {
      throw new InvalidArgumentError(`no private key for signer ${record.config.signer}: pass it in the Payer's privateKeys`, { signer: record.config.signer });
    }
    const voucher = signVoucher({ chainId: record.chainId, verifyingContract: record.contract }, id, amount, privateKey);
    // Durable first: a voucher handed out but not recorded could be signed again for another amount.
    try {
      await (await this.#store()).recordSigned(id, amount, voucher.signature);
    } catch (error) {
      // Whether the write landed is unknown: forget the cached record so the next call rereads the store.
      this.#records.delete(id);
      throw error;
    }
    record.signedAmount = amount;
    record.signature = voucher.signature;
    return voucher;
  }
}
