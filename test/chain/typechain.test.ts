// src/chain/typechain/ (shipped as `trickle/typechain` and used by `trickle/chain/ethers`) is exactly what
// TypeChain generates for the compiled contract; `npm run build` refreshes it after a contract change.
import { expect } from "chai";
import { readFile } from "node:fs/promises";
import { expectedCopy, TYPECHAIN_FILES } from "../../scripts/lib/typechain-copy.ts";
import { PAYMENT_CHANNELS_ABI } from "../../src/chain/abi.ts";
import { PaymentChannels__factory } from "../../src/chain/typechain/index.ts";

const root = new URL("../../", import.meta.url);

describe("TypeChain copy", () => {
  for (const file of TYPECHAIN_FILES) {
    it(`src/chain/typechain/${file} equals typechain-types/${file} (run npm run build when it does not)`, async () => {
      const copy = await readFile(new URL(`src/chain/typechain/${file}`, root), "utf8");
      expect(copy === (await expectedCopy(root, file))).to.equal(true);
    });
  }

  it("the shipped factory carries the compiled bytecode and the SDK's ABI", async () => {
    const artifact = JSON.parse(await readFile(new URL("artifacts/contracts/PaymentChannels.sol/PaymentChannels.json", root), "utf8"));
    expect(PaymentChannels__factory.bytecode).to.equal(artifact.bytecode);
    expect(PaymentChannels__factory.abi).to.deep.equal(PAYMENT_CHANNELS_ABI);
  });
});
