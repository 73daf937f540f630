#!/usr/bin/env bash
# The 100,000-line log in Chromium: the dashboard's run page (virtualised log view, logs
# paged from the API) against a named peer, the same log as one plain <pre> in a static
# page (what a "raw log" link gives). Reports page weight, time to first log line on
# screen, time until the whole log is loaded, time to jump to the end and paint, DOM nodes
# and JS heap. Not a ctest (timing); run by hand:
#   bench/web/log_render.sh [build/gantry] [lines=100000] [repeats=3]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
export GANTRY_BIN=${1:-$SRC/build/gantry}
LINES=${2:-100000}
REPEATS=${3:-3}
CHROMIUM=$(command -v chromium)
T=$(mktemp -d /tmp/gantry-logbench-XXXXXX)
SERVER=""
cleanup() {
  [[ -n "$SERVER" ]] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
export GANTRY_ADMIN_TOKEN=bench-admin-token GANTRY_TOKEN=bench-admin-token
source "$SRC/tests/e2e/lib/server.sh"
start_gantry_server "$T/data" "$T/server.log"
"$GANTRY_BIN" project create bench >/dev/null
mkdir -p "$T/src/.github/workflows"
# Lines like a compiler's: a path, a number, now and then colour (no groups: the dashboard
# would fold them and show far fewer lines).
cat >"$T/src/.github/workflows/ci.yml" <<YAML
name: log
on: [push]
jobs:
  big:
    runs-on: ubuntu-latest
    steps:
      - run: |
          awk 'BEGIN { for (i = 1; i <= $LINES; i++) {
            if (i % 97 == 0) printf "\033[31mwarning\033[0m: src/module_%d/file.cc:%d: something <b>odd</b> & more\n", i % 50, i;
            else printf "[%6d] compiling src/module_%d/file_%d.cc -o build/obj/file_%d.o -O2 -Wall\n", i, i % 50, i, i;
          } }'
YAML
(cd "$T/src" && git init -q -b main && git add -A && git -c user.email=b@b -c user.name=bench commit -qm 'A 100k-line log' &&
  git push -q "http://x:${GANTRY_TOKEN}@${URL#http://}/git/bench.git" main)
RUN=""
for _ in $(seq 1 600); do
  LIST=$("$GANTRY_BIN" runs --project bench)
  RUN=$(awk 'NR == 2 { print $1 }' <<<"$LIST")
  grep -q completed <<<"$LIST" && break
  sleep 0.5
done
# The peer: the same text (ANSI stripped, HTML-escaped) in one <pre>, as a static file.
curl -sf -H "Authorization: Bearer $GANTRY_TOKEN" "$URL/api/v1/runs/$RUN/logs" |
  sed -e 's/\x1b\[[0-9;]*m//g' -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' >"$T/log.txt"
{ echo '<!doctype html><html><head><meta charset="utf-8"><title>raw log</title></head><body><pre id="log">'
  cat "$T/log.txt"; echo '</pre></body></html>'; } >"$T/peer.html"
echo "log: $(wc -l <"$T/log.txt") lines, $(wc -c <"$T/log.txt") bytes; run $RUN"
NODE_PATH="$SRC/tests/node/node_modules" CHROMIUM="$CHROMIUM" URL="$URL" TOKEN="$GANTRY_TOKEN" RUN="$RUN" \
  LINES="$LINES" REPEATS="$REPEATS" PEER="$T/peer.html" node "$SRC/bench/web/log_render.mjs"
