#!/usr/bin/env bash
# Autoscaling hosted by `gantry server`, real processes and the real load balancer: a service
# with target_requests is deployed with one instance; a load at a fixed rate through the load
# balancer scales it out to its max, `gantry status` and the API show the autoscaled count and
# the scaling event, a service.scaled event reaches a webhook; when the load drops it scales
# back in to its min with no failed request.
set -euo pipefail
G=${GANTRY_BIN:?}
T=$(mktemp -d /tmp/gantry-deploy-autoscale-XXXXXX)
SERVER="" LOAD="" HOOK=""
cleanup() {
  [[ -n "$LOAD" ]] && kill "$LOAD" 2>/dev/null || true
  [[ -n "$HOOK" ]] && kill "$HOOK" 2>/dev/null || true
  [[ -n "$SERVER" ]] && kill -9 "$SERVER" 2>/dev/null || true
  # The load balancer and the instances outlive the server on purpose: stop them here.
  stop_deployed "$T/data" || true
  sleep 0.3
  rm -rf "$T"
}
trap cleanup EXIT

export GANTRY_ADMIN_TOKEN=scale-admin GANTRY_TOKEN=scale-admin
source "$(dirname "$0")/lib/server.sh"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
LB_PORT=$(free_port)
HOOK_PORT=$(free_port)
api() { curl -sS -H "Authorization: Bearer scale-admin" -H 'Content-Type: application/json' "$@"; }
svc() {  # PYTHON-EXPRESSION over the service status `s`
  api "$GANTRY_URL/api/v1/services/web/staging" | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"
}
settled() {  # N: N instances, all healthy, nothing active, desired N
  [[ "$(svc "(s['active'] == '', s['autoscaling']['desired'], sum(i['health'] == 'healthy' for i in s['instances']), len(s['instances']))")" == "(True, $1, $1, $1)" ]]
}
wait_settled() {  # N (bounded: 60 s)
  for _ in $(seq 1 600); do
    settled "$1" && return 0
    sleep 0.1
  done
  echo "not settled at $1 instance(s):"
  api "$GANTRY_URL/api/v1/services/web/staging"
  echo
  tail -20 "$T/server.log"
  return 1
}

# A webhook receiver for the deployments topic.
cat >"$T/hook.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[2], "ab") as f:
            f.write(body + b"\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$T/hook.py" "$HOOK_PORT" "$T/hooks.jsonl" &
HOOK=$!

start_gantry_server "$T/data" "$T/server.log" --lb-listen "127.0.0.1:$LB_PORT"
"$G" project create shop >/dev/null
mkdir -p "$T/src/.gantry" "$T/src/app"
cat >"$T/src/app/server.py" <<'PY'
import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = b"v1"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
PY
cat >"$T/src/.gantry/services.yml" <<YML
services:
  web:
    bundle: app
    command: [/usr/bin/python3, server.py]
    instances: 1
    health_check: {path: /health, interval: 200ms, timeout: 150ms, healthy_threshold: 2, unhealthy_threshold: 3}
    deregistration_delay: 300ms
    autoscaling: {min: 1, max: 3, target_requests: 4, cooldown: 1s, interval: 1s}
environments:
  staging: {}
topics:
  deployments:
    - {protocol: webhook, endpoint: "http://127.0.0.1:$HOOK_PORT/hook"}
YML
(cd "$T/src" && git init -q -b main && git add -A && git -c user.email=t@t -c user.name=t commit -qm v1 &&
  git push -q "http://x:scale-admin@${GANTRY_URL#http://}/git/shop.git" main)
"$G" deploy web --env staging --revision main
wait_settled 1

# A fixed-rate load through the load balancer (RATE requests/s), counting failures.
start_load() { python3 "$E2E_LIB/load.py" "$LB_PORT" "$T/$2.json" --rate "$1" & LOAD=$!; }
stop_load() { kill "$LOAD"; wait "$LOAD" || true; LOAD=""; cat "$T/$1.json"; echo; }
no_failures() { python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); assert c["failed"] == 0, c' "$T/$1.json"; }

# Up to 40 requests/s on one instance, target 4 per instance: out to the max, 3.
start_load 40 heavy
wait_settled 3
"$G" status web --env staging | tee "$T/status.txt"
grep -q "^autoscaling: 3 instance(s) desired (min 1, max 3; target 4 requests/s per instance)" "$T/status.txt"
grep -q "  measured: .* requests/s per instance (target 4)" "$T/status.txt"
grep -q "  last scaling: .*  scale out 1 -> 3: " "$T/status.txt"
api "$GANTRY_URL/api/v1/services" | python3 -c '
import json, sys
s = [x for x in json.load(sys.stdin)["services"] if x["service"] == "web"][0]
assert s["desired_instances"] == 3 and s["autoscaling"]["max"] == 3, s
assert s["autoscaling"]["last_event"].startswith("scale out 1 -> 3"), s'
grep -q "gantry: autoscaling web in staging: scale out 1 -> 3" "$T/server.log"
stop_load heavy
no_failures heavy

# The load drops to 2 requests/s: back in to 1, drained before stopping, no failed request.
start_load 2 light
wait_settled 1
stop_load light
no_failures light
"$G" history web --env staging | tee "$T/history.txt"
grep -q " scale .* succeeded .*scale out 1 -> 3: " "$T/history.txt"
grep -q " scale .* succeeded .*scale in 2 -> 1: " "$T/history.txt"

# service.scaled events reached the webhook (deliveries are asynchronous: bounded wait).
for _ in $(seq 1 100); do
  [[ -f "$T/hooks.jsonl" ]] && grep -q '"scale in 2 -> 1"\|scale in 2 -> 1' "$T/hooks.jsonl" && break
  sleep 0.1
done
python3 - "$T/hooks.jsonl" <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
scaled = [e for e in events if e["type"] == "service.scaled"]
assert any(e["fields"]["from"] == "1" and e["fields"]["to"] == "3" for e in scaled), events
assert any(e["subject"] == "web (staging): scale in 2 -> 1" for e in scaled), scaled
# Scale operations are not deployments for the deployment events.
assert all(e["fields"].get("strategy") != "scale" for e in events if e["type"].startswith("deployment.")), events
PY
echo "deploy_autoscale: ok"
