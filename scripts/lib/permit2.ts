// Uniswap's Permit2 on a local chain, at its canonical address, built from the Solidity source that the
// `@uniswap/v4-periphery` npm package ships (lib/permit2). Nothing is vendored: the source is compiled here
// with the project's solcjs, and the result cached in cache/permit2/ under a hash of the source.
//
// Permit2 pins `pragma solidity 0.8.17`; the project's compiler is 0.8.30, so the pin is relaxed to
// `^0.8.17` before compiling (the code is unchanged). The canonical deployment's bytecode differs (other
// compiler), its behaviour does not. Permit2 caches its EIP-712 domain separator, which names its own
// address, in an immutable: the code is deployed once, then copied to the canonical address with that
// immutable rewritten for it.
import { createHash } from "node:crypto";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { AbiCoder, keccak256, toUtf8Bytes } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";

/** Permit2's address on every chain. */
export const PERMIT2_ADDRESS = "0x000000000022D473030F116dDEE9F6B43aC78BA3";

const require = createRequire(import.meta.url);

interface Permit2Build {
  bytecode: string;
}

/** Every .sol file under `dir`, keyed by its path relative to `root`. */
async function solidityFiles(root: string, dir: string, prefix: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) Object.assign(out, await solidityFiles(root, full, prefix));
    else if (entry.name.endsWith(".sol")) out[prefix + path.relative(root, full)] = await readFile(full, "utf8");
  }
  return out;
}

/** Compiles Permit2 (once per source; later calls read the cache). */
export async function buildPermit2(): Promise<Permit2Build> {
  const packageRoot = path.dirname(require.resolve("@uniswap/v4-periphery/package.json"));
  const permit2Root = path.join(packageRoot, "lib", "permit2");
  const sources: Record<string, string> = {
    ...(await solidityFiles(path.join(permit2Root, "src"), path.join(permit2Root, "src"), "src/")),
    "solmate/src/tokens/ERC20.sol": await readFile(path.join(permit2Root, "lib/solmate/src/tokens/ERC20.sol"), "utf8"),
    "solmate/src/utils/SafeTransferLib.sol": await readFile(
      path.join(permit2Root, "lib/solmate/src/utils/SafeTransferLib.sol"),
      "utf8",
    ),
  };
  for (const [name, content] of Object.entries(sources)) {
    sources[name] = content.replace(/pragma solidity (?:=|\^|>=)?0\.8\.\d+;/, "pragma solidity ^0.8.17;");
  }
  const hash = createHash("sha256");
  for (const name of Object.keys(sources).sort()) hash.update(name).update("\0").update(sources[name]).update("\0");
  const solcVersion: string = require("solc/package.json").version;
  hash.update(solcVersion);
  const cacheFile = path.join("cache", "permit2", `${hash.digest("hex").slice(0, 16)}.json`);
  try {
    return JSON.parse(await readFile(cacheFile, "utf8")) as Permit2Build;
  } catch {
    // not built yet
  }
  const solc = require("solc") as { compile(input: string): string };
  const input = {
    language: "Solidity",
    sources: Object.fromEntries(Object.entries(sources).map(([name, content]) => [name, { content }])),
    settings: {
      // Permit2's optimizer runs (its foundry.toml), with the IR pipeline: without it 0.8.30 runs out of stack
      // in SignatureTransfer, where 0.8.17 did not.
      optimizer: { enabled: true, runs: 1_000_000 },
      viaIR: true,
      evmVersion: "cancun",
      outputSelection: { "src/Permit2.sol": { Permit2: ["evm.bytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts?: Record<string, Record<string, { evm: { bytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((error) => error.severity === "error");
  if (errors.length > 0) throw new Error(`Permit2 does not compile:\n${errors.map((e) => e.formattedMessage).join("\n")}`);
  const object = output.contracts?.["src/Permit2.sol"]?.Permit2?.evm.bytecode.object;
  if (object === undefined || object.length === 0) throw new Error("Permit2 compiled to no bytecode");
  const build = { bytecode: `0x${object}` };
  await mkdir(path.dirname(cacheFile), { recursive: true });
  await writeFile(cacheFile, JSON.stringify(build));
  return build;
}

/** Permit2's EIP-712 domain separator at `address` on `chainId` (domain: name "Permit2", chainId, verifyingContract). */
function permit2DomainSeparator(chainId: bigint, address: string): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["bytes32", "bytes32", "uint256", "address"],
      [keccak256(toUtf8Bytes("EIP712Domain(string name,uint256 chainId,address verifyingContract)")), keccak256(toUtf8Bytes("Permit2")), chainId, address],
    ),
  );
}

/**
 * Puts Permit2 at its canonical address on a Hardhat network (a no-op when code is already there).
 * Returns that address.
 */
export async function installPermit2(connection: NetworkConnection<string>): Promise<string> {
  const { ethers } = connection;
  const existing = await ethers.provider.getCode(PERMIT2_ADDRESS);
  if (existing !== "0x") return PERMIT2_ADDRESS;
  const { bytecode } = await buildPermit2();
  const [deployer] = await ethers.getSigners();
  const sent = await deployer.sendTransaction({ data: bytecode });
  const receipt = await sent.wait();
  const temporary = receipt?.contractAddress;
  if (temporary === null || temporary === undefined) throw new Error("Permit2 deployment created no contract");
  const { chainId } = await ethers.provider.getNetwork();
  const from = permit2DomainSeparator(chainId, temporary).slice(2).toLowerCase();
  const to = permit2DomainSeparator(chainId, PERMIT2_ADDRESS).slice(2);
  const runtime = (await ethers.provider.getCode(temporary)).toLowerCase();
  if (!runtime.includes(from)) throw new Error("Permit2's cached domain separator was not found in its code");
  await connection.provider.request({ method: "hardhat_setCode", params: [PERMIT2_ADDRESS, runtime.split(from).join(to)] });
  return PERMIT2_ADDRESS;
}
