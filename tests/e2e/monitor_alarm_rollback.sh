#!/usr/bin/env bash
# Monitoring end to end with real processes: a topic and an alarm are defined at runtime
# (gantry topics / gantry alarms), the alarm on the load balancer's 5xx count of a service
# fires within a period of a canary that fails, rolls the deployment back (all traffic on
# stable), and each alarm transition reaches a local HTTP receiver exactly once with a valid
# HMAC signature. Definitions survive a server restart; the instances' stdout/stderr are
# queried with `gantry logs service/web` (and followed with -f); runs are counted in /metrics
# and announced on the topic "runs".
set -euo pipefail
G=${GANTRY_BIN:?}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/gantry-alarm-XXXXXX)
SERVER="" LOAD="" RECV="" FOLLOW=""
cleanup() {
  for p in "$LOAD" "$RECV" "$FOLLOW"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done
  [[ -n "$SERVER" ]] && kill -9 "$SERVER" 2>/dev/null || true
  stop_deployed "$T/data" || true
  sleep 0.3
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -30 "$T/server.log"; exit 1; }

export GANTRY_ADMIN_TOKEN=alarm-admin GANTRY_TOKEN=alarm-admin
source "$(dirname "$0")/lib/server.sh"
LB_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_server() { start_gantry_server "$T/data" "$T/server.log" --lb-listen "127.0.0.1:$LB_PORT"; }
api() { curl -sS -H "Authorization: Bearer alarm-admin" -H 'Content-Type: application/json' "$@"; }
field() { api "$GANTRY_URL/api/v1/deployments/$1" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"$2\"])"; }
alarm_state() { api "$GANTRY_URL/api/v1/alarms/web-5xx" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }

start_server
python3 "$ROOT/examples/learning-platform/tools/webhook-receiver.py" --port 0 --out "$T/hooks.jsonl" \
  --secret s3cret >"$T/recv.log" &
RECV=$!
for _ in $(seq 1 50); do grep -q "receiver on" "$T/recv.log" && break; sleep 0.1; done
HOOK=$(sed -n 's/^webhook receiver on \(http[^ ]*\)/\1/p' "$T/recv.log")hook
[[ "$HOOK" == http://127.0.0.1:* ]] || fail "receiver did not start"

# --- definitions at runtime, with bad input refused clearly -----------------------------
"$G" topics put ops --webhook "$HOOK" --secret s3cret
"$G" topics put runs --webhook "$HOOK" --secret s3cret --events run.started,run.succeeded,run.failed
rc=0
"$G" alarms put broken --metric x --threshold 1 --statistic nope 2>"$T/err.txt" || rc=$?
[[ $rc == 2 ]] && grep -q "statistic: " "$T/err.txt" || fail "bad statistic: rc=$rc $(cat "$T/err.txt")"
code=$(api -o "$T/err.json" -w '%{http_code}' -X PUT "$GANTRY_URL/api/v1/alarms/broken" -d '{"metric": "x",
 "threshold": 1,}')
[[ $code == 400 ]] && grep -q 'body:2:' "$T/err.json" || fail "bad JSON answered $code $(cat "$T/err.json")"
code=$(api -o /dev/null -w '%{http_code}' -X PUT "$GANTRY_URL/api/v1/topics/x" -d '{"subscriptions":[{"endpoint":"ftp://x"}]}')
[[ $code == 400 ]] || fail "ftp endpoint answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$GANTRY_URL/api/v1/alarms/anon" -d '{}')
[[ $code == 401 ]] || fail "PUT without a token answered $code"
"$G" alarms put web-5xx --metric gantry_lb_responses_total --dimension service=web --dimension environment=staging \
  --dimension code_class=5xx --statistic sum --period 10s --threshold 3 --missing-data notBreaching \
  --on-alarm deploy:rollback:web:staging --on-alarm topic:ops --on-ok topic:ops
"$G" alarms | tee "$T/alarms.txt"
grep -q "^web-5xx .* api" "$T/alarms.txt" || fail "alarm not listed"

# --- a project whose v2-bad fails every request; the canary pauses long at 50% ----------
"$G" project create shop >/dev/null
mkdir -p "$T/src/.gantry/workflows" "$T/src/app"
cat >"$T/src/app/server.py" <<'PY'
import http.server, os, sys
version = open("version").read().strip()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        code = 500 if self.path != "/health" and version.endswith("-bad") else 200
        if self.path != "/health":
            print("%s GET %s %d" % (version, self.path, code), flush=True)
            if code >= 500:
                print("ERROR %s failed %s" % (version, self.path), file=sys.stderr, flush=True)
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
      steps: [{set_weight: 50}, {pause: 120s}, {set_weight: 100}]
environments:
  staging: {}
YML
cat >"$T/src/.gantry/workflows/ci.yml" <<'YML'
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: echo tested
YML
commit() {
  echo "$1" >"$T/src/app/version"
  (cd "$T/src" && git add -A && git -c user.email=t@t -c user.name=t commit -qm "$1" && git tag "$1" &&
    git push -q "http://x:alarm-admin@${GANTRY_URL#http://}/git/shop.git" main "$1")
}
(cd "$T/src" && git init -q -b main)
commit v1
commit v2-bad

# v1 goes out all at once (the first deployment has nothing to canary against).
"$G" deploy web --env staging --revision v1 >/dev/null || fail "v1 did not deploy"
# The alarm's first evaluation (every 10 s) finds no errors: INSUFFICIENT_DATA -> OK.
for _ in $(seq 1 150); do [[ "$(alarm_state)" == OK ]] && break; sleep 0.1; done
[[ "$(alarm_state)" == OK ]] || fail "alarm did not reach OK before the fault"

python3 "$E2E_LIB/load.py" "$LB_PORT" "$T/load.json" &
LOAD=$!

# --- the fault: v2-bad at 50%; the alarm must fire and roll it back ----------------------
id=$(api -X POST "$GANTRY_URL/api/v1/deployments" -d '{"service":"web","environment":"staging","ref":"v2-bad"}' |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["id"]) if "id" in d else sys.exit(str(d))')
for _ in $(seq 1 300); do
  [[ "$(field "$id" canary_weight)" == 50 ]] && break
  sleep 0.1
done
[[ "$(field "$id" canary_weight)" == 50 ]] || fail "canary did not reach 50%"
fault=$(date +%s.%N)
alarmed=""
for _ in $(seq 1 300); do
  if [[ -z "$alarmed" && "$(alarm_state)" == ALARM ]]; then alarmed=$(date +%s.%N); fi
  [[ "$(field "$id" state)" == rolled_back ]] && break
  sleep 0.1
done
[[ -n "$alarmed" ]] || alarmed=$(date +%s.%N)
[[ "$(field "$id" state)" == rolled_back ]] || fail "deployment is $(field "$id" state), not rolled back"
field "$id" reason | tee "$T/reason.txt"
grep -q "alarm web-5xx in ALARM" "$T/reason.txt" || fail "reason does not name the alarm"
python3 - "$fault" "$alarmed" <<'PY'
import sys
took = float(sys.argv[2]) - float(sys.argv[1])
print("fault to ALARM: %.1f s (period 10 s)" % took)
# The first whole period of the fault ends at most two periods after it began (it may begin
# mid-period), and load balancer counters reach the monitor every second.
assert took <= 21.5, took
PY
# All traffic is on stable again at once.
for _ in $(seq 1 20); do
  [[ "$(curl -s -H 'Host: web.staging.localhost' "http://127.0.0.1:$LB_PORT/")" == v1 ]] || fail "bad revision still serves"
done
# Errors stop: the alarm goes back to OK.
for _ in $(seq 1 300); do [[ "$(alarm_state)" == OK ]] && break; sleep 0.1; done
[[ "$(alarm_state)" == OK ]] || fail "alarm did not return to OK"
kill "$LOAD"; wait "$LOAD" || true; LOAD=""
cat "$T/load.json"; echo

# --- one signed notification per transition: INSUFFICIENT_DATA->OK, OK->ALARM, ALARM->OK
for _ in $(seq 1 100); do
  [[ $(grep -c '"alarm.state_change"' "$T/hooks.jsonl" 2>/dev/null) -ge 3 ]] && break
  sleep 0.1
done
sleep 1.5  # a duplicate would arrive by now
python3 - "$T/hooks.jsonl" <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
alarm = [e["body"] for e in events if e["event"] == "alarm.state_change"]
states = [a["fields"]["state"] for a in alarm]
assert states == ["OK", "ALARM", "OK"], states
assert all(a["topic"] == "ops" and a["fields"]["alarm"] == "web-5xx" for a in alarm), alarm
runs = [e["body"]["type"] for e in events if e["event"].startswith("run.")]
assert "run.started" in runs and "run.succeeded" in runs, runs
print("notifications:", states, runs)
PY

# --- application logs: query and follow ------------------------------------------------
"$G" logs service/web --env staging --grep ERROR -n 5 | tee "$T/errors.txt"
[[ $(wc -l <"$T/errors.txt") == 5 ]] && grep -q "(stderr) | ERROR v2-bad failed /" "$T/errors.txt" ||
  fail "ERROR lines of the bad revision not found"
rc=0
"$G" logs service/Web 2>/dev/null || rc=$?
[[ $rc == 2 ]] || fail "bad service name: rc=$rc"
"$G" logs service/web -f --since 1s >"$T/follow.txt" &
FOLLOW=$!
sleep 0.5
curl -s -H 'Host: web.staging.localhost' "http://127.0.0.1:$LB_PORT/marker-7f3a" >/dev/null
for _ in $(seq 1 50); do grep -q "marker-7f3a" "$T/follow.txt" && break; sleep 0.1; done
grep -q "v1 GET /marker-7f3a 200" "$T/follow.txt" || fail "logs -f did not show the new line"
kill "$FOLLOW"; FOLLOW=""

# --- run metrics ---------------------------------------------------------------------------
curl -s "$GANTRY_URL/metrics" | grep -E '^gantry_runs_total\{.*project="shop".*result="success"' ||
  fail "gantry_runs_total missing"

# --- definitions survive a restart --------------------------------------------------------
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
start_server
"$G" alarms get web-5xx | tee "$T/get.txt"
grep -q '"source": "api"' "$T/get.txt" && grep -q '"threshold": 3' "$T/get.txt" || fail "alarm lost on restart"
"$G" topics | grep -q "^ops .*webhook .*(signed)" || fail "topic lost on restart"
"$G" alarms delete web-5xx
"$G" topics delete ops
[[ $("$G" alarms | grep -c "web-5xx" || true) == 0 ]] || fail "deleted alarm still listed"
echo "PASS"
