// Claim batching and the watchtower work from a bounded set: the channels whose best voucher is above
// what was claimed, not every channel ever paid. With 10,000 channels in the store and a handful with
// unclaimed value, the chain calls of `claimMany()` and of a watchtower's threshold pass are counted
// (a counting chain adapter): they grow with the handful, not with the 10,000.
import { expect } from "chai";
import { ETH, channelId, type ChannelConfig, type Hex } from "../../src/channel.ts";
import { Payee } from "../../src/payee.ts";
import { Watchtower } from "../../src/watchtower.ts";
import { counting, sdkSetup, type SdkSetup } from "./setup.ts";

const STORED = 10_000;
const UNCLAIMED = 5;

describe("Payee and watchtower: the unclaimed set at 10,000 stored channels", function () {
  this.timeout(120_000);
  let s: SdkSetup;

  before(async () => {
    s = await sdkSetup("viem");
  });
  after(async () => s.dispose());

  /** 10,000 paid channels, every one claimed long ago: vouchers, configs and claimed amounts in the store. */
  async function fillWithSettledChannels(): Promise<void> {
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < STORED; i++) {
      const config: ChannelConfig = {
        payer: s.payerAddress,
        payee: s.payeeAddress,
        token: ETH,
        signer: s.payerAddress,
        closeDelay: 86_400n,
        salt: `0x${(0xa0000000 + i).toString(16).padStart(64, "0")}`,
      };
      const id = channelId(config);
      const amount = BigInt(i + 1) * 1000n;
      writes.push(
        s.payeeStore.saveChannel(config),
        s.payeeStore.saveVoucherIfHigher({ channelId: id, amount, signature: `0x${"11".repeat(65)}` }),
        // Half claimed in full, half closed: both leave nothing to claim.
        s.payeeStore.recordClaimed(id, amount, i % 2 === 0),
      );
    }
    await Promise.all(writes);
  }

  /** Real channels with real vouchers above what they claimed. */
  async function openUnclaimed(): Promise<Hex[]> {
    const payee = s.newPayee();
    const ids: Hex[] = [];
    for (let i = 0; i < UNCLAIMED; i++) {
      const channel = await s.payer.open({ payee: s.payeeAddress, amount: 10n ** 15n });
      await payee.accept(await s.payer.pay(channel.channelId, BigInt(i + 1) * 10n ** 12n));
      ids.push(channel.channelId);
    }
    return ids;
  }

  it("claimMany() reads only the channels with unclaimed value, and claims all of them", async () => {
    await fillWithSettledChannels();
    const ids = await openUnclaimed();
    expect((await s.payeeStore.bestVouchers()).length).to.equal(STORED + UNCLAIMED);
    expect((await s.payeeStore.unclaimedVouchers()).map((v) => v.channelId).sort()).to.deep.equal([...ids].sort());

    const chain = counting(await s.d.writer(2));
    const fresh = new Payee({ chain: chain.chain, store: s.payeeStore, payee: s.payeeAddress });
    await fresh.claimMany();
    // One readChannel per unclaimed channel, one block time, one transaction, the chain id: nothing per stored channel.
    expect(chain.calls.get("readChannel")).to.equal(UNCLAIMED);
    expect(chain.total()).to.be.at.most(UNCLAIMED + 5);
    for (const id of ids) expect((await s.d.reader().readChannel(id)).claimed).to.equal((await s.payeeStore.bestVoucher(id))?.amount);
    // Claimed: the set is empty, and the next claimMany refuses after reading nothing per channel.
    expect(await s.payeeStore.unclaimedVouchers()).to.deep.equal([]);
    chain.calls.clear();
    expect(await fresh.claimMany().then(() => "resolved", (error: { code: string }) => error.code)).to.equal("NOT_INCREASING");
    expect(chain.calls.get("readChannel") ?? 0).to.equal(0);
  });

  it("channels claimed elsewhere are read once, recorded, and then left alone", async () => {
    const ids = await openUnclaimed();
    // Another process of this payee claims them; this store was not told.
    const other = await s.d.writer(2);
    for (const id of ids) {
      const best = (await s.payeeStore.bestVoucher(id))!;
      await other.claim((await s.payeeStore.channel(id))!, best.amount, best.signature);
    }
    const chain = counting(await s.d.writer(2));
    const payee = new Payee({ chain: chain.chain, store: s.payeeStore, payee: s.payeeAddress });
    const codeOf = () => payee.claimMany().then(() => "resolved", (error: { code: string }) => error.code);
    expect(await codeOf()).to.equal("NOT_INCREASING");
    expect(chain.calls.get("readChannel")).to.equal(UNCLAIMED);
    expect(await s.payeeStore.unclaimedVouchers()).to.deep.equal([]);
    chain.calls.clear();
    expect(await codeOf()).to.equal("NOT_INCREASING");
    expect(chain.calls.get("readChannel") ?? 0).to.equal(0);
  });

  it("the watchtower's threshold pass reads only the channels with unclaimed value", async () => {
    const ids = await openUnclaimed();
    expect((await s.payeeStore.bestVouchers()).length).to.be.greaterThan(STORED);
    const chain = counting(await s.d.writer(2));
    const tower = new Watchtower(
      { chain: chain.chain, store: s.payeeStore, payee: s.payeeAddress },
      { confirmations: 0n, claimThreshold: 1n, log: () => undefined, retry: { attempts: 1 } },
    );
    const report = await tower.tick();
    await tower.stop();
    expect([...report.claimed].sort()).to.deep.equal([...ids].sort());
    // The first pass sweeps the unclaimed set once for close requests, then reads for claims from its cache.
    expect(chain.calls.get("readChannel")).to.equal(UNCLAIMED);
    expect(chain.total()).to.be.at.most(UNCLAIMED + 10);
    expect(await s.payeeStore.unclaimedVouchers()).to.deep.equal([]);
  });
});
