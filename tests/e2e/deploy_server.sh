#!/usr/bin/env bash
# Deployments hosted by `gantry server`, with real processes: a project with .gantry/ config is
# pushed, v1 deployed; a canary v2 that fails 30% of its requests is rolled back on its own
# analysis; a good canary v3 is interrupted by SIGKILL of the server mid-canary: the load
# balancer process and the instances keep serving (a load at a fixed rate sees 0 failed
# requests) and the restarted server re-adopts them and finishes the deployment.
set -euo pipefail
G=${GANTRY_BIN:?}
T=$(mktemp -d /tmp/gantry-deploy-server-XXXXXX)
SERVER="" LOAD=""
cleanup() {
  [[ -n "$LOAD" ]] && kill "$LOAD" 2>/dev/null || true
  [[ -n "$SERVER" ]] && kill -9 "$SERVER" 2>/dev/null || true
  # The load balancer and the instances outlive the server on purpose: stop them here.
  stop_deployed "$T/data" || true
  sleep 0.3
  rm -rf "$T"
}
trap cleanup EXIT

export GANTRY_ADMIN_TOKEN=deploy-admin GANTRY_TOKEN=deploy-admin
source "$(dirname "$0")/lib/server.sh"
LB_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_server() { start_gantry_server "$T/data" "$T/server.log" --lb-listen "127.0.0.1:$LB_PORT"; }
api() { curl -sS -H "Authorization: Bearer deploy-admin" -H 'Content-Type: application/json' "$@"; }
state() { api "$GANTRY_URL/api/v1/deployments/$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
field() { api "$GANTRY_URL/api/v1/deployments/$1" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"$2\"])"; }
wait_state() {  # ID STATE...: waits (bounded) until the deployment is in one of the states
  local id=$1 s=""
  shift
  for _ in $(seq 1 600); do
    s=$(state "$id")
    for want in "$@"; do [[ "$s" == "$want" ]] && return 0; done
    sleep 0.1
  done
  echo "deployment $id is $s, wanted $*"
  api "$GANTRY_URL/api/v1/deployments/$id"
  return 1
}
deploy() {  # REF: starts a deployment of web to staging, prints its id
  api -X POST "$GANTRY_URL/api/v1/deployments" -d "{\"service\":\"web\",\"environment\":\"staging\",\"ref\":\"$1\"}" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["id"]) if "id" in d else sys.exit(str(d))'
}

start_server
"$G" project create shop >/dev/null
mkdir -p "$T/src/.gantry" "$T/src/app"
cat >"$T/src/app/server.py" <<'PY'
import http.server, os, random
version = open("version").read().strip()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        code = 200
        if self.path != "/health" and version.endswith("-bad") and random.random() < 0.3:
            code = 500
        body = version.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
PY
cat >"$T/src/.gantry/services.yml" <<'YML'
services:
  web:
    bundle: app
    command: [/usr/bin/python3, server.py]
    instances: 2
    health_check: {path: /health, interval: 200ms, timeout: 150ms, healthy_threshold: 2, unhealthy_threshold: 3}
    deregistration_delay: 300ms
    strategy:
      type: canary
      steps: [{set_weight: 50}, {pause: 3s}, {analysis: {}}, {set_weight: 100}]
    analysis: {interval: 1s, count: 2, failure_limit: 0, success_rate: 0.95, min_requests: 5}
environments:
  staging: {}
  production: {required_approvals: 1, allowed_branches: [main]}   # gantry/deploy@v1 passes the run's branch
YML
commit() {  # VERSION: commits and pushes the app at that version, tags it
  echo "$1" >"$T/src/app/version"
  (cd "$T/src" && git add -A && git -c user.email=t@t -c user.name=t commit -qm "$1" && git tag "$1" &&
    git push -q "http://x:deploy-admin@${GANTRY_URL#http://}/git/shop.git" main "$1")
}
(cd "$T/src" && git init -q -b main)
commit v1
commit v2-bad
commit v3

# A fixed-rate load (40 requests/s) through the load balancer, counting answers by body.
start_load() { python3 "$E2E_LIB/load.py" "$LB_PORT" "$T/$1.json" & LOAD=$!; }
stop_load() { kill "$LOAD"; wait "$LOAD" || true; LOAD=""; cat "$T/$1.json"; echo; }

# v1: the first deployment (all at once).
id=$(deploy v1)
wait_state "$id" succeeded
[[ "$(curl -s -H 'Host: web.staging.localhost' "http://127.0.0.1:$LB_PORT/")" == v1 ]]

# v2-bad: the canary fails its analysis and is rolled back without anyone acting.
# (The CLI in server mode: GANTRY_URL and GANTRY_TOKEN are set; exit 1 = rolled back.)
start_load bad
rc=0
"$G" deploy web --env staging --revision v2-bad >"$T/bad.txt" || rc=$?
cat "$T/bad.txt"
stop_load bad
[[ $rc == 1 ]]
grep -q "rolled_back (analysis failed" "$T/bad.txt"
for _ in $(seq 1 20); do
  [[ "$(curl -s -H 'Host: web.staging.localhost' "http://127.0.0.1:$LB_PORT/")" == v1 ]]
done

# v3: SIGKILL the server while the canary pauses at 50%; traffic must not notice.
start_load kill
id=$(deploy v3)
for _ in $(seq 1 300); do
  [[ "$(field "$id" canary_weight)" == 50 ]] && break
  sleep 0.1
done
[[ "$(field "$id" canary_weight)" == 50 ]]
lb_pid=$(json_pid "$T/data/deploy/lb/lb.pid")
kill -9 "$SERVER"
wait "$SERVER" 2>/dev/null || true
SERVER=""
sleep 1
start_server
wait_state "$id" succeeded
sleep 0.5
stop_load kill
python3 - "$T/kill.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
assert c["failed"] == 0, c
assert c["bodies"].get("v3", 0) > 0 and c["bodies"].get("v1", 0) > 0, c
PY
# The same load balancer process served throughout, and the restarted server re-adopted it.
[[ "$(json_pid "$T/data/deploy/lb/lb.pid")" == "$lb_pid" ]]
grep -q "re-adopted" "$T/server.log"
"$G" status web --env staging --server "$GANTRY_URL" | tee "$T/status.txt"
grep -q "stable $(cd "$T/src" && git rev-parse --short=12 v3)" "$T/status.txt"
"$G" history web --env staging | tee "$T/history.txt"
[[ $(grep -c "succeeded\|rolled_back" "$T/history.txt") == 3 ]]
# Load balancer counters per target group reach the monitor (fed every second).
for _ in $(seq 1 70); do
  curl -s "$GANTRY_URL/metrics" | grep -q 'gantry_lb_requests_total{.*target_group="web.staging' && break
  sleep 0.1
done
curl -s "$GANTRY_URL/metrics" | grep 'gantry_lb_requests_total{.*target_group="web.staging'

# A workflow deploys with the built-in action, authenticated by its run-scoped token.
mkdir -p "$T/src/.gantry/workflows"
cat >"$T/src/.gantry/workflows/deploy.yml" <<'YML'
on:
  push:
    branches: [main]
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: gantry/deploy@v1
        with: {service: web, environment: staging, strategy: rolling}
      - uses: gantry/deploy@v1
        with: {service: web, environment: production}
YML
commit v4
# The production step waits for an approval, given through the CLI (the approver is the token).
for _ in $(seq 1 600); do
  api "$GANTRY_URL/api/v1/deployments?service=web&environment=production" | grep -q waiting_approval && break
  sleep 0.1
done
"$G" approve web --env production --no-wait
run_state() { api "$GANTRY_URL/api/v1/runs/1" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["status"], r.get("conclusion") or "")'; }
for _ in $(seq 1 600); do
  run=$(run_state 2>/dev/null || true)
  [[ "$run" == "completed "* ]] && break
  sleep 0.1
done
[[ "$run" == "completed success" ]] || { echo "$run"; api "$GANTRY_URL/api/v1/runs/1/logs"; exit 1; }
[[ "$(curl -s -H 'Host: web.staging.localhost' "http://127.0.0.1:$LB_PORT/")" == v4 ]]
[[ "$(curl -s -H 'Host: web.production.localhost' "http://127.0.0.1:$LB_PORT/")" == v4 ]] || {
  api "$GANTRY_URL/api/v1/deployments?service=web&environment=production"
  "$G" status web --env production
  api "$GANTRY_URL/api/v1/runs/1/logs"; tail -20 "$T/server.log"
  exit 1
}
api "$GANTRY_URL/api/v1/deployments?service=web&environment=production" | grep -q '"approvals":\["admin (GANTRY_ADMIN_TOKEN)"\]'
echo "deploy_server: ok"
