#!/usr/bin/env bash
# The learning platform deployed by `gantry server` through its REST API, as deploy.yml
# does it: v1 of the four services to staging (then a smoke test through staging's host on
# the load balancer), to production after approval; v2 of the course service rolling in
# staging and as an approved canary in production under load; v3 with its fault flag on
# (20 % of requests fail, /health stays green) rolled back by the canary analysis. The
# load through production's host sees failures only from the bad canary's injected share.
# The example's timings are shortened in the copy (health checks, analysis interval).
set -euo pipefail
G=${GANTRY_BIN:?GANTRY_BIN must point at the gantry binary}
GANTRY_SOURCE=${GANTRY_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$(mktemp -d /tmp/gantry-e2e-example-deploy.XXXXXX)
SERVER="" LOAD=""
cleanup() {
  if [[ -n "$LOAD" ]]; then kill "$LOAD" 2>/dev/null || true; fi
  if [[ -n "$SERVER" ]]; then
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
  fi
  # The load balancer and the instances outlive the server on purpose: stop them here.
  stop_deployed "$T/data" || true
  sleep 0.3
  [[ -n "${KEEP:-}" ]] || rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f "$T/server.log" ]] && tail -20 "$T/server.log" >&2; exit 1; }

export GANTRY_ADMIN_TOKEN=lp-admin GANTRY_TOKEN=lp-admin
# shellcheck source=tests/e2e/lib/server.sh
source "$(dirname "$0")/lib/server.sh"
LB_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_gantry_server "$T/data" "$T/server.log" --lb-listen "127.0.0.1:$LB_PORT"
STAGING="http://staging.learn.localhost:$LB_PORT" PRODUCTION="http://learn.localhost:$LB_PORT"
api() { curl -sS -H "Authorization: Bearer lp-admin" -H 'Content-Type: application/json' "$@"; }

"$G" project create learning-platform >/dev/null 2>&1
cp -r "$GANTRY_SOURCE/examples/learning-platform" "$T/src"
find "$T/src" -name __pycache__ -prune -exec rm -rf {} +
# Shorter waits than the example's (the same behaviour, in test time).
sed -i -e 's/^      interval: 2s$/      interval: 300ms/' -e 's/^      timeout: 1s$/      timeout: 250ms/' \
  -e 's/^      interval: 10s$/      interval: 2s/' -e 's/^      count: 3$/      count: 2/' \
  -e 's/^      min_requests: 10$/      min_requests: 3/' -e 's/deregistration_delay: 2s/deregistration_delay: 300ms/' \
  "$T/src/.gantry/services.yml"
grep -q 'interval: 300ms' "$T/src/.gantry/services.yml" || fail "could not shorten the health checks"
repo="http://x:lp-admin@${GANTRY_URL#http://}/git/learning-platform.git"
git -C "$T/src" init -q -b main
push() {  # MESSAGE: commit everything and push main
  git -C "$T/src" add -A
  git -C "$T/src" -c user.email=ci@example.com -c user.name=ci commit -qm "$1"
  git -C "$T/src" push -q "$repo" main
}
deploy() {  # SERVICE ENV [STRATEGY]: prints the deployment id
  local body="{\"service\":\"$1\",\"environment\":\"$2\",\"ref\":\"main\",\"project\":\"learning-platform\""
  body+="${3:+,\"strategy\":\"$3\"}}"
  api -X POST "$GANTRY_URL/api/v1/deployments" -d "$body" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["id"]) if "id" in d else sys.exit(str(d))'
}
show() { api "$GANTRY_URL/api/v1/deployments/$1"; }
wait_state() {  # ID STATE...: bounded wait until the deployment is in one of the states
  local id=$1 s=""
  shift
  for _ in $(seq 1 1500); do
    s=$(show "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
    for want in "$@"; do [[ "$s" == "$want" ]] && return 0; done
    sleep 0.1
  done
  show "$id"
  fail "deployment $id is $s, wanted $*"
}
approve() { api -X POST "$GANTRY_URL/api/v1/services/$1/production/approve" -d '{}' >/dev/null; }
release() {  # SERVICE [STRATEGY]: staging, then production after approval; prints nothing
  local id
  id=$(deploy "$1" staging "${2:-}")
  wait_state "$id" succeeded
}
to_production() {  # SERVICE -> waits for the approval, approves, prints the id
  local id
  id=$(deploy "$1" production)
  wait_state "$id" waiting_approval
  approve "$1"
  echo "$id"
}

# v1: staging, smoke test, production.
push "v1"
for s in user auth course frontend; do release "$s"; done
bash "$T/src/tools/smoke.sh" "$STAGING" "$(git -C "$T/src" rev-parse HEAD)" >"$T/smoke-staging.log" ||
  { cat "$T/smoke-staging.log"; fail "staging smoke test"; }
for s in user auth course frontend; do wait_state "$(to_production "$s")" succeeded; done
bash "$T/src/tools/smoke.sh" "$PRODUCTION" >"$T/smoke-production.log" ||
  { cat "$T/smoke-production.log"; fail "production smoke test"; }

# Load through production's host for the rest.
python3 "$T/src/tools/traffic.py" "$PRODUCTION" --rate 40 --duration 0 --interval 5 >"$T/traffic.log" 2>&1 &
LOAD=$!

# v2 of course: rolling in staging, then an approved canary in production.
sed -i 's/"Canary releases in practice"/"Canary releases, hands on"/' "$T/src/services/course/app.py"
push "v2"
v2=$(git -C "$T/src" rev-parse --short=12 HEAD)
release course rolling
id=$(to_production course)
wait_state "$id" succeeded
curl -fsS "$PRODUCTION/api/courses/2" | grep -q 'hands on' || fail "production does not serve v2"

# v3: the fault flag on; the canary analysis fails and rolls it back.
echo '{"fail_percent": 20, "unhealthy": false}' >"$T/src/services/course/flags.json"
push "v3: risky"
id=$(to_production course)
wait_state "$id" rolled_back
show "$id" | grep -q 'analysis failed' || { show "$id"; fail "not rolled back by the analysis"; }
rev=$(curl -fsS "$PRODUCTION/api/courses/version" | python3 -c 'import json,sys; print(json.load(sys.stdin)["revision"])')
[[ "$v2" == "$rev"* || "$rev" == "$v2"* ]] || fail "production runs $rev after the rollback, want $v2"

kill "$LOAD"
wait "$LOAD" || true
LOAD=""
report=$(tail -1 "$T/traffic.log")
echo "load through production: $report"
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["other_failed"] == 0 and r["requests"] > 0 else 1)' \
  "$report" || fail "requests failed other than by the bad canary's injected share"
echo PASS
