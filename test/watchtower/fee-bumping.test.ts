import { expect } from "chai";
import { createPublicClient, createWalletClient, http, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { feeBumpingSender, type SendAttempt } from "../../src/chain/fee-bumping.ts";
import { TransactionNotConfirmedError } from "../../src/errors.ts";
import { HARDHAT_KEYS, startHardhatNode, type HardhatNode } from "./hardhat-node.ts";

const RECIPIENT = "0x000000000000000000000000000000000000dEaD";

describe("feeBumpingSender against a hardhat node with automine off", function () {
  this.timeout(30_000);
  let node: HardhatNode;

  before(async () => {
    node = await startHardhatNode();
    await node.rpc("evm_setAutomine", [false]);
  });
  after(async () => {
    await node?.stop();
  });

  function clients(key: Hex) {
    const transport = http(node.url);
    return {
      publicClient: createPublicClient({ transport }),
      walletClient: createWalletClient({ account: privateKeyToAccount(key), transport }),
    };
  }

  it("replaces a transaction priced out by a base fee spike and is mined with the bumped fee", async () => {
    const attempts: SendAttempt[] = [];
    const { publicClient, walletClient } = clients(HARDHAT_KEYS[3]);
    const send = feeBumpingSender({
      publicClient,
      walletClient,
      confirmTimeoutMs: 400,
      pollIntervalMs: 50,
      onAttempt: (attempt) => {
        attempts.push(attempt);
        // First version: the base fee jumps far above its maxFeePerGas, and a block is mined without it.
        // Second version: priced from the new base fee, it gets into the next block.
        const mine =
          attempt.attempt === 1
            ? node
                .rpc("hardhat_setNextBlockBaseFeePerGas", [`0x${(attempt.maxFeePerGas * 50n).toString(16)}`])
                .then(() => node.rpc("evm_mine"))
            : node.rpc("evm_mine");
        void mine;
      },
    });
    const result = await send({ to: RECIPIENT, data: "0x", value: 1n });

    expect(attempts.length).to.be.at.least(2);
    expect(new Set(attempts.map((a) => a.nonce)).size).to.equal(1);
    expect(result.hash).to.equal(attempts.at(-1)!.hash);
    expect(attempts[1].maxFeePerGas).to.be.greaterThan(attempts[0].maxFeePerGas * 10n);
    // The first version was replaced, never mined.
    const first = await publicClient.getTransactionReceipt({ hash: attempts[0].hash }).catch(() => undefined);
    expect(first).to.equal(undefined);
    const receipt = await publicClient.getTransactionReceipt({ hash: result.hash });
    expect(receipt.status).to.equal("success");
    expect(receipt.blockNumber).to.equal(result.blockNumber);
  });

  it("gives up loudly with every hash after maxAttempts when nothing is mined", async () => {
    const attempts: SendAttempt[] = [];
    const { publicClient, walletClient } = clients(HARDHAT_KEYS[4]);
    const send = feeBumpingSender({
      publicClient,
      walletClient,
      confirmTimeoutMs: 150,
      pollIntervalMs: 30,
      maxAttempts: 3,
      bumpPercent: 20n,
      onAttempt: (attempt) => attempts.push(attempt),
    });
    let caught: unknown;
    try {
      await send({ to: RECIPIENT, data: "0x", value: 1n });
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(TransactionNotConfirmedError);
    expect((caught as TransactionNotConfirmedError).code).to.equal("TX_NOT_CONFIRMED");
    expect((caught as TransactionNotConfirmedError).details.hashes).to.deep.equal(attempts.map((a) => a.hash));
    expect(attempts).to.have.length(3);
    // Each replacement is at least 20% above the one it replaces.
    for (let i = 1; i < attempts.length; i++) {
      expect(attempts[i].maxFeePerGas * 100n).to.be.at.least(attempts[i - 1].maxFeePerGas * 120n);
      expect(attempts[i].maxPriorityFeePerGas * 100n).to.be.at.least(attempts[i - 1].maxPriorityFeePerGas * 120n);
    }
    // The last version is still pending: mining it proves the node kept exactly one version.
    await node.rpc("evm_mine");
    const receipt = await publicClient.getTransactionReceipt({ hash: attempts[2].hash });
    expect(receipt.status).to.equal("success");
  });
});
