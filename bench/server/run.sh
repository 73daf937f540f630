#!/usr/bin/env bash
# bench/server: idle RSS of `gantry server` and push-to-first-step latency (time from the
# start of `git push` until the API serves the first log line of the triggered run; the
# step itself is `echo`); then one step printing BIG_MB (default 500) MB of 100-byte lines
# with a project secret set (masking on): MB/s from trigger to the run's end (all lines
# stored and the step compressed), the server's CPU seconds per 100 MB, and its peak RSS
# (VmHWM). Usage: GANTRY_BIN=build/gantry [BIG_MB=500] bench/server/run.sh [ROUNDS]
set -euo pipefail
G=$(realpath "${GANTRY_BIN:-build/gantry}")
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

BIG_MB=${BIG_MB:-500}
if [[ $BIG_MB -gt 0 ]]; then
  curl -sf -X PUT -H "Authorization: Bearer bench" -d '{"value":"s3cr3t-bench-value"}' "$URL/api/v1/projects/app/secrets/TOKEN" >/dev/null
  # 99 characters + newline; every tenth line carries the secret.
  printf 'on: workflow_dispatch\njobs:\n  big:\n    runs-on: ubuntu-latest\n    steps:\n      - run: yes "%s" | head -n %d\n' \
    'output line with the value ${{ secrets.TOKEN }} in it, padded to a hundred bytes ..........' \
    $((BIG_MB * 10000)) >.github/workflows/big.yml
  # The step prints 100-byte lines only when the secret expands to 18 characters (as set above).
  git add -A && git -c user.email=b@b -c user.name=b commit -qm big && git push -q "http://x:bench@${URL#http://}/git/app.git" main
  while ! curl -sf -H "Authorization: Bearer bench" "$URL/api/v1/runs?limit=1" | grep -q '"completed"'; do sleep 0.2; done
  cpu0=$(awk '{print $14 + $15}' /proc/$SERVER/stat)
  start=$(date +%s%N)
  run=$("$G" trigger app .github/workflows/big.yml | grep -o '[0-9]\+' | head -1)
  while [[ $(curl -sf -H "Authorization: Bearer bench" "$URL/api/v1/runs/$run" | jq -r .status) != completed ]]; do sleep 0.1; done
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  cpu=$(( $(awk '{print $14 + $15}' /proc/$SERVER/stat) - cpu0 ))
  tck=$(getconf CLK_TCK)
  echo "big step: $BIG_MB MB in $ms ms = $(( BIG_MB * 1000 / ms )) MB/s wall, conclusion $(curl -sf -H "Authorization: Bearer bench" "$URL/api/v1/runs/$run" | jq -r .conclusion)"
  echo "big step: server CPU $(awk -v c="$cpu" -v t="$tck" -v m="$BIG_MB" 'BEGIN{printf "%.2f s (%.2f s per 100 MB, %.0f MB per CPU second)", c/t, c/t*100/m, m/(c/t)}')"
  echo "big step: server peak RSS (VmHWM) $(awk '/VmHWM/{print $2/1024 " MB"}' /proc/$SERVER/status); load average $(cut -d' ' -f1-3 /proc/loadavg)"
  curl -sf -H "Authorization: Bearer bench" "$URL/api/v1/runs/$run/logs" | grep -c s3cr3t-bench-value | sed 's/^/big step: unmasked secret lines served: /' || true
fi
