#!/usr/bin/env bash
# gantry lb end to end: serves through a real back end, reloads its file on SIGHUP (keeping
# the old configuration when the new one is invalid), validates with --check, stops on SIGTERM.
set -euo pipefail
bin="${GANTRY_BIN:?GANTRY_BIN must point at the gantry binary}"
tmp="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; cat "$tmp/lb.log" >&2 2>/dev/null || true; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for name in a b; do
  mkdir -p "$tmp/$name" && echo "backend-$name" >"$tmp/$name/index.html"
done
pa=$(free_port) pb=$(free_port)
python3 -m http.server "$pa" --bind 127.0.0.1 --directory "$tmp/a" >/dev/null 2>&1 & pids+=($!)
python3 -m http.server "$pb" --bind 127.0.0.1 --directory "$tmp/b" >/dev/null 2>&1 & pids+=($!)

config() {  # $1 target port
  cat >"$tmp/lb.yml" <<CONF
workers: 2
listeners:
  - listen: 127.0.0.1:0
    rules:
      - path: /
        forward:
          - {target_group: web, weight: 100}
target_groups:
  web:
    targets: [127.0.0.1:$1]
    deregistration_delay: 1s
    health_check: {path: /, interval: 100ms, timeout: 1s, healthy_threshold: 2, unhealthy_threshold: 2, matcher: "200-399"}
CONF
}
config "$pa"
"$bin" lb -c "$tmp/lb.yml" 2>"$tmp/lb.log" & lb=$!; pids+=($lb)
for _ in $(seq 100); do grep -q "listening on" "$tmp/lb.log" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's/.*listening on //p' "$tmp/lb.log" | head -1)
[ -n "$addr" ] || fail "gantry lb did not start"

wait_body() {  # $1 expected body
  for _ in $(seq 100); do
    [ "$(curl -s "http://$addr/" || true)" = "$1" ] && return 0
    sleep 0.1
  done
  fail "expected '$1' from http://$addr/"
}
wait_body backend-a
headers=$(curl -sI "http://$addr/")
echo "$headers" | grep -q "^HTTP/1.1 200" || fail "HEAD: $headers"

config "$pb"
kill -HUP "$lb"
wait_body backend-b
grep -q "reloaded" "$tmp/lb.log" || fail "no reload message"

echo "listeners: [" >"$tmp/lb.yml"
kill -HUP "$lb"
for _ in $(seq 50); do grep -q "reload failed" "$tmp/lb.log" && break; sleep 0.1; done
grep -q "reload failed" "$tmp/lb.log" || fail "bad reload not reported"
[ "$(curl -s "http://$addr/")" = backend-b ] || fail "bad reload changed routing"

set +e
out=$("$bin" lb -c "$tmp/lb.yml" --check 2>&1); rc=$?
set -e
[ $rc = 2 ] || fail "--check on a bad file exited $rc"
echo "$out" | grep -q "lb.yml:2:1: " || fail "--check error without position: $out"
"$bin" lb --help | grep -q "SIGHUP" || fail "--help does not mention SIGHUP"

kill -TERM "$lb"
wait "$lb"; rc=$?
[ $rc = 0 ] || fail "SIGTERM exit code $rc"
echo "e2e lb: ok"
