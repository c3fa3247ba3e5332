// Durable `Payee.accept`s per second: the full accept path (shape, cached channel state, policy, native
// signature recovery, SQLite group commit with synchronous=FULL) on one core, many channels accepting
// at once. The channels are opened on an in-process chain and each has one accepted voucher before the
// clock starts, so their state is cached as it is in a running payee; the payee's periodic event pull still
// runs during the measurement. Writes `durableAcceptsPerSecond` into bench/results/vouchers.json (merged
// with what is there).
//
// Run: npx hardhat run scripts/bench-accepts.ts   (TRICKLE_BENCH_ACCEPTS=20000 TRICKLE_BENCH_CHANNELS=200 to size it)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre, { network } from "hardhat";
import { ETH, channelId, type Address, type ChannelConfig, type Hex } from "../src/channel.ts";
import { viemChain } from "../src/chain/viem.ts";
import { addressOfPrivateKey } from "../src/payer.ts";
import { Payee } from "../src/payee.ts";
import { SqliteStore } from "../src/store/sqlite.ts";
import { signVoucher, voucherCryptoBackend, VoucherVerifier, type Voucher } from "../src/voucher.ts";
import { buildContracts } from "./lib/build-contracts.ts";

export interface DurableAcceptsResult {
  durableAcceptsPerSecond: number;
  accepts: number;
  channels: number;
  /** Accepts in flight at once: one per channel, each channel's vouchers in order. */
  concurrency: number;
  commits: number;
  seconds: number;
  backend: string;
  /** `VoucherVerifier.verify` alone on the same vouchers in the same run: the share of an accept that is signature recovery. */
  verifyOnlyPerSecond: number;
}

export async function measureDurableAccepts(options: { accepts?: number; channels?: number } = {}): Promise<DurableAcceptsResult> {
  const channelCount = options.channels ?? 200;
  const perChannel = Math.ceil((options.accepts ?? 20_000) / channelCount);
  await buildContracts(hre);
  const { viem } = await network.create();
  const publicClient = await viem.getPublicClient();
  const [deployer, payer, payeeWallet] = await viem.getWalletClients();
  const deployed = await viem.deployContract("PaymentChannels");
  const contract = deployed.address as Address;
  const payerChain = viemChain({ publicClient, walletClient: payer, contract });
  const payeeChain = viemChain({ publicClient, walletClient: payeeWallet, contract });
  void deployer;

  const sessionKey = `0x${"11".repeat(32)}` as Hex;
  const signer = addressOfPrivateKey(sessionKey);
  const configs: ChannelConfig[] = [];
  for (let i = 0; i < channelCount; i++) {
    const config: ChannelConfig = {
      payer: payer.account.address,
      payee: payeeWallet.account.address,
      token: ETH,
      signer,
      closeDelay: 86_400n,
      salt: `0x${(i + 1).toString(16).padStart(64, "0")}`,
    };
    await payerChain.open(config, 10n ** 15n);
    configs.push(config);
  }
  const domain = { chainId: await payeeChain.chainId(), verifyingContract: contract };
  // Signed before the clock starts: this measures the payee, not the payer.
  const vouchers: Voucher[][] = configs.map((config) => {
    const id = channelId(config);
    return Array.from({ length: perChannel + 1 }, (_, k) => signVoucher(domain, id, BigInt(k + 1) * 1000n, sessionKey));
  });

  const dir = mkdtempSync(join(tmpdir(), "trickle-bench-accepts-"));
  const store = SqliteStore.open(join(dir, "payee.sqlite"));
  try {
    const payee = new Payee({ chain: payeeChain, store, payee: payeeWallet.account.address });
    // Warm-up: the first voucher of every channel loads and caches its config and state.
    await Promise.all(configs.map((config, i) => payee.accept(vouchers[i][0], config)));
    const commitsBefore = store.commits;
    const started = process.hrtime.bigint();
    let accepted = 0;
    await Promise.all(
      vouchers.map(async (channelVouchers) => {
        for (let k = 1; k < channelVouchers.length; k++) {
          await payee.accept(channelVouchers[k]);
          accepted++;
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;

    const verifier = new VoucherVerifier(domain);
    const verifyStarted = process.hrtime.bigint();
    for (const channelVouchers of vouchers) for (const voucher of channelVouchers) verifier.verify(voucher, signer);
    const verifySeconds = Number(process.hrtime.bigint() - verifyStarted) / 1e9;
    return {
      durableAcceptsPerSecond: Math.round(accepted / seconds),
      accepts: accepted,
      channels: channelCount,
      concurrency: channelCount,
      commits: store.commits - commitsBefore,
      seconds: Number(seconds.toFixed(3)),
      backend: voucherCryptoBackend,
      verifyOnlyPerSecond: Math.round((vouchers.length * vouchers[0].length) / verifySeconds),
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Sets `key` in bench/results/vouchers.json, keeping every other key there. */
export function mergeVoucherResults(entries: Record<string, unknown>): void {
  const dir = new URL("../bench/results/", import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL("vouchers.json", dir);
  let current: Record<string, unknown> = {};
  try {
    current = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch {
    // no results yet
  }
  writeFileSync(file, `${JSON.stringify({ ...current, ...entries }, null, 2)}\n`);
}

const runDirectly = process.argv.some((arg) => arg.endsWith("bench-accepts.ts"));
if (runDirectly) {
  const result = await measureDurableAccepts({
    accepts: Number(process.env.TRICKLE_BENCH_ACCEPTS ?? 20_000),
    channels: Number(process.env.TRICKLE_BENCH_CHANNELS ?? 200),
  });
  console.table([{ ...result, target: 5000, met: result.durableAcceptsPerSecond >= 5000 }]);
  mergeVoucherResults({ durableAcceptsPerSecond: result.durableAcceptsPerSecond, durableAccepts: result });
  console.log("wrote durableAcceptsPerSecond to bench/results/vouchers.json");
}
