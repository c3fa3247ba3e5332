// The package's entry points, in one place: package.json `exports` must list exactly these (a test checks),
// the browser bundle test and `npm run bench:bundle` bundle the browser-safe ones, and the consumer test
// imports every one from the installed tarball. Adding an entry point is one line here plus its `exports`.

export interface PackageEntry {
  /** The `exports` key: `.` or `./sub/path`. */
  subpath: string;
  /** The source file, from the repository root; the build writes it to `dist/` with the same path under `src/`. */
  source: string;
  /** Nothing it reaches may use a Node built-in: it is bundled for `platform: "browser"`. */
  browserSafe: boolean;
  /** Names the entry must export (what the consumer test and the exports test look for). */
  exports: string[];
}

export const PACKAGE_ENTRIES: readonly PackageEntry[] = [
  {
    subpath: ".",
    source: "src/index.ts",
    browserSafe: true,
    exports: [
      "Payer", "Payee", "MemoryStore", "signVoucher", "VoucherVerifier", "channelId", "ContractRevertError", "PAYMENT_CHANNELS_ABI",
      "receiveAuthorizationTypedData", "permit2DepositTypedData", "depositNonce", "relayedClaimTypedData", "signRelayedSettlement", "toCompactClaims", "claimBatches",
    ],
  },
  { subpath: "./store/memory", source: "src/store/memory.ts", browserSafe: true, exports: ["MemoryStore"] },
  { subpath: "./store/browser", source: "src/store/browser.ts", browserSafe: true, exports: ["IndexedDbStore"] },
  { subpath: "./browser", source: "src/browser/index.ts", browserSafe: true, exports: ["connectWallet", "reconnectWallet", "BrowserWallet", "IndexedDbStore", "WalletRejectedError"] },
  { subpath: "./stream", source: "src/stream/index.ts", browserSafe: false, exports: ["MeteredStream", "readMeteredStream", "StreamMeter"] },
  { subpath: "./stream/client", source: "src/stream/client.ts", browserSafe: true, exports: ["readMeteredStream", "payStreamFrom"] },
  { subpath: "./store/sqlite", source: "src/store/sqlite.ts", browserSafe: false, exports: ["SqliteStore"] },
  { subpath: "./store/postgres", source: "src/store/postgres.ts", browserSafe: false, exports: ["PostgresStore", "PostgresLeaderLease"] },
  { subpath: "./chain/viem", source: "src/chain/viem.ts", browserSafe: false, exports: ["viemChain"] },
  { subpath: "./chain/ethers", source: "src/chain/ethers.ts", browserSafe: false, exports: ["ethersChain"] },
  { subpath: "./http", source: "src/http/index.ts", browserSafe: false, exports: ["paymentGate", "PaymentGate", "createPayingFetch", "withPayment"] },
  { subpath: "./watchtower", source: "src/exports/watchtower.ts", browserSafe: false, exports: ["Watchtower", "watch", "feeBumpingSender"] },
  { subpath: "./abi", source: "src/chain/abi.ts", browserSafe: true, exports: ["PAYMENT_CHANNELS_ABI"] },
  { subpath: "./commerce", source: "src/commerce/index.ts", browserSafe: true, exports: ["Seller", "Subscriber", "Buyer", "Plans", "Catalog", "MemoryCommerceStore", "exportLedger"] },
  { subpath: "./commerce/sqlite", source: "src/commerce/store-sqlite.ts", browserSafe: false, exports: ["SqliteCommerceStore"] },
  { subpath: "./commerce/postgres", source: "src/commerce/store-postgres.ts", browserSafe: false, exports: ["PostgresCommerceStore"] },
  { subpath: "./commerce/http", source: "src/commerce/http.ts", browserSafe: false, exports: ["commerceApi", "withTier", "withPurchase"] },
  { subpath: "./donations", source: "src/donations/index.ts", browserSafe: true, exports: ["Donor", "Creator", "splitChannelConfig"] },
  { subpath: "./typechain", source: "src/chain/typechain/index.ts", browserSafe: false, exports: ["PaymentChannels__factory"] },
];

/** `exports` keys that are not compiled entry points (the artifact and package.json). */
export const OTHER_EXPORTS: readonly string[] = ["./artifacts/PaymentChannels.json", "./package.json"];

/** The built file of an entry: its source's path under dist/, as `.js` or `.d.ts`. */
export function builtPathOf(entry: PackageEntry, extension: ".js" | ".d.ts"): string {
  return `./dist/${entry.source.slice("src/".length).replace(/\.ts$/, extension)}`;
}

/** The import specifier of an entry, as a consumer writes it. */
export function specifierOf(entry: PackageEntry): string {
  return entry.subpath === "." ? "trickle" : `trickle${entry.subpath.slice(1)}`;
}
