#!/usr/bin/env bash
# Reliability: SIGKILL the server while a run prints output. After a restart every log
# line the API had served is still there, the run is completed as failure "interrupted"
# (the documented crash policy), and the SQLite store passes PRAGMA integrity_check.
set -euo pipefail
G=${GANTRY_BIN:?}
T=$(mktemp -d /tmp/gantry-crash-XXXXXX)
SERVER=""
cleanup() {
  [[ -n "$SERVER" ]] && kill -9 "$SERVER" 2>/dev/null || true
  # Steps orphaned by the SIGKILL: processes whose working directory is in our data dir.
  for p in /proc/[0-9]*; do
    cwd=$(readlink "$p/cwd" 2>/dev/null || true)
    [[ "$cwd" == "$T"* ]] && kill -9 "${p#/proc/}" 2>/dev/null || true
  done
  rm -rf "$T"
}
trap cleanup EXIT

export GANTRY_ADMIN_TOKEN=crash-admin GANTRY_TOKEN=crash-admin
source "$(dirname "$0")/lib/server.sh"
start_server() { start_gantry_server "$T/data" "$T/server.log"; }
api() { curl -sf -H "Authorization: Bearer crash-admin" "$GANTRY_URL/api/v1/$1"; }

start_server
"$G" project create app >/dev/null 2>&1
mkdir -p "$T/src/.github/workflows"
cat >"$T/src/.github/workflows/ci.yml" <<'YAML'
on: push
jobs:
  print:
    runs-on: ubuntu-latest
    steps:
      - run: for i in $(seq 1 100000); do echo "line $i"; sleep 0.005; done
YAML
(cd "$T/src" && git init -q -b main && git add -A && git -c user.email=t@t -c user.name=t commit -qm w &&
  git push -q "http://x:crash-admin@${GANTRY_URL#http://}/git/app.git" main)

# Wait until the API serves a good number of lines, then remember what it served.
for _ in $(seq 1 300); do
  n=$(api runs/1/logs | wc -l)
  [[ $n -ge 200 ]] && break
  sleep 0.1
done
api runs/1/logs >"$T/served.txt"
served=$(wc -l <"$T/served.txt")
[[ $served -ge 200 ]] || { echo "only $served lines served"; exit 1; }
kill -9 "$SERVER"
wait "$SERVER" 2>/dev/null || true
SERVER=""

start_server
api runs/1 >"$T/run.json"
status=$(jq -r .status "$T/run.json")
conclusion=$(jq -r .conclusion "$T/run.json")
message=$(jq -r .message "$T/run.json")
[[ $status == completed && $conclusion == failure && $message == interrupted* ]] ||
  { echo "unexpected run state: $(cat "$T/run.json")"; exit 1; }
api runs/1/logs >"$T/after.txt"
# Every served line is still there, in order (the stored log may have more).
head -n "$served" "$T/after.txt" | cmp - "$T/served.txt" || { echo "served lines lost"; exit 1; }
"$G" logs 1 >/dev/null && { echo "logs of a failed run should exit 1"; exit 1; } || [[ $? -eq 1 ]]
kill -TERM "$SERVER"
wait "$SERVER" || { echo "graceful stop failed"; exit 1; }
SERVER=""
check=$(sqlite3 "$T/data/gantry.db" "PRAGMA integrity_check")
[[ $check == ok ]] || { echo "integrity_check: $check"; exit 1; }
# An unreachable server is exit code 3.
set +e
GANTRY_URL=http://127.0.0.1:1 "$G" runs >/dev/null 2>&1
[[ $? -eq 3 ]] || { echo "expected exit 3 for an unreachable server"; exit 1; }
echo "ok: $served served lines kept, run interrupted, integrity ok"
