// An EIP-1193 provider in front of another that refuses `eth_getLogs` over wide ranges, as public RPC
// providers do, and records every range asked: tests count the windows an adapter queries.

interface RequestArguments {
  method: string;
  params?: unknown[] | Record<string, unknown>;
}

/** An EIP-1193 provider that throws on `eth_getLogs` over more than `maxRange` blocks, and records every range asked. */
export function rangeLimited(inner: { request(args: RequestArguments): Promise<unknown> }, maxRange: bigint) {
  const ranges: [bigint, bigint][] = [];
  const toNumber = async (tag: unknown): Promise<bigint> => {
    if (typeof tag === "string" && tag.startsWith("0x")) return BigInt(tag);
    return BigInt((await inner.request({ method: "eth_blockNumber" })) as string); // "latest", "pending", ...
  };
  const provider = {
    async request(args: RequestArguments): Promise<unknown> {
      if (args.method === "eth_getLogs") {
        const filter = (args.params as { fromBlock?: unknown; toBlock?: unknown }[])[0];
        const from = await toNumber(filter.fromBlock ?? "latest");
        const to = await toNumber(filter.toBlock ?? "latest");
        ranges.push([from, to]);
        if (to - from + 1n > maxRange) throw Object.assign(new Error(`eth_getLogs is limited to a ${maxRange} block range`), { code: -32600 });
      }
      return inner.request(args);
    },
  };
  return { provider, ranges };
}
