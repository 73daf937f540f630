#!/usr/bin/env bash
# Cancellation: SIGINT / SIGTERM to gantry run stops every process of every running step
# (their whole process groups, SIGKILL after the grace period) and exits with 130; steps with
# `if: always()` still run (with job.status cancelled), others are skipped.
set -euo pipefail
GANTRY_BIN="$(realpath "${GANTRY_BIN:?}")"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/repo/.github/workflows"
cat >"$work/repo/.github/workflows/slow.yml" <<YAML
on: push
jobs:
  sleeper:
    runs-on: ubuntu-latest
    steps:
      - run: |
          sleep 300 & echo \$! > "$work/child.pid"
          sh -c 'trap "" TERM; sleep 300' & echo \$! > "$work/stubborn.pid"
          echo started > "$work/started"
          wait
      - run: echo "a default step does not run after cancel" > "$work/skipped"
      - if: always()
        run: echo "\${{ job.status }}" > "$work/after"
  other:
    runs-on: ubuntu-latest
    steps:
      - run: sleep 300
YAML
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

for sig in INT TERM; do
  rm -f "$work/started" "$work/child.pid" "$work/stubborn.pid" "$work/after" "$work/skipped"
  "$GANTRY_BIN" run "$work/repo" --parallel 2 --kill-grace 500 >"$work/out.txt" 2>&1 &
  gpid=$!
  pids+=("$gpid")
  for _ in $(seq 1 200); do [ -f "$work/started" ] && break; sleep 0.05; done
  [ -f "$work/started" ] || { cat "$work/out.txt"; echo "step did not start"; exit 1; }
  child=$(cat "$work/child.pid"); stubborn=$(cat "$work/stubborn.pid")
  pids+=("$child" "$stubborn")
  kill -"$sig" "$gpid"
  set +e
  wait "$gpid"
  rc=$?
  set -e
  [ $rc -eq 130 ] || { cat "$work/out.txt"; echo "SIG$sig: expected exit 130, got $rc"; exit 1; }
  for p in "$child" "$stubborn"; do
    for _ in $(seq 1 100); do alive "$p" || break; sleep 0.05; done
    if alive "$p"; then echo "SIG$sig: process $p survived the cancel"; exit 1; fi
  done
  [ ! -e "$work/skipped" ] || { echo "a default step ran after cancel"; exit 1; }
  [ "$(cat "$work/after" 2>/dev/null)" = cancelled ] || { cat "$work/out.txt"; echo "the always() step did not run after cancel"; exit 1; }
  grep -q 'Run cancelled' "$work/out.txt" || { cat "$work/out.txt"; exit 1; }
done
echo "cancel e2e passed"
