#!/usr/bin/env bash
# Real JavaScript actions on GitHub's client libraries work against `gantry server`: a local
# action (tests/e2e/results_action) imports @actions/artifact v2 and @actions/cache v2 (npm,
# tests/setup.sh), uploads an artifact and saves a cache in one job, downloads and restores
# them bit-identical in the next, through the Twirp services and signed block-blob URLs the
# run's env points at. The artifact is also visible to `gantry artifacts` in between; bad
# tokens, forged signatures and malformed bodies are refused.
set -euo pipefail
G=${GANTRY_BIN:?}
src=${GANTRY_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
modules="$src/tests/node/node_modules"
[ -d "$modules/@actions/artifact" ] || { echo "missing @actions/artifact: run tests/setup.sh"; exit 1; }
command -v node >/dev/null || { echo "missing node"; exit 1; }
T=$(mktemp -d /tmp/gantry-js-XXXXXX)
SERVER=""
cleanup() {
  [[ -n "$SERVER" ]] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -20 "$T/server.log"; exit 1; }
export GANTRY_ADMIN_TOKEN=js-admin GANTRY_TOKEN=js-admin
# Steps inherit the server's environment: that is how the action finds the npm packages.
export NODE_PATH="$modules" RESULTS_DIGESTS="$T/digests.json" CACHE_V1_JS="$src/tests/e2e/cache_actions.js"
source "$(dirname "$0")/lib/server.sh"
start_gantry_server "$T/data" "$T/server.log"

"$G" project create js >/dev/null 2>&1
mkdir -p "$T/src/.github/workflows" "$T/src/.github/actions"
cp -r "$src/tests/e2e/results_action" "$T/src/.github/actions/results"
cat >"$T/src/.github/workflows/ci.yml" <<'YAML'
on: push
jobs:
  up:
    runs-on: ubuntu-latest
    steps:
      # The libraries refuse servers they take for GitHub Enterprise Server by its host name
      # (docs/artifacts.md); github.com, *.ghe.com and *.localhost pass.
      - uses: ./.github/actions/results
        env:
          GITHUB_SERVER_URL: https://github.com
        with:
          phase: upload
  down:
    needs: up
    runs-on: ubuntu-latest
    steps:
      - uses: ./.github/actions/results
        env:
          GITHUB_SERVER_URL: https://github.com
        with:
          phase: download
  v1:
    runs-on: ubuntu-latest
    steps:
      # Without ACTIONS_CACHE_SERVICE_V2, @actions/cache falls back to the v1 protocol.
      - run: node "$CACHE_V1_JS"
        env:
          ACTIONS_CACHE_SERVICE_V2: ""
YAML
(cd "$T/src" && git init -q -b main && git add -A && git -c user.email=t@t -c user.name=t commit -qm w &&
  git push -q "http://x:$GANTRY_TOKEN@${URL#http://}/git/js.git" main)
"$G" logs -f 1 >"$T/run.log" 2>&1 || fail "the run failed: $(cat "$T/run.log")"
grep -q "PASS upload phase" "$T/run.log" || fail "upload phase: $(cat "$T/run.log")"
grep -q "PASS download phase" "$T/run.log" || fail "download phase: $(cat "$T/run.log")"
echo "ok   @actions/artifact v2 and @actions/cache v2 round-trip through gantry server"
grep -q "PASS @actions/cache save/restore" "$T/run.log" || fail "v1 cache fallback: $(cat "$T/run.log")"
echo "ok   @actions/cache falls back to the v1 protocol without ACTIONS_CACHE_SERVICE_V2"

# The protocol's edges, with curl.
tw="$URL/twirp/github.actions.results.api.v1.ArtifactService"
code=$(curl -s -o "$T/out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' "$tw/ListArtifacts" -d '{}')
[[ $code == 401 ]] || fail "no token: $code"
code=$(curl -s -o "$T/out" -w '%{http_code}' -X POST -H 'Authorization: Bearer a.b.c' "$tw/ListArtifacts" -d '{}')
[[ $code == 401 ]] || fail "forged token: $code"
code=$(curl -s -o "$T/out" -w '%{http_code}' "$URL/_gantry/blobs/sha256:$(printf '%064d' 0)?se=99999999999&sig=00")
[[ $code == 403 ]] || fail "forged blob signature: $code"
code=$(curl -s -o "$T/out" -w '%{http_code}' -X PUT -H 'x-ms-blob-type: BlockBlob' --data x \
  "$URL/_gantry/uploads/abc?se=99999999999&sig=00")
[[ $code == 403 ]] || fail "forged upload signature: $code"
echo "ok   missing or forged tokens and signatures are refused"
"$G" artifacts 1 | grep -q '^js-artifact ' && fail "deleteArtifact left it on the server"
echo "server js actions: all checks passed"
