#!/usr/bin/env bash
# bench/server: idle RSS of `gantry server` and push-to-first-step latency (time from the
# start of `git push` until the API serves the first log line of the triggered run; the
# step itself is `echo`). Usage: GANTRY_BIN=build/gantry bench/server/run.sh [ROUNDS]
set -euo pipefail
G=${GANTRY_BIN:-build/gantry}
ROUNDS=${1:-5}
T=$(mktemp -d /tmp/gantry-bench-XXXXXX)
SERVER=""
trap '[[ -n "$SERVER" ]] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
export GANTRY_ADMIN_TOKEN=bench GANTRY_TOKEN=bench
"$G" server --data "$T/data" --listen 127.0.0.1:0 >"$T/log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do URL=$(sed -n 's/^gantry server listening on \(http[^ ]*\).*/\1/p' "$T/log"); [[ -n "$URL" ]] && break; sleep 0.1; done
export GANTRY_URL=$URL
sleep 1
echo "idle RSS: $(awk '/VmRSS/{print $2/1024 " MB"}' /proc/$SERVER/status)"
"$G" project create app >/dev/null 2>&1
mkdir -p "$T/src/.github/workflows" && cd "$T/src" && git init -q -b main
printf 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo first-step\n' >.github/workflows/ci.yml
for i in $(seq 1 "$ROUNDS"); do
  echo "$i" >f && git add -A && git -c user.email=b@b -c user.name=b commit -qm "$i"
  start=$(date +%s%N)
  git push -q "http://x:bench@${URL#http://}/git/app.git" main
  while ! curl -sf -H "Authorization: Bearer bench" "$URL/api/v1/runs/$i/logs" | grep -q first-step; do sleep 0.005; done
  echo "push-to-first-step: $(( ($(date +%s%N) - start) / 1000000 )) ms"
done
echo "RSS after runs: $(awk '/VmRSS/{print $2/1024 " MB"}' /proc/$SERVER/status)"
