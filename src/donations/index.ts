// `trickle/donations`: split channels and the tip jar, donor and creator sides. Browser-safe (no Node built-ins).
export * from "./errors.ts";
export * from "./split.ts";
export * from "./tally.ts";
export * from "./receipt.ts";
export * from "./caps.ts";
export * from "./statement.ts";
export * from "./chain.ts";
export { Donor } from "./donor.ts";
export type { DonorParameters, SignedTip } from "./donor.ts";
export * from "./signing.ts";
export { Creator, BudgetStatus, MAX_SETTLE_BATCH } from "./creator.ts";
export type { CreatorHoldings, CreatorParameters } from "./creator.ts";
