// `trickle/commerce`: subscriptions, memberships and in-app purchases paid with vouchers, with signed
// receipts. Browser-safe: the payer's parts (Subscriber, Buyer, receipts) and the payee's (Seller, plans,
// catalog, the in-memory store) use no Node built-ins. The SQLite store is `trickle/commerce/sqlite`.
export * from "./errors.ts";
export * from "./receipt.ts";
export { Catalog } from "./catalog.ts";
export type { Item, ItemDefinition, ItemKind } from "./catalog.ts";
export { Plans, periodKey, periodsOf, periodSequence } from "./plans.ts";
export type { PeriodQuote, Plan, PlanDefinition } from "./plans.ts";
export { Seller, entitlementAt } from "./seller.ts";
export type { Entitlement, PurchaseRequest, QuoteRequest, RenewRequest, Sale, SellerParameters } from "./seller.ts";
export { ChargingStore, CommerceView } from "./store.ts";
export type { Charge, CommerceStore, CommitOutcome, SalesBackend } from "./store.ts";
export { MemoryCommerceStore } from "./store-memory.ts";
export { Subscriber } from "./subscriber.ts";
export type { RenewalCheck, SubscriberLimits, SubscriberParameters } from "./subscriber.ts";
export { Buyer } from "./buyer.ts";
export type { BuyerParameters } from "./buyer.ts";
export type { Counter, CounterSale } from "./counter.ts";
export { httpCounter, CommerceRefusedError } from "./client.ts";
export type { HttpCounterOptions } from "./client.ts";
export type { VoucherSource } from "./counter.ts";
export { encodeReceiptHeader, decodeReceiptHeader, voucherToJson, voucherFromJson } from "./wire.ts";
export { encodePurchaseHeader } from "./purchase-header.ts";
export { exportLedger, ledgerEventsFromChain, ledgerFromStore, ledgerToCsv, ledgerToJson } from "./ledger.ts";
export type { LedgerEntry, LedgerEntryType, TimedChainEntry } from "./ledger.ts";
