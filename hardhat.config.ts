import { createRequire } from "node:module";
import { defineConfig } from "hardhat/config";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import hardhatViem from "@nomicfoundation/hardhat-viem";

const require = createRequire(import.meta.url);

// The compiler comes from the `solc` npm package (solcjs), so a build never
// downloads anything. Its version is pinned in package.json.
const solcVersion: string = require("solc/package.json").version;
const soljsonPath = require.resolve("solc/soljson.js");

const deep = process.env.TRICKLE_DEEP === "1";

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers, hardhatViem],
  solidity: {
    version: solcVersion,
    path: soljsonPath,
    settings: {
      optimizer: { enabled: true, runs: 10_000 },
      evmVersion: "cancun",
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
