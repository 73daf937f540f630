#!/usr/bin/env bash
# Deployments in the dashboard end to end: a real gantry server hosting the deployment
# controller, a project whose commits declare a service (.gantry/services.yml, a tiny python
# app), v1 deployed to production and approved through the API, v2 waiting for approval;
# then Debian's Chromium (tests/e2e/dashboard_deploy.mjs): a viewer sees no buttons, an
# operator approves v2 from the page, watches it finish, and rolls back to v1.
# Screenshots go to $GANTRY_ARTIFACTS (default build/test-artifacts/dashboard).
set -euo pipefail
G=${GANTRY_BIN:?}
SRC=${GANTRY_SOURCE:?}
CHROMIUM=$(command -v chromium || true)
if [[ -z "$CHROMIUM" || ! -d "$SRC/tests/node/node_modules/playwright-core" ]]; then
  echo "dashboard test needs chromium and playwright-core (scripts/install-deps.sh, tests/setup.sh)"; exit 1
fi
T=$(mktemp -d /tmp/gantry-dashdeploy-XXXXXX)
SERVER=""
cleanup() {
  [[ -n "$SERVER" ]] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  # Instances and the load balancer outlive the server by design: stop the ones it recorded.
  stop_deployed "$T/data" || true
  sleep 0.3
  rm -rf "$T"
}
trap cleanup EXIT
export GANTRY_ADMIN_TOKEN=dash-admin-token GANTRY_TOKEN=dash-admin-token
source "$(dirname "$0")/lib/server.sh"
LB_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_gantry_server "$T/data" "$T/server.log" --lb-listen "127.0.0.1:$LB_PORT"
"$G" project create shop >/dev/null
api() { curl -sS -H "Authorization: Bearer $GANTRY_TOKEN" -H 'Content-Type: application/json' "$@"; }

mkdir -p "$T/src/.gantry"
sed -n '/^import/,$p' "$SRC/src/deploy/test_app.h" | sed '/^)PY";/,$d' >"$T/src/app.py"
cat >"$T/src/.gantry/services.yml" <<'YML'
services:
  web:
    command: [/usr/bin/python3, app.py]
    instances: 2
    health_check: {path: /health, interval: 100ms, timeout: 80ms, healthy_threshold: 2}
    deregistration_delay: 100ms
    strategy: {type: rolling, max_surge: 1}
environments:
  production: {required_approvals: 1, allowed_branches: [main]}
YML
git_c() { git -c user.email=t@t -c user.name=t "$@"; }
(cd "$T/src" && git init -q -b main && git add -A && git_c commit -qm v1 && git tag v1 &&
  echo "# two" >>app.py && git_c commit -qam v2 && git tag v2 &&
  git push -q "http://x:${GANTRY_TOKEN}@${URL#http://}/git/shop.git" main v1 v2)

# Waits until the service's status JSON contains $1.
wait_status() {
  for _ in $(seq 1 300); do
    api "$URL/api/v1/services/web/production" | grep -q "$1" && return 0
    sleep 0.2
  done
  echo "timed out waiting for $1:"; api "$URL/api/v1/services/web/production"; cat "$T/server.log"; exit 1
}
deploy() {
  api -f -X POST "$URL/api/v1/deployments" \
    -d "{\"project\":\"shop\",\"service\":\"web\",\"environment\":\"production\",\"ref\":\"$1\",\"branch\":\"main\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["revision"])'
}
OLD=$(deploy v1)
[[ -n "$OLD" ]] || { echo "deploying v1 failed"; cat "$T/server.log"; exit 1; }
api -f -X POST "$URL/api/v1/services/web/production/approve" -d '{}' >/dev/null
wait_status "\"stable_revision\":\"$OLD\""
NEW=$(deploy v2)
[[ -n "$NEW" && "$NEW" != "$OLD" ]] || { echo "deploying v2 failed"; exit 1; }
api "$URL/api/v1/deployments?service=web&environment=production" | grep -q waiting_approval

VIEWER_TOKEN=$(api -f -d '{"name":"watcher","role":"viewer"}' "$URL/api/v1/tokens" |
  sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
export ARTIFACTS=${GANTRY_ARTIFACTS:-$SRC/build/test-artifacts/dashboard}
mkdir -p "$ARTIFACTS"
NODE_PATH="$SRC/tests/node/node_modules" CHROMIUM="$CHROMIUM" URL="$URL" ADMIN_TOKEN="$GANTRY_TOKEN" \
  VIEWER_TOKEN="$VIEWER_TOKEN" SERVICE=web ENVIRONMENT=production OLD="$OLD" NEW="$NEW" \
  node "$SRC/tests/e2e/dashboard_deploy.mjs"
# What the page did is what the server holds.
api "$URL/api/v1/services/web/production" | grep -q "\"stable_revision\":\"$OLD\""
echo "ok   the server agrees: $OLD is stable after the rollback from the page"
