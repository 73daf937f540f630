#!/usr/bin/env bash
# `gantry plan` / `gantry apply` against a server: the config of a pushed ref is compared with
# what runs (readable + ~ - lines), applied (the service scales to the new count with real
# processes), and bad input (undeclared environment, unknown ref, viewer token) is refused.
set -euo pipefail
G=${GANTRY_BIN:?}
T=$(mktemp -d /tmp/gantry-plan-server-XXXXXX)
SERVER=""
cleanup() {
  [[ -n "$SERVER" ]] && kill -9 "$SERVER" 2>/dev/null || true
  stop_deployed "$T/data" || true
  sleep 0.3
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -30 "$T/server.log"; exit 1; }

export GANTRY_ADMIN_TOKEN=plan-admin GANTRY_TOKEN=plan-admin
source "$(dirname "$0")/lib/server.sh"
LB_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_gantry_server "$T/data" "$T/server.log" --lb-listen "127.0.0.1:$LB_PORT"
"$G" project create shop >/dev/null
mkdir -p "$T/src/.gantry" "$T/src/app"
cat >"$T/src/app/server.py" <<'PY'
import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
PY
services() {  # INSTANCES
  cat >"$T/src/.gantry/services.yml" <<YML
services:
  web:
    bundle: app
    command: [/usr/bin/python3, server.py]
    instances: $1
    health_check: {path: /, interval: 200ms, timeout: 150ms, healthy_threshold: 2}
    deregistration_delay: 200ms
environments:
  staging: {}
YML
}
commit() {
  (cd "$T/src" && git add -A && git -c user.email=t@t -c user.name=t commit -qm "$1" && git tag "$1" &&
    git push -q "http://x:plan-admin@${GANTRY_URL#http://}/git/shop.git" main "$1")
}
(cd "$T/src" && git init -q -b main)
services 1
commit v1

# Nothing deployed yet: plan says what a first deploy would do.
"$G" plan --env staging | tee "$T/plan0.txt"
grep -q "^+ web: 1 instance(s), rolling; not deployed yet" "$T/plan0.txt" || fail "first plan"
"$G" deploy web --env staging --revision v1 >/dev/null || fail "v1 did not deploy"
"$G" plan --env staging | tee "$T/plan1.txt"
grep -q "^  web: 1 x $(cd "$T/src" && git rev-parse --short=12 v1) (no changes)" "$T/plan1.txt" || fail "no-change plan"
grep -q "^0 change(s) to apply" "$T/plan1.txt" || fail "no-change count"

# A pushed ref that scales web to 3: plan shows it, apply does it.
services 3
commit v2
"$G" plan --env staging --ref v2 | tee "$T/plan2.txt"
grep -q "^~ web: instances 1 -> 3 of" "$T/plan2.txt" && grep -q "^1 change(s) to apply" "$T/plan2.txt" || fail "scale plan"
"$G" apply --env staging --ref v2 | tee "$T/apply.txt"
grep -q "web: 1 -> 3 instances" "$T/apply.txt" || fail "apply output"
count() { curl -s -H "Authorization: Bearer plan-admin" "$GANTRY_URL/api/v1/services/web/staging" |
  python3 -c 'import json,sys; print(sum(1 for i in json.load(sys.stdin)["instances"] if i["health"]=="healthy"))'; }
for _ in $(seq 1 200); do [[ "$(count)" == 3 ]] && break; sleep 0.1; done
[[ "$(count)" == 3 ]] || fail "web did not reach 3 healthy instances"
curl -s -H "Authorization: Bearer plan-admin" "$GANTRY_URL/api/v1/audit" | grep -q '"deploy.apply"' || fail "apply not audited"

# Bad input.
rc=0; "$G" plan --env production 2>"$T/err.txt" || rc=$?
[[ $rc == 2 ]] && grep -q "environment 'production' is not declared" "$T/err.txt" || fail "undeclared env: $rc"
rc=0; "$G" plan --env staging --ref no-such-tag 2>"$T/err.txt" || rc=$?
[[ $rc == 1 ]] && grep -q "revision 'no-such-tag' not found" "$T/err.txt" || fail "unknown ref: $rc $(cat "$T/err.txt")"
viewer=$(curl -s -H "Authorization: Bearer plan-admin" -X POST "$GANTRY_URL/api/v1/tokens" \
  -d '{"name":"watcher","role":"viewer"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
GANTRY_TOKEN=$viewer "$G" plan --env staging >/dev/null || fail "a viewer may plan"
rc=0; GANTRY_TOKEN=$viewer "$G" apply --env staging 2>/dev/null || rc=$?
[[ $rc == 3 ]] || fail "a viewer applied: rc=$rc"
echo PASS
