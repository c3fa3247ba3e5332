import { createRequire } from "node:module";
import { defineConfig } from "hardhat/config";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import hardhatViem from "@nomicfoundation/hardhat-viem";
import { PAYMENT_CHANNELS_SALT } from "./ignition/modules/PaymentChannels.ts";
import { trickleTasks } from "./tasks/index.ts";

const require = createRequire(import.meta.url);

// The compiler comes from the `solc` npm package (solcjs), so a build never
// downloads anything. Its version is pinned in package.json.
const solcVersion: string = require("solc/package.json").version;
const soljsonPath = require.resolve("solc/soljson.js");

const compilerProfile = {
  version: solcVersion,
  path: soljsonPath,
  settings: {
    optimizer: { enabled: true, runs: 10_000 },
    evmVersion: "cancun",
    // The IR pipeline: about 900 gas less per claim of a batch, 1,000 to 4,000 less per operation
    // (npm run bench:gas). Tests that change the chain id or the time keep no copy of them in locals
    // (see test/solidity/utils/TrickleTestBase.sol).
    viaIR: true,
  },
};

const deep = process.env.TRICKLE_DEEP === "1";

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers, hardhatViem],
  // Operator tasks: npx hardhat trickle:<deploy|open|pay|accept|status|claim|close|request-close|withdraw|watch>
  tasks: trickleTasks,
  // Both build profiles compile with the same settings: `hardhat ignition deploy` builds with the
  // production profile, which would otherwise fall back to Hardhat's defaults (200 runs, the compiler's
  // EVM version) and deploy other bytecode, at another CREATE2 address, than the one tested.
  solidity: {
    profiles: {
      default: compilerProfile,
      production: compilerProfile,
    },
  },
  paths: {
    tests: {
      mocha: "test",
      solidity: "test/solidity",
    },
  },
  test: {
    solidity: {
      fuzz: { runs: deep ? 10_000 : 256 },
      invariant: { runs: deep ? 10_000 : 256, depth: deep ? 100 : 30 },
    },
  },
  // `npx hardhat ignition deploy ignition/modules/PaymentChannels.ts --strategy create2` uses this salt,
  // so the CLI lands on the same address as scripts/deploy.ts.
  ignition: {
    strategyConfig: { create2: { salt: PAYMENT_CHANNELS_SALT } },
  },
  // `npm run coverage` measures the contracts, not the test doubles.
  coverage: {
    skipFiles: ["contracts/mocks/**"],
  },
  typechain: {
    outDir: "typechain-types",
  },
  networks: {
    localhost: {
      type: "http",
      url: process.env.TRICKLE_RPC_URL ?? "http://127.0.0.1:8545",
    },
  },
});
