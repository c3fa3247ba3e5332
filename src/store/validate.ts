// Input checks shared by every store. A store refuses a malformed value before it queues any write,
// so a bad call can never leave a partial write behind. Each check returns a fresh, normalized copy:
// a caller mutating its object after the call cannot change what gets written.
import { channelId as computeChannelId } from "../channel.ts";
import type { Address, ChannelConfig, Hex } from "../channel.ts";
import { InvalidArgumentError } from "../errors.ts";
import type { Deployment, PayerChannelRecord, StoredVoucher } from "./store.ts";

const UINT256_LIMIT = 1n << 256n;
const UINT64_LIMIT = 1n << 64n;

function hexOfLength(value: unknown, bytes: number, field: string): Hex {
  if (typeof value !== "string" || value.length !== 2 + bytes * 2 || !/^0x[0-9a-fA-F]*$/.test(value)) {
    throw new InvalidArgumentError(`${field} must be ${bytes} bytes of 0x-prefixed hex`, { field, value });
  }
  return value as Hex;
}

/** A uint256 as a bigint; numbers are refused because they silently lose precision above 2^53. */
export function checkUint(value: unknown, field: string, limit: bigint = UINT256_LIMIT): bigint {
  if (typeof value !== "bigint" || value < 0n || value >= limit) {
    throw new InvalidArgumentError(`${field} must be a bigint in [0, ${limit})`, { field, value });
  }
  return value;
}

/** Channel ids are compared case-insensitively, so stores keep them lower-cased. */
export function checkChannelId(value: unknown): Hex {
  return hexOfLength(value, 32, "channelId").toLowerCase() as Hex;
}

export function checkSignature(value: unknown): Hex {
  return hexOfLength(value, 65, "signature").toLowerCase() as Hex;
}

function checkAddress(value: unknown, field: string): Address {
  return hexOfLength(value, 20, field);
}

function checkObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null) {
    throw new InvalidArgumentError(`${field} must be an object`, { field, value });
  }
  return value as Record<string, unknown>;
}

export function checkVoucher(value: unknown): StoredVoucher {
  const voucher = checkObject(value, "voucher");
  return {
    channelId: checkChannelId(voucher.channelId),
    amount: checkUint(voucher.amount, "amount"),
    signature: checkSignature(voucher.signature),
  };
}

export function checkConfig(value: unknown): ChannelConfig {
  const config = checkObject(value, "config");
  return {
    payer: checkAddress(config.payer, "config.payer"),
    payee: checkAddress(config.payee, "config.payee"),
    token: checkAddress(config.token, "config.token"),
    signer: checkAddress(config.signer, "config.signer"),
    closeDelay: checkUint(config.closeDelay, "config.closeDelay", UINT64_LIMIT),
    salt: hexOfLength(config.salt, 32, "config.salt"),
  };
}

/** The id of a config that already passed {@link checkConfig}. */
export function configId(config: ChannelConfig): Hex {
  return computeChannelId(config);
}

export function checkPayerRecord(value: unknown): PayerChannelRecord {
  const record = checkObject(value, "record");
  const config = checkConfig(record.config);
  const id = checkChannelId(record.channelId);
  if (configId(config) !== id) {
    throw new InvalidArgumentError("channelId is not the id of config", { channelId: id, expected: configId(config) });
  }
  const checked: PayerChannelRecord = {
    channelId: id,
    chainId: checkUint(record.chainId, "chainId"),
    contract: checkAddress(record.contract, "contract").toLowerCase() as Address,
    config,
    signedAmount: checkUint(record.signedAmount, "signedAmount"),
  };
  if (record.sessionKey !== undefined) checked.sessionKey = hexOfLength(record.sessionKey, 32, "sessionKey");
  if (record.signature !== undefined) checked.signature = checkSignature(record.signature);
  return checked;
}

export function checkMetaKey(value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new InvalidArgumentError("meta key must be a non-empty string", { field: "key", value });
  }
  return value;
}

export function checkMetaValue(value: unknown): string {
  if (typeof value !== "string") {
    throw new InvalidArgumentError("meta value must be a string", { field: "value", value });
  }
  return value;
}

/** The price of one charged request: a uint256 above zero (a free request needs no charge). */
export function checkPrice(value: unknown): bigint {
  const price = checkUint(value, "price");
  if (price === 0n) throw new InvalidArgumentError("price must be above zero", { field: "price", value });
  return price;
}

/** A deployment with its contract lower-cased, so keys compare equal whatever the caller's case. */
export function checkDeployment(value: unknown): Deployment {
  const deployment = checkObject(value, "deployment");
  return {
    chainId: checkUint(deployment.chainId, "deployment.chainId"),
    contract: checkAddress(deployment.contract, "deployment.contract").toLowerCase() as Address,
  };
}

export function checkBoolean(value: unknown, field: string): boolean {
  if (typeof value !== "boolean") throw new InvalidArgumentError(`${field} must be a boolean`, { field, value });
  return value;
}
