// Input checks of the commerce stores: a malformed charge is refused before anything is written, and
// what gets written is a normalized copy (lower-case hex) the caller can no longer mutate.
import type { Address, Hex } from "../channel.ts";
import { InvalidArgumentError } from "../errors.ts";
import type { StoredVoucher } from "../store/store.ts";
import { checkVoucher } from "../store/validate.ts";
import { receiptFields, type Receipt } from "./receipt.ts";
import { receiptDigest } from "./receipt.ts";

const ZERO_DOMAIN = { chainId: 0n, verifyingContract: "0x0000000000000000000000000000000000000000" as Address };

export function checkChargeInput(voucher: StoredVoucher, receipt: Receipt): { voucher: StoredVoucher; receipt: Receipt } {
  const v = checkVoucher(voucher);
  // Hashing checks every field's shape (throws BadReceiptError); the domain does not matter for that.
  receiptDigest(ZERO_DOMAIN, receipt);
  if (typeof receipt.signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(receipt.signature)) {
    throw new InvalidArgumentError("receipt signature must be 65 bytes of hex", { signature: receipt.signature });
  }
  const r: Receipt = {
    ...receiptFields(receipt),
    payer: receipt.payer.toLowerCase() as Address,
    channelId: receipt.channelId.toLowerCase() as Hex,
    token: receipt.token.toLowerCase() as Address,
    signature: receipt.signature.toLowerCase() as Hex,
  };
  if (r.channelId !== v.channelId || r.cumulativeAmount !== v.amount) {
    throw new InvalidArgumentError("the receipt must name the voucher's channel and cumulative amount", { channelId: r.channelId, amount: v.amount });
  }
  return { voucher: v, receipt: r };
}
