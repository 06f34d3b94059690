#!/usr/bin/env bash
# Stops bangerd, removes banger's block from ~/.ssh/config and the banger/bangerd links that
# `npm link` made, and prints the data directories, which are left for you to delete by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
node bin/banger.js daemon stop || true
node bin/banger.js internal ssh-config --remove || true
paths=$(node bin/banger.js internal paths)
npm unlink -g banger >/dev/null 2>&1 || true
echo "removed the banger and bangerd links (if there were any)"
echo "your data is still on disk; delete it by hand for a full purge:"
node -e 'const p = JSON.parse(process.argv[1]); for (const k of ["configDir", "stateDir", "cacheDir", "runtimeDir"]) console.log(`  rm -rf ${p[k]}`)' "$paths"
