// Bundles an entry point the way a browser dApp's bundler would (esbuild, `platform: "browser"`, minified)
// and reports every Node built-in the bundle would need: an imported `node:*` or bare built-in module, or a
// free reference to a Node-only global such as `Buffer`. Shared by the browser bundle test and
// `npm run bench:bundle`, so the size the README gives is the size of the bundle the test checked.
import { builtinModules } from "node:module";
import { build, type Plugin } from "esbuild";

export interface BrowserBundle {
  /** Minified ESM output. */
  code: string;
  /** Bytes of `code` (UTF-8) and of its gzip. */
  bytes: number;
  /** Each Node built-in found, with where: `node:fs (imported by src/x.ts)`, `global Buffer`. */
  nodeBuiltins: string[];
}

const BUILTIN_NAMES = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
// Globals that exist in Node and not in browsers. `define` rewrites only free (unbound) references, so a
// local variable or a property such as `globalThis.process?.env` (guarded, browser-safe) is left alone.
const NODE_GLOBALS = ["Buffer", "process", "require", "module", "__dirname", "__filename", "global", "setImmediate"];
const MARKER = "__TRICKLE_NODE_GLOBAL_";

function recordBuiltins(found: string[]): Plugin {
  return {
    name: "record-node-builtins",
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (!BUILTIN_NAMES.has(args.path) && !args.path.startsWith("node:")) return undefined;
        found.push(`${args.path} (imported by ${args.importer})`);
        return { path: args.path, external: true };
      });
    },
  };
}

export async function bundleForBrowser(entryPoint: string, root: string): Promise<BrowserBundle> {
  const nodeBuiltins: string[] = [];
  const result = await build({
    entryPoints: [entryPoint],
    absWorkingDir: root,
    bundle: true,
    minify: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    write: false,
    logLevel: "silent",
    define: Object.fromEntries(NODE_GLOBALS.map((name) => [name, `${MARKER}${name}`])),
    plugins: [recordBuiltins(nodeBuiltins)],
  });
  const code = result.outputFiles[0].text;
  for (const name of NODE_GLOBALS) {
    if (code.includes(`${MARKER}${name}`)) nodeBuiltins.push(`global ${name}`);
  }
  return { code, bytes: new TextEncoder().encode(code).length, nodeBuiltins };
}
