// `npm run demo:web`: a local chain, PaymentChannels and TipJar on it, and the paid site (reader and payee
// dashboard); prints the URL and opens it when a browser opener is at hand. Ctrl-C stops everything.
//
//   npm run demo:web                   # one stream unit per second
//   npm run demo:web -- --port 8080    # a fixed port
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import hre from "hardhat";
import { buildContracts } from "./lib/build-contracts.ts";
import { startWebDemo } from "./lib/web-demo.ts";

const { values } = parseArgs({ options: { port: { type: "string" }, "no-open": { type: "boolean" } } });
await buildContracts(hre);
const demo = await startWebDemo({ port: values.port === undefined ? undefined : Number(values.port), log: (line) => console.log(line) });
console.log(`
Trickle demo site: ${demo.site.url}
  reader      ${demo.site.url}/
  dashboard   ${demo.site.url}/dashboard
  chain       ${demo.node.url} (chain id ${demo.chainId}), PaymentChannels ${demo.contract}, TipJar ${demo.tipJar}
A browser wallet must be on that chain (add it as a custom network); without one, the page uses a demo
wallet for the node's account ${demo.readerAccount}. Ctrl-C stops the site and the chain.`);

if (values["no-open"] !== true) {
  // Best effort: a desktop opener if there is one; the URL above is enough otherwise.
  const opener = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  const child = spawn(opener, [demo.site.url], { stdio: "ignore", detached: true });
  child.on("error", () => undefined);
  child.unref();
}

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log("\nStopping...");
    void demo.stop().then(() => process.exit(0));
  });
}
