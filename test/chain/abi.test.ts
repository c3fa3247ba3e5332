import { expect } from "chai";
import { readFile } from "node:fs/promises";
import { PAYMENT_CHANNELS_ABI } from "../../src/chain/abi.ts";

describe("chain ABI", () => {
  it("equals the compiled PaymentChannels artifact's ABI, so it never drifts", async () => {
    const artifact = JSON.parse(await readFile(new URL("../../artifacts/contracts/PaymentChannels.sol/PaymentChannels.json", import.meta.url), "utf8"));
    expect(PAYMENT_CHANNELS_ABI).to.deep.equal(artifact.abi);
  });

  it("equals the ABI that TypeChain's PaymentChannels__factory embeds for the ethers adapter", async () => {
    const { PaymentChannels__factory } = await import("../../typechain-types/factories/PaymentChannels__factory.ts");
    expect(PAYMENT_CHANNELS_ABI).to.deep.equal(PaymentChannels__factory.abi);
  });
});
