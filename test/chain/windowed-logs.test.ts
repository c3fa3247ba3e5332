// Log queries on a provider that refuses wide ranges, as public RPCs do: both adapters ask for at most
// `maxBlockRange` blocks per call, never below the deployment block, and find a channel's config and
// events with a bounded number of calls.
import { expect } from "chai";
import fc from "fast-check";
import { BrowserProvider, type Eip1193Provider } from "ethers";
import { network } from "hardhat";
import { createPublicClient, custom } from "viem";
import { ETH, channelId, type Address } from "../../src/channel.ts";
import type { ChainReader } from "../../src/chain/adapter.ts";
import { ethersChain } from "../../src/chain/ethers.ts";
import { viemChain } from "../../src/chain/viem.ts";
import { DEFAULT_MAX_BLOCK_RANGE, windowsBackward, windowsForward } from "../../src/chain/windows.ts";
import { salt } from "./fixture.ts";
import { rangeLimited } from "./range-limited.ts";

const MAX_RANGE = 10n;

describe("chain adapters: windowed log queries", function () {
  this.timeout(60_000);

  it("cuts ranges into windows, newest first or oldest first, covering every block once", () => {
    expect([...windowsForward(5n, 27n, 10n)]).to.deep.equal([
      [5n, 14n],
      [15n, 24n],
      [25n, 27n],
    ]);
    expect([...windowsBackward(5n, 27n, 10n)]).to.deep.equal([
      [18n, 27n],
      [8n, 17n],
      [5n, 7n],
    ]);
    expect([...windowsForward(3n, 2n, 10n)]).to.deep.equal([]);
    expect(DEFAULT_MAX_BLOCK_RANGE).to.equal(1000n);
  });

  for (const kind of ["viem", "ethers"] as const) {
    it(`${kind}: finds a channel's config and events on a provider that refuses ranges above ${MAX_RANGE} blocks`, async () => {
      const connection = await network.create();
      const [payerSigner] = await connection.ethers.getSigners();
      await connection.provider.request({ method: "hardhat_mine", params: ["0x20"] }); // blocks before the deployment
      const deployed = await connection.ethers.deployContract("PaymentChannels");
      const contract = (await deployed.getAddress()) as Address;
      const deploymentBlock = BigInt((await deployed.deploymentTransaction()?.wait())?.blockNumber ?? 0);
      await connection.provider.request({ method: "hardhat_mine", params: ["0x10"] });
      const config = { payer: payerSigner.address as Address, payee: payerSigner.address as Address, token: ETH, signer: payerSigner.address as Address, closeDelay: 3600n, salt: salt(7) };
      await ethersChain({ runner: payerSigner, contract }).open(config, 1000n);
      await connection.provider.request({ method: "hardhat_mine", params: ["0x2d"] }); // the open is not in the newest window
      const head = BigInt((await connection.provider.request({ method: "eth_blockNumber" })) as string);

      const limited = rangeLimited(connection.provider, MAX_RANGE);
      const make = (options: { fromBlock?: bigint; maxBlockRange?: bigint }): ChainReader =>
        kind === "viem"
          ? viemChain({ publicClient: createPublicClient({ transport: custom(limited.provider) }), contract, ...options })
          : ethersChain({ runner: new BrowserProvider(limited.provider as Eip1193Provider), contract, ...options });

      // What a query from block 0 to latest meets on such a provider.
      let refused: unknown;
      try {
        await make({}).findChannelConfig(channelId(config));
      } catch (error) {
        refused = error;
      }
      expect(String(refused)).to.match(/limited to a 10 block range/);

      limited.ranges.length = 0;
      const reader = make({ fromBlock: deploymentBlock, maxBlockRange: MAX_RANGE });
      expect(await reader.findChannelConfig(channelId(config))).to.deep.include({ closeDelay: 3600n, salt: salt(7) });
      const windowsToOpen = limited.ranges.length;
      expect(windowsToOpen).to.be.greaterThan(1);
      expect(windowsToOpen).to.be.at.most(Number((head - deploymentBlock) / MAX_RANGE) + 1);
      for (const [from, to] of limited.ranges) {
        expect(to - from + 1n).to.be.at.most(MAX_RANGE);
        expect(from).to.be.at.least(deploymentBlock);
      }

      // An id never opened: every window from the deployment block to the head once, and no more.
      limited.ranges.length = 0;
      expect(await reader.findChannelConfig(salt(99))).to.equal(undefined);
      expect(BigInt(limited.ranges.length)).to.equal((head - deploymentBlock) / MAX_RANGE + 1n);
      expect(limited.ranges.at(-1)?.[0]).to.equal(deploymentBlock);

      limited.ranges.length = 0;
      const events = await reader.events(deploymentBlock, head);
      expect(events.map((e) => e.type)).to.deep.equal(["opened"]);
      expect(BigInt(limited.ranges.length)).to.equal((head - deploymentBlock) / MAX_RANGE + 1n);
    });
  }
});

describe("chain adapters: log query windows (property)", () => {
  it("cover [from, to] exactly once, in order, each at most maxBlockRange blocks", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 9n }), fc.bigInt({ min: 0n, max: 5_000n }), fc.bigInt({ min: 1n, max: 1_200n }), (from, length, size) => {
        const to = from + length - 1n; // length 0: an empty range
        const forward = [...windowsForward(from, to, size)];
        const backward = [...windowsBackward(from, to, size)];
        for (const windows of [forward, backward]) {
          const sorted = [...windows].sort((a, b) => (a[0] < b[0] ? -1 : 1));
          let next = from;
          for (const [start, end] of sorted) {
            expect(start).to.equal(next);
            expect(end >= start).to.equal(true);
            expect(end - start + 1n <= size).to.equal(true);
            next = end + 1n;
          }
          expect(next).to.equal(length === 0n ? from : to + 1n);
        }
        // Newest first really is newest first.
        for (let i = 1; i < backward.length; i++) expect(backward[i][1] < backward[i - 1][0]).to.equal(true);
      }),
      { numRuns: 300 },
    );
  });
});
