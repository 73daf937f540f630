#!/usr/bin/env bash
# GitHub's @actions/cache npm package (tests/npm.d/registry.list, installed by tests/setup.sh)
# saves and restores a cache through `gantry registry`'s /_apis/artifactcache/ service.
set -euo pipefail
src=${GANTRY_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
GANTRY_BIN=${GANTRY_BIN:-$src/build/gantry}
modules="$src/tests/node/node_modules"
[ -d "$modules/@actions/cache" ] || { echo "missing @actions/cache: run tests/setup.sh"; exit 1; }
command -v node >/dev/null || { echo "missing node"; exit 1; }
tmp=$(mktemp -d /tmp/gantry-e2e-cache.XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
"$GANTRY_BIN" registry --data "$tmp/data" --listen 127.0.0.1:0 --port-file "$tmp/port" >"$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { echo "server did not start"; cat "$tmp/server.log"; exit 1; }
mkdir -p "$tmp/work" "$tmp/runner-temp"
cd "$tmp/work"
ACTIONS_CACHE_URL="http://127.0.0.1:$(cat "$tmp/port")/" ACTIONS_RUNTIME_TOKEN=test-token \
  RUNNER_TEMP="$tmp/runner-temp" GITHUB_WORKSPACE="$tmp/work" NODE_PATH="$modules" \
  node "$src/tests/e2e/cache_actions.js"
