#!/usr/bin/env bash
# Step overhead: a workflow of N trivial `run:` steps under `gantry run`, against the same N
# commands run by a bash loop the way the runner invokes them
# (`bash --noprofile --norc -eo pipefail FILE`, one script file per step).
# Usage: bench/step_overhead/run.sh [GANTRY_BIN] [STEPS=200] [ROUNDS=5]
# Prints the median wall time of each, the ratio, and gantry's peak RSS.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${1:-$root/build/gantry}"
steps="${2:-200}"
rounds="${3:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/repo/.github/workflows" "$work/scripts"
{
  echo "on: push"
  echo "defaults:"
  echo "  run:"
  echo "    shell: bash"
  echo "jobs:"
  echo "  steps:"
  echo "    runs-on: ubuntu-latest"
  echo "    steps:"
  for i in $(seq 1 "$steps"); do echo "      - run: echo step $i"; done
} >"$work/repo/.github/workflows/bench.yml"
for i in $(seq 1 "$steps"); do echo "echo step $i" >"$work/scripts/$i.sh"; done

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

loop_times=() gantry_times=()
for r in $(seq 1 "$rounds"); do
  t0=$(now)
  for i in $(seq 1 "$steps"); do bash --noprofile --norc -eo pipefail "$work/scripts/$i.sh"; done >/dev/null
  t1=$(now)
  "$bin" run "$work/repo" >/dev/null
  t2=$(now)
  loop_times+=($(((t1 - t0) / 1000000)))
  gantry_times+=($(((t2 - t1) / 1000000)))
done
loop=$(printf '%s\n' "${loop_times[@]}" | median)
gantry=$(printf '%s\n' "${gantry_times[@]}" | median)
rss=$(/usr/bin/time -f %M "$bin" run "$work/repo" 2>&1 >/dev/null | tail -1)
echo "steps:          $steps (median of $rounds rounds)"
echo "bash loop:      ${loop} ms"
echo "gantry run:     ${gantry} ms"
awk -v g="$gantry" -v l="$loop" 'BEGIN { printf "ratio:          %.2fx (target <= 1.3x)\n", g / l }'
echo "gantry peak RSS: ${rss} KiB"
