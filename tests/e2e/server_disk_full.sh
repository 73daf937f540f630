#!/usr/bin/env bash
# Reliability: the server's data directory on a small tmpfs that fills up while a step
# prints. The log writer's failures must end the run as failure with "log lines could not
# be stored (is the disk full?)", the end of the run must be recorded once space returns
# (the executor retries that record), every stored line must be whole, and after a restart
# the SQLite store must pass PRAGMA integrity_check.
# Needs mount(2) (root); without it the test says why and exits 77 (ctest: skipped).
set -euo pipefail
G=${GANTRY_BIN:?}
T=$(mktemp -d /tmp/gantry-diskfull-XXXXXX)
SERVER=""
MNT="$T/mnt"
cleanup() {
  [[ -n "$SERVER" ]] && kill -9 "$SERVER" 2>/dev/null || true
  for p in /proc/[0-9]*; do
    cwd=$(readlink "$p/cwd" 2>/dev/null || true)
    [[ "$cwd" == "$T"* ]] && kill -9 "${p#/proc/}" 2>/dev/null || true
  done
  mountpoint -q "$MNT" && umount "$MNT" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT

mkdir -p "$MNT"
if ! err=$(mount -t tmpfs -o size=16m tmpfs "$MNT" 2>&1); then
  echo "SKIP: cannot mount a tmpfs for the full disk ($err); needs root / CAP_SYS_ADMIN"
  exit 77
fi

export GANTRY_ADMIN_TOKEN=full-admin GANTRY_TOKEN=full-admin
source "$(dirname "$0")/lib/server.sh"
api() { curl -sf -H "Authorization: Bearer full-admin" "$GANTRY_URL/api/v1/$1"; }

start_gantry_server "$MNT/data" "$T/server.log"
"$G" project create app >/dev/null 2>&1
mkdir -p "$T/src/.github/workflows"
# ~30 MB of output: far more than the space left.
cat >"$T/src/.github/workflows/ci.yml" <<'YAML'
on: workflow_dispatch
jobs:
  print:
    runs-on: ubuntu-latest
    steps:
      - run: yes "a line of output that fills the disk, token ${{ secrets.TOKEN }} masked" | head -n 400000
YAML
(cd "$T/src" && git init -q -b main && git add -A && git -c user.email=t@t -c user.name=t commit -qm w &&
  git push -q "http://x:full-admin@${GANTRY_URL#http://}/git/app.git" main)
curl -sf -X PUT -H "Authorization: Bearer full-admin" -d '{"value":"hunter2-secret"}' \
  "$GANTRY_URL/api/v1/projects/app/secrets/TOKEN" >/dev/null

# Fill the disk, then give back 1 MB: enough to start the run, not to store its log.
dd if=/dev/zero of="$MNT/ballast" bs=64k 2>/dev/null || true
truncate -s -1M "$MNT/ballast"

"$G" trigger app .github/workflows/ci.yml >/dev/null
# Wait for the run to end, or for the executor to say it cannot record the end: then
# free the space so its retry lands.
for _ in $(seq 1 600); do
  grep -q "could not record its end" "$T/server.log" && break
  [[ $(api runs/1 | jq -r .status 2>/dev/null) == completed ]] && break
  sleep 0.1
done
rm -f "$MNT/ballast"
for _ in $(seq 1 600); do
  [[ $(api runs/1 | jq -r .status 2>/dev/null) == completed ]] && break
  sleep 0.1
done
api runs/1 >"$T/run.json"
[[ $(jq -r .status "$T/run.json") == completed && $(jq -r .conclusion "$T/run.json") == failure ]] ||
  { echo "unexpected run state: $(cat "$T/run.json")"; cat "$T/server.log"; exit 1; }
jq -r .message "$T/run.json" | grep -qF "log lines could not be stored (is the disk full?)" ||
  { echo "no disk-full message: $(cat "$T/run.json")"; exit 1; }

# Restart with space again: the run is as it was, every stored line is whole, the store is sound.
kill -TERM "$SERVER"
wait "$SERVER" || { echo "graceful stop failed"; cat "$T/server.log"; exit 1; }
SERVER=""
check=$(sqlite3 "$MNT/data/gantry.db" "PRAGMA integrity_check")
[[ $check == ok ]] || { echo "integrity_check: $check"; exit 1; }
start_gantry_server "$MNT/data" "$T/server2.log"
[[ $(api runs/1 | jq -r .conclusion) == failure ]] || { echo "run state lost after restart"; exit 1; }
api runs/1/logs >"$T/logs.txt"
stored=$(grep -c "a line of output" "$T/logs.txt" || true)
bad=$(grep "a line of output" "$T/logs.txt" | grep -vc "a line of output that fills the disk, token .* masked$" || true)
[[ $bad -eq 0 ]] || { echo "$bad stored lines are cut"; exit 1; }
[[ $stored -lt 400000 ]] || { echo "all $stored lines stored: the disk was not full"; exit 1; }
if grep -q hunter2-secret "$T/logs.txt"; then echo "secret in the log"; exit 1; fi
echo "ok: run failed as disk full, $stored of 400000 lines stored whole, integrity ok after restart"
