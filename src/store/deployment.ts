// One deployment's view of a store backend. A backend keys every record by (chainId, contract,
// channelId) and knows nothing of callers; the view validates each call, adds its deployment to the
// key, and is what the Payer, the Payee and the watchtower hold. Two views of one backend on two chains
// can hold the same channel id without ever reading each other's records.
import type { ChannelConfig, Hex } from "../channel.ts";
import { InvalidArgumentError, StoreError, WrongChainError } from "../errors.ts";
import type { OpValue, WriteOp } from "./batch.ts";
import { isPrepaidToken } from "./prepaid.ts";
import type {
  ChannelLedger,
  ChargeOptions,
  ChargeResult,
  Deployment,
  PayeeStore,
  PayerChannelRecord,
  PayerStore,
  SaveVoucherResult,
  StoreBackend,
  StoredVoucher,
  UnclaimedVoucher,
} from "./store.ts";
import {
  checkBoolean,
  checkChannelId,
  checkConfig,
  checkDeployment,
  checkMetaKey,
  checkMetaValue,
  checkPayerRecord,
  checkPrice,
  checkSignature,
  checkUint,
  checkVoucher,
  configId,
} from "./validate.ts";

/** What a backend implements; every read and write names its deployment (already validated). */
export interface KeyedStore {
  submit(op: WriteOp): Promise<OpValue>;
  chargeLedger(d: Deployment, channelId: Hex): Promise<ChannelLedger | undefined>;
  bestVoucher(d: Deployment, channelId: Hex): Promise<StoredVoucher | undefined>;
  bestVouchers(d: Deployment): Promise<StoredVoucher[]>;
  unclaimedVouchers(d: Deployment): Promise<UnclaimedVoucher[]>;
  channel(d: Deployment, channelId: Hex): Promise<ChannelConfig | undefined>;
  getMeta(d: Deployment, key: string): Promise<string | undefined>;
  payerChannel(d: Deployment, channelId: Hex): Promise<PayerChannelRecord | undefined>;
  payerChannels(d: Deployment): Promise<PayerChannelRecord[]>;
  close(): Promise<void>;
}

export class DeploymentStore implements PayeeStore, PayerStore {
  readonly deployment: Deployment;
  readonly #backend: KeyedStore;

  constructor(backend: KeyedStore, deployment: Deployment) {
    this.#backend = backend;
    this.deployment = Object.freeze(checkDeployment(deployment));
  }

  async saveVoucherIfHigher(voucher: StoredVoucher): Promise<SaveVoucherResult> {
    const result = await this.#backend.submit({ kind: "voucher", deployment: this.deployment, voucher: checkVoucher(voucher) });
    if (!result || !("previousAmount" in result)) throw new StoreError("no result for a voucher save");
    return result;
  }

  async chargeVoucher(voucher: StoredVoucher, price: bigint, options: ChargeOptions = {}): Promise<ChargeResult> {
    const prepaid = options.prepaid;
    if (prepaid !== undefined && !isPrepaidToken(prepaid)) {
      throw new InvalidArgumentError("prepaid is not a token: an anchor and a token of 32 lower-case hex bytes, an index from 1", { prepaid: String(prepaid) });
    }
    const op = { kind: "charge", deployment: this.deployment, voucher: checkVoucher(voucher), price: checkPrice(price), prepaid } as const;
    const result = await this.#backend.submit(op);
    if (!result || !("charged" in result)) throw new StoreError("no result for a charge");
    return result;
  }

  chargeLedger(channelId: Hex): Promise<ChannelLedger | undefined> {
    return this.#read(() => this.#backend.chargeLedger(this.deployment, checkChannelId(channelId)));
  }

  bestVoucher(channelId: Hex): Promise<StoredVoucher | undefined> {
    return this.#read(() => this.#backend.bestVoucher(this.deployment, checkChannelId(channelId)));
  }

  bestVouchers(): Promise<StoredVoucher[]> {
    return this.#read(() => this.#backend.bestVouchers(this.deployment));
  }

  unclaimedVouchers(): Promise<UnclaimedVoucher[]> {
    return this.#read(() => this.#backend.unclaimedVouchers(this.deployment));
  }

  async recordClaimed(channelId: Hex, claimed: bigint, finished = false): Promise<void> {
    await this.#backend.submit({
      kind: "claimed",
      deployment: this.deployment,
      channelId: checkChannelId(channelId),
      claimed: checkUint(claimed, "claimed"),
      finished: checkBoolean(finished, "finished"),
    });
  }

  async saveChannel(config: ChannelConfig): Promise<void> {
    const checked = checkConfig(config);
    await this.#backend.submit({ kind: "payeeChannel", deployment: this.deployment, channelId: configId(checked), config: checked });
  }

  channel(channelId: Hex): Promise<ChannelConfig | undefined> {
    return this.#read(() => this.#backend.channel(this.deployment, checkChannelId(channelId)));
  }

  getMeta(key: string): Promise<string | undefined> {
    return this.#read(() => this.#backend.getMeta(this.deployment, checkMetaKey(key)));
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.#backend.submit({ kind: "meta", deployment: this.deployment, key: checkMetaKey(key), value: checkMetaValue(value) });
  }

  async savePayerChannel(record: PayerChannelRecord): Promise<void> {
    const checked = checkPayerRecord(record);
    if (checked.chainId !== this.deployment.chainId || checked.contract.toLowerCase() !== this.deployment.contract) {
      throw new InvalidArgumentError("the record is for another deployment than this store view", {
        chainId: checked.chainId,
        contract: checked.contract,
        expected: this.deployment,
      });
    }
    await this.#backend.submit({ kind: "payerChannel", deployment: this.deployment, record: checked });
  }

  payerChannel(channelId: Hex): Promise<PayerChannelRecord | undefined> {
    return this.#read(() => this.#backend.payerChannel(this.deployment, checkChannelId(channelId)));
  }

  payerChannels(): Promise<PayerChannelRecord[]> {
    return this.#read(() => this.#backend.payerChannels(this.deployment));
  }

  async recordSigned(channelId: Hex, amount: bigint, signature: Hex): Promise<void> {
    await this.#backend.submit({
      kind: "signed",
      deployment: this.deployment,
      channelId: checkChannelId(channelId),
      amount: checkUint(amount, "amount"),
      signature: checkSignature(signature),
    });
  }

  close(): Promise<void> {
    return this.#backend.close();
  }

  /** Validation errors thrown synchronously become rejections, as for writes. */
  async #read<T>(query: () => Promise<T>): Promise<T> {
    return query();
  }
}

/** A store given to the Payer, the Payee or the watchtower: a whole backend, or one deployment's view. */
export type StoreOrView<View> = View | StoreBackend;

/**
 * The view of `store` for the deployment `chain` talks to. A backend gets a view for it; a view must be
 * for that deployment, or the caller would read another chain's channels: WRONG_CHAIN.
 */
export async function viewFor<View extends { readonly deployment: Deployment }>(
  store: StoreOrView<View>,
  chain: { chainId(): Promise<bigint>; readonly contract: string },
): Promise<View> {
  const deployment = checkDeployment({ chainId: await chain.chainId(), contract: chain.contract });
  if (isBackend(store)) return store.forDeployment(deployment) as unknown as View;
  if (store.deployment.chainId !== deployment.chainId || store.deployment.contract.toLowerCase() !== deployment.contract) {
    throw new WrongChainError(`the store view is for chain ${store.deployment.chainId}, contract ${store.deployment.contract}`, {
      store: store.deployment,
      chain: deployment,
    });
  }
  return store;
}

function isBackend<View>(store: StoreOrView<View>): store is StoreBackend {
  return typeof (store as Partial<StoreBackend>).forDeployment === "function" && !("deployment" in (store as object));
}
