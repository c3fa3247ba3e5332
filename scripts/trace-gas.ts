// `npm run trace:gas`: where the gas of the gasless and relayed rows of `npm run bench:gas` goes. Runs the same
// transactions in the same steady state (scripts/lib/bench-gasless.ts), traces each with
// `debug_traceTransaction` on the in-process network, and splits its gasUsed into the intrinsic part (21,000
// and the calldata) and what each opcode family cost in each contract, a call's own cost (account access,
// value transfer) apart from what its callee spent. Prints one table per row and writes
// bench/results/gas-trace.json.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { network } from "hardhat";
import { getBytes } from "ethers";
import { deployPaymentChannels } from "./lib/deploy.ts";
import { gaslessGas } from "./lib/bench-gasless.ts";
import { PERMIT2_ADDRESS } from "./lib/permit2.ts";
import type { TestToken } from "../typechain-types/index.ts";
import type { IPaymentChannels } from "../typechain-types/PaymentChannels.ts";

interface StructLog {
  op: string;
  gas: number;
  gasCost: number;
  depth: number;
  stack?: string[];
}

const ROWS = (process.env.TRACE_ROWS ?? "openWithAuthorization,openWithPermit2,claimRelayed,closeRelayed,claimRelayedNoFee,claimRelayedErc20,claimRelayedNoFeeErc20,closeRelayedErc20")
  .split(",")
  .filter(Boolean);

const connection = await network.create();
const { ethers } = connection;
const [, payer] = await ethers.getSigners();
const deployment = await deployPaymentChannels(connection);
const token = (await ethers.deployContract("TestToken")) as unknown as TestToken;
await (await token.mint(payer.address, 10n ** 15n)).wait();
const chainId = (await ethers.provider.getNetwork()).chainId;
const voucher = async (config: IPaymentChannels.ChannelConfigStruct, amount: bigint): Promise<string> =>
  payer.signTypedData(
    { name: "Trickle", version: "1", chainId, verifyingContract: deployment.address },
    { Voucher: [{ name: "channelId", type: "bytes32" }, { name: "amount", type: "uint256" }] },
    { channelId: await deployment.paymentChannels.channelId(config), amount },
  );
const rows = await gaslessGas({ connection, paymentChannels: deployment.paymentChannels, token, voucher });

/** A contract's name in the tables: the known ones, else the token symbol it answers with. */
async function nameOf(address: string): Promise<string> {
  const known = names.get(address);
  if (known !== undefined) return known;
  try {
    const symbol = (await new ethers.Contract(address, ["function symbol() view returns (string)"], ethers.provider).symbol()) as string;
    names.set(address, `token ${symbol}`);
  } catch {
    names.set(address, address.slice(0, 10));
  }
  return names.get(address) as string;
}

const names = new Map<string, string>([
  [deployment.address.toLowerCase(), "PaymentChannels"],
  [PERMIT2_ADDRESS.toLowerCase(), "Permit2"],
  ["0x0000000000000000000000000000000000000001", "ecrecover"],
]);

/** The opcode family a step is counted in. */
function family(op: string): string {
  if (op === "SSTORE" || op === "SLOAD") return op;
  if (op.startsWith("LOG")) return "LOG";
  if (op === "TSTORE" || op === "TLOAD") return "TSTORE/TLOAD";
  if (op === "KECCAK256" || op === "SHA3") return "KECCAK256";
  if (op === "CALL" || op === "STATICCALL" || op === "DELEGATECALL") return "call (access, value)";
  return "other opcodes";
}

async function traceRow(row: string): Promise<Record<string, number>> {
  const hash = rows.transactions[row];
  const transaction = await ethers.provider.getTransaction(hash);
  const receipt = await ethers.provider.getTransactionReceipt(hash);
  if (transaction === null || receipt === null) throw new Error(`no transaction for ${row}`);
  const trace = (await ethers.provider.send("debug_traceTransaction", [hash, { disableStorage: true, disableMemory: true }])) as {
    structLogs: StructLog[];
  };
  const logs = trace.structLogs;
  const parts: Record<string, number> = {};
  const add = (key: string, gas: number): void => {
    parts[key] = (parts[key] ?? 0) + gas;
  };
  let calldata = 0;
  for (const byte of getBytes(transaction.data)) calldata += byte === 0 ? 4 : 16;
  add("intrinsic: 21,000 base", 21_000);
  add("intrinsic: calldata", calldata);

  // What each step took, its callees included: the gas left before it minus the gas left at the next step of
  // the same frame (the last step of a frame reports its own cost).
  const inclusive = logs.map((step, i) => {
    for (let j = i + 1; j < logs.length; j++) {
      if (logs[j].depth === step.depth) return step.gas - logs[j].gas;
      if (logs[j].depth < step.depth) break;
    }
    return step.gasCost;
  });
  const addressOf = (step: StructLog): string =>
    `0x${(step.stack?.[step.stack.length - 2] ?? "").replace(/^0x/, "").padStart(64, "0").slice(24)}`;
  // Which contract each depth runs, from the address argument of each call.
  const frames: string[] = [await nameOf((transaction.to ?? "").toLowerCase())];
  let execution = 0;
  for (let i = 0; i < logs.length; i++) {
    const step = logs[i];
    const frame = frames[step.depth - 1] ?? "?";
    if (step.depth === 1) execution += inclusive[i];
    const isCall = step.op === "CALL" || step.op === "STATICCALL" || step.op === "DELEGATECALL";
    if (!isCall) {
      add(`${frame}: ${family(step.op)}`, inclusive[i]);
      continue;
    }
    const target = addressOf(step);
    if (logs[i + 1] !== undefined && logs[i + 1].depth > step.depth) {
      // A call into code: its own cost is what it took minus what the callee's steps took.
      frames[step.depth] = step.op === "DELEGATECALL" ? frame : await nameOf(target);
      let callee = 0;
      for (let j = i + 1; j < logs.length && logs[j].depth > step.depth; j++) {
        if (logs[j].depth === step.depth + 1) callee += inclusive[j];
      }
      add(`${frame}: ${family(step.op)}`, inclusive[i] - callee);
    } else if (BigInt(target) > 0n && BigInt(target) < 0x100n) {
      // A precompile runs no steps: its whole cost sits on the call.
      add(`${frame}: ${await nameOf(target)} precompile, with its call`, inclusive[i]);
    } else {
      add(`${frame}: ${family(step.op)}`, inclusive[i]);
    }
  }
  const refund = 21_000 + calldata + execution - Number(receipt.gasUsed);
  if (refund !== 0) add("refund", -refund);
  add("= gasUsed", Number(receipt.gasUsed));
  return parts;
}

const results: Record<string, Record<string, number>> = {};
for (const row of ROWS) {
  if (rows.transactions[row] === undefined) continue;
  const parts = await traceRow(row);
  results[row] = parts;
  console.log(`\n${row}`);
  const entries = Object.entries(parts).sort(([a], [b]) => (a.startsWith("=") ? 1 : b.startsWith("=") ? -1 : 0));
  for (const [key, gas] of entries) console.log(`  ${key.padEnd(52)} ${gas.toLocaleString("en-US").padStart(8)}`);
  const sum = Object.entries(parts).filter(([key]) => !key.startsWith("=")).reduce((total, [, gas]) => total + gas, 0);
  if (sum !== parts["= gasUsed"]) console.log(`  (parts sum to ${sum.toLocaleString("en-US")})`);
}
const outFile = path.join("bench", "results", "gas-trace.json");
await mkdir(path.dirname(outFile), { recursive: true });
await writeFile(outFile, JSON.stringify(results, null, 2) + "\n");
console.log(`\nwrote ${outFile}`);
