import { MemoryStore } from "../../src/store/memory.ts";
import { channelId } from "../../src/channel.ts";
import { channelOf, configOf, jsonOf, shouldBehaveLikeAStore, TEST_DEPLOYMENT } from "./behaviour.ts";

describe("store/MemoryStore", () => {
  shouldBehaveLikeAStore(
    async () => {
      const backend = new MemoryStore();
      const store = backend.forDeployment(TEST_DEPLOYMENT);
      return {
        store,
        backend,
        snapshot: async () =>
          jsonOf({
            best: await store.bestVouchers(),
            unclaimed: await store.unclaimedVouchers(),
            payer: await store.payerChannels(),
            meta: await store.getMeta("k"),
            channel: await store.channel(channelId(configOf(0))),
            ledger: await store.chargeLedger(channelOf(0)),
          }),
        dispose: () => store.close(),
      };
    },
    { propertyRuns: 200 },
  );
});
