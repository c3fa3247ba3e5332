// The Payer, the Payee and the watchtower work on their chain's records only: given a whole store they
// take the view of their own deployment; given a view of another deployment they refuse with WRONG_CHAIN
// before reading or writing anything.
import { expect } from "chai";
import { Payee } from "../../src/payee.ts";
import { Payer } from "../../src/payer.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { Watchtower } from "../../src/watchtower.ts";
import { sdkSetup, type SdkSetup } from "./setup.ts";

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  return "resolved";
}

describe("Payer, Payee and watchtower keep to their deployment's records", function () {
  let s: SdkSetup;
  before(async () => {
    s = await sdkSetup("viem");
  });
  after(async () => s.dispose());

  it("given a whole store, each works on its chain's view; another chain's view of the same store stays empty", async () => {
    const backend = new MemoryStore();
    const here = { chainId: s.d.chainId, contract: s.d.contract };
    const elsewhere = { chainId: s.d.chainId + 1n, contract: s.d.contract };
    const payer = new Payer({ chain: s.payerChain, store: backend });
    const payee = new Payee({ chain: s.payeeChain.chain, store: backend, payee: s.payeeAddress });
    const channel = await payer.open({ payee: s.payeeAddress, amount: 10n ** 15n });
    const receipt = await payee.accept(await payer.pay(channel.channelId, 5n));
    expect(receipt.amount).to.equal(5n);
    expect((await backend.forDeployment(here).bestVoucher(channel.channelId))?.amount).to.equal(5n);
    expect((await backend.forDeployment(here).payerChannel(channel.channelId))?.signedAmount).to.equal(5n);
    expect(await backend.forDeployment(elsewhere).bestVoucher(channel.channelId)).to.equal(undefined);
    expect(await backend.forDeployment(elsewhere).payerChannel(channel.channelId)).to.equal(undefined);
  });

  it("given a view of another deployment: WRONG_CHAIN, nothing written", async () => {
    const backend = new MemoryStore();
    const elsewhere = backend.forDeployment({ chainId: s.d.chainId + 1n, contract: s.d.contract });
    const otherContract = backend.forDeployment({ chainId: s.d.chainId, contract: `0x${"99".repeat(20)}` });
    const opened = await new Payer({ chain: s.payerChain, store: backend }).open({ payee: s.payeeAddress, amount: 10n ** 15n });
    const voucher = await new Payer({ chain: s.payerChain, store: backend }).pay(opened.channelId, 7n);
    for (const view of [elsewhere, otherContract]) {
      expect(await codeOf(new Payee({ chain: s.payeeChain.chain, store: view, payee: s.payeeAddress }).accept(voucher))).to.equal("WRONG_CHAIN");
      expect(await codeOf(new Payer({ chain: s.payerChain, store: view }).pay(opened.channelId, 1n))).to.equal("WRONG_CHAIN");
      expect(await codeOf(new Watchtower({ chain: s.payeeChain.chain, store: view, payee: s.payeeAddress }).lastProcessedBlock())).to.equal("WRONG_CHAIN");
      expect(await view.bestVouchers()).to.deep.equal([]);
      expect(await view.payerChannels()).to.deep.equal([]);
    }
  });
});
