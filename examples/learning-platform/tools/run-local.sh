#!/usr/bin/env bash
# Runs the whole platform on this machine without a Gantry server: the four services on
# free loopback ports behind `gantry lb` with the listener paths of .gantry/services.yml.
#   tools/run-local.sh [LISTEN]      # default 127.0.0.1:8000; Ctrl-C stops everything
# GANTRY names the gantry binary (default: gantry on PATH). Extra environment (e.g.
# FAIL_PERCENT=20) goes to every service.
set -euo pipefail
cd "$(dirname "$0")/.."
listen="${1:-127.0.0.1:8000}"
gantry="${GANTRY:-$(command -v gantry || true)}"
[ -x "$gantry" ] || { echo "run-local.sh: set GANTRY to the gantry binary" >&2; exit 2; }
tmp="$(mktemp -d /tmp/learning-platform.XXXXXX)"
pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
declare -A addr
for s in user auth course frontend; do
  # A process group of its own, so that stopping it stops any wrapper (pyenv) too.
  PORT=0 setsid python3 "services/$s/app.py" >"$tmp/$s.log" 2>&1 &
  pids+=($!)
  line=""
  for _ in $(seq 300); do
    line=$(grep -m1 "listening on http://" "$tmp/$s.log" || true)
    [ -n "$line" ] && break
    sleep 0.1
  done
  addr[$s]="${line##*http://}"
  [ -n "${addr[$s]}" ] || { cat "$tmp/$s.log"; exit 1; }
done
cat >"$tmp/lb.yml" <<YAML
workers: 1
listeners:
  - listen: $listen
    rules:
      - {path: /api/users, forward: [{target_group: user}]}
      - {path: /api/auth, forward: [{target_group: auth}]}
      - {path: /api/courses, forward: [{target_group: course}]}
      - {path: /, forward: [{target_group: frontend}]}
target_groups:
YAML
for s in user auth course frontend; do
  printf '  %s:\n    targets: ["%s"]\n    health_check: {path: /health, interval: 2s}\n    deregistration_delay: 1s\n' \
    "$s" "${addr[$s]}" >>"$tmp/lb.yml"
done
"$gantry" lb -c "$tmp/lb.yml" &
pids+=($!)
for _ in $(seq 100); do curl -fs -o /dev/null "http://$listen/health" && break; sleep 0.1; done
echo "learning platform on http://$listen/ (services: ${addr[*]}; logs in $tmp)"
wait
