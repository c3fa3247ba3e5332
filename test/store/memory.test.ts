import { MemoryStore } from "../../src/store/memory.ts";
import { channelId } from "../../src/channel.ts";
import { channelOf, configOf, jsonOf, shouldBehaveLikeAStore } from "./behaviour.ts";

describe("store/MemoryStore", () => {
  shouldBehaveLikeAStore(
    async () => {
      const store = new MemoryStore();
      return {
        store,
        snapshot: async () =>
          jsonOf({ best: await store.bestVouchers(), payer: await store.payerChannels(), meta: await store.getMeta("k"), channel: await store.channel(channelId(configOf(0))), ledger: await store.chargeLedger(channelOf(0)) }),
        dispose: () => store.close(),
      };
    },
    { propertyRuns: 200 },
  );
});
