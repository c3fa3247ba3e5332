// `trickle`: what a dApp imports. Vouchers, channel ids, errors, the Payer and the Payee, and the in-memory
// store; nothing here loads Hardhat or a Node-only store. Heavier or Node-only parts have their own entry
// points: `trickle/store/sqlite`, `trickle/store/memory`, `trickle/chain/viem`, `trickle/chain/ethers`,
// `trickle/http`.
export * from "./channel.ts";
export * from "./errors.ts";
export * from "./voucher.ts";
export { Payer, addressOfPrivateKey, DEFAULT_CLOSE_DELAY } from "./payer.ts";
export type { OpenChannelParameters, PayerChannel, PayerParameters } from "./payer.ts";
export { Payee, DEFAULT_MIN_CLOSE_DELAY } from "./payee.ts";
export { AcceptancePolicy, CLAIM_MARGIN_SECONDS, minSafeCloseDelay } from "./policy.ts";
export type { AcceptReceipt, AddressedVoucher, PayeeLimits, PayeeParameters, PayeePolicy } from "./payee.ts";
export { MemoryStore } from "./store/memory.ts";
export type { PayeeStore, PayerStore, PayerChannelRecord, SaveVoucherResult, StoredVoucher } from "./store/store.ts";
export type { ChannelLedger, ChargeResult } from "./store/store.ts";
export { isChainWriter } from "./chain/adapter.ts";
export type { ChainReader, ChainWriter, ChannelEvent, TxResult } from "./chain/adapter.ts";
export { PAYMENT_CHANNELS_ABI } from "./chain/abi.ts";
export * from "./units.ts";
export type { Deployment, StoreBackend, UnclaimedVoucher } from "./store/store.ts";
export type { DeploymentStore } from "./store/deployment.ts";
export * from "./gasless.ts";
export * from "./relay.ts";
export { toCompactClaims, toOnChainClaim } from "./chain/compact-claims.ts";
export type { ClaimEntry, CompactClaimEntry, OnChainClaim } from "./chain/compact-claims.ts";
export { claimBatches, claimManyCall } from "./chain/claim-batches.ts";
export type { ClaimManyCall } from "./chain/claim-batches.ts";
export type { Erc3009Authorization, PayeeRelay, Permit2Deposit } from "./chain/adapter.ts";
export type { PayerGaslessOptions } from "./payer.ts";
