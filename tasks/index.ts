// The operator tasks: `npx hardhat trickle:<name> --network <network> ...`. Each action lives in its own
// file and is loaded only when its task runs. Keys never come from the command line (see lib/keys.ts).
import { task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

const DATA_DIR = { name: "dataDir", description: "Where the payer's and payee's state lives (default: .trickle/<network>/)", defaultValue: "" } as const;
const CREATE = { name: "create", description: "Create the payee store when there is none (in the data dir, or the PostgreSQL schema); otherwise a missing store is an error" } as const;
const CONTRACT = { name: "contract", description: "PaymentChannels address (default: the data dir's deployment.json, else the CREATE2 address)", defaultValue: "" } as const;
const CHANNEL = { name: "channel", description: "Channel id (0x + 64 hex digits)" } as const;
const STORE_SCHEMA = {
  name: "storeSchema",
  description: "PostgreSQL schema of the payee store, when TRICKLE_PAYEE_STORE_URL names a database (else the store is payee.sqlite in the data dir)",
  defaultValue: "trickle",
} as const;

export const trickleTasks = [
  task("trickle:deploy", "Deploy PaymentChannels at its deterministic address (key: TRICKLE_DEPLOYER_KEY)")
    .addOption(DATA_DIR)
    .setAction(() => import("./deploy.ts"))
    .build(),

  task("trickle:open", "Open a channel as the payer, with a fresh session key for vouchers (key: TRICKLE_PAYER_KEY)")
    .addOption({ name: "payee", description: "Payee address (default on a local chain: its account #2)", defaultValue: "" })
    .addOption({ name: "amount", description: "First deposit, in token units (e.g. 1.5 or \"1.5 USDC\")", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "token", description: "ERC-20 token address (default: ETH)", defaultValue: "" })
    .addOption({ name: "closeDelay", description: "Seconds the payee has to claim after a close request", type: ArgumentType.BIGINT, defaultValue: 86_400n })
    .addOption(DATA_DIR)
    .addOption(CONTRACT)
    .setAction(() => import("./open.ts"))
    .build(),

  task("trickle:pay", "Sign the next voucher of a channel; prints it in the wire encoding on stdout")
    .addOption({ ...CHANNEL, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "amount", description: "Increment over what was signed, in token units (e.g. 0.001 or \"0.001 USDC\")", defaultValue: "" })
    .addOption({ name: "total", description: "Cumulative amount to sign instead, in token units", defaultValue: "" })
    .addOption(DATA_DIR)
    .addOption(CONTRACT)
    .setAction(() => import("./pay.ts"))
    .build(),

  task("trickle:accept", "Check and store a voucher as the payee (key: TRICKLE_PAYEE_KEY)")
    .addOption({ name: "voucher", description: "The voucher, as trickle:pay printed it", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "minCloseDelay", description: "Shortest close delay accepted, seconds", type: ArgumentType.BIGINT, defaultValue: 3_600n })
    .addOption({ name: "tokens", description: "ERC-20 tokens accepted besides ETH, comma-separated (default: ETH only)", defaultValue: "" })
    .addOption(DATA_DIR)
    .addOption(CONTRACT)
    .addFlag(CREATE)
    .addOption(STORE_SCHEMA)
    .setAction(() => import("./accept.ts"))
    .build(),

  task("trickle:status", "Show a channel's on-chain state and what the local payer and payee stores hold")
    .addOption({ ...CHANNEL, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption(DATA_DIR)
    .addOption(CONTRACT)
    .addOption(STORE_SCHEMA)
    .setAction(() => import("./status.ts"))
    .build(),

  task("trickle:claim", "Claim the best stored voucher; the channel stays open (key: TRICKLE_PAYEE_KEY)")
    .addOption({ ...CHANNEL, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption(DATA_DIR)
    .addOption(CONTRACT)
    .addFlag(CREATE)
    .addOption(STORE_SCHEMA)
    .setAction(() => import("./claim.ts"))
    .build(),

  task("trickle:close", "Close with the best stored voucher and refund the rest to the payer (key: TRICKLE_PAYEE_KEY)")
    .addOption({ ...CHANNEL, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption(DATA_DIR)
    .addOption(CONTRACT)
    .addFlag(CREATE)
    .addOption(STORE_SCHEMA)
    .setAction(() => import("./close.ts"))
    .build(),

  task("trickle:request-close", "Start the close delay as the payer (key: TRICKLE_PAYER_KEY)")
    .addOption({ ...CHANNEL, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption(DATA_DIR)
    .addOption(CONTRACT)
    .setAction(() => import("./request-close.ts"))
    .build(),

  task("trickle:withdraw", "After the close delay, take back what was not claimed (key: TRICKLE_PAYER_KEY)")
    .addOption({ ...CHANNEL, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption(DATA_DIR)
    .addOption(CONTRACT)
    .setAction(() => import("./withdraw.ts"))
    .build(),

  task("trickle:watch", "Run the payee's watchtower: close on every close request, claim above a threshold; on PostgreSQL one of several acts (key: TRICKLE_PAYEE_KEY)")
    .addOption({ name: "pollInterval", description: "Milliseconds between polls", type: ArgumentType.INT, defaultValue: 4_000 })
    .addOption({ name: "confirmations", description: "Blocks before an event is acted on (default: 0 on a local chain, 2 elsewhere)", type: ArgumentType.INT, defaultValue: -1 })
    .addOption({ name: "closeMargin", description: "Seconds before a close deadline by which the close must be mined", type: ArgumentType.BIGINT, defaultValue: 600n })
    .addOption({ name: "claimThreshold", description: "Claim when a channel's unclaimed value reaches this, in token units (e.g. 0.05 or \"0.05 ETH\"; off when empty)", defaultValue: "" })
    .addOption({ name: "claimToken", description: "ERC-20 token whose decimals --claim-threshold is read in (default: ETH, 18 decimals)", defaultValue: "" })
    .addOption({ name: "bumpAfter", description: "Milliseconds before an unmined close or claim is re-sent with a higher fee", type: ArgumentType.INT, defaultValue: 60_000 })
    .addFlag({ name: "closeWithoutGain", description: "Also close channels with nothing to claim, to refund their payer at once" })
    .addFlag({ name: "once", description: "One pass (catch up, act), then exit; status 1 if a critical alert was raised" })
    .addOption(DATA_DIR)
    .addOption(CONTRACT)
    .addFlag(CREATE)
    .addOption(STORE_SCHEMA)
    .setAction(() => import("./watch.ts"))
    .build(),
];
