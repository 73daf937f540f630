#!/usr/bin/env bash
# Jobs waiting for a protected environment, end to end: a real server, a real git push of a
# project whose .gantry/environments.yml makes `production` need two approvals; the CLI lists
# the waiting job and gives the first approval (`gantry approve --run`), then Debian's Chromium
# (tests/e2e/dashboard_approval.mjs): a viewer sees "Waiting for approval (1/2) — production"
# without buttons, an operator approves from the run page and watches the job run. A second
# run is rejected from the CLI and fails. Screenshots go to $GANTRY_ARTIFACTS.
set -euo pipefail
G=${GANTRY_BIN:?}
SRC=${GANTRY_SOURCE:?}
CHROMIUM=$(command -v chromium || true)
if [[ -z "$CHROMIUM" || ! -d "$SRC/tests/node/node_modules/playwright-core" ]]; then
  echo "dashboard test needs chromium and playwright-core (scripts/install-deps.sh, tests/setup.sh)"; exit 1
fi
T=$(mktemp -d /tmp/gantry-dashapproval-XXXXXX)
SERVER=""
cleanup() {
  [[ -n "$SERVER" ]] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
export GANTRY_ADMIN_TOKEN=dash-admin-token GANTRY_TOKEN=dash-admin-token
source "$(dirname "$0")/lib/server.sh"
start_gantry_server "$T/data" "$T/server.log"
"$G" project create shop >/dev/null
api() { curl -sS -H "Authorization: Bearer $GANTRY_TOKEN" -H 'Content-Type: application/json' "$@"; }
token() {
  api -d "{\"name\":\"$1\",\"role\":\"$2\"}" "$URL/api/v1/tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}
OPERATOR_TOKEN=$(token olga operator)
VIEWER_TOKEN=$(token vic viewer)
[[ -n "$OPERATOR_TOKEN" && -n "$VIEWER_TOKEN" ]] || { echo "could not create tokens"; exit 1; }

mkdir -p "$T/src/.github/workflows" "$T/src/.gantry"
cat >"$T/src/.gantry/environments.yml" <<'YAML'
environments:
  production:
    required_approvals: 2
    allowed_branches: [main]
YAML
cat >"$T/src/.github/workflows/ci.yml" <<'YAML'
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "built"
  deploy:
    needs: build
    runs-on: ubuntu-latest
    environment: production
    steps:
      - run: echo "deployed to production"
YAML
push() {
  (cd "$T/src" && (git init -q -b main 2>/dev/null || true) && echo "$1" >change.txt && git add -A &&
    git -c user.email=t@t -c user.name=t commit -qm "$1" &&
    git push -q "http://x:${GANTRY_TOKEN}@${URL#http://}/git/shop.git" HEAD:refs/heads/main)
}
# Waits until run $1 has a job waiting for approval; prints `gantry approve --pending`.
wait_gate() {
  for _ in $(seq 1 300); do
    out=$("$G" approve --run "$1" --pending)
    if grep -q '^waiting' <<<"$out"; then echo "$out"; return 0; fi
    sleep 0.1
  done
  echo "run $1 never waited for approval: $out"; cat "$T/server.log"; return 1
}
wait_run() {
  for _ in $(seq 1 300); do
    run=$(api "$URL/api/v1/runs/$1")
    status=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' <<<"$run")
    [[ "$status" == completed ]] && { echo "$run"; return 0; }
    sleep 0.1
  done
  echo "run $1 did not complete: $run"; return 1
}

push "first"
PENDING=$(wait_gate 1)
grep -q 'deploy *production *0/2 approvals' <<<"$PENDING" || { echo "unexpected --pending: $PENDING"; exit 1; }
echo "ok   gantry approve --pending lists the waiting job"
"$G" runs --project shop | grep -q '^1 .* waiting ' || { "$G" runs --project shop; echo "gantry runs does not show the run waiting"; exit 1; }
echo "ok   gantry runs shows the run waiting"
OUT=$("$G" approve --run 1 --comment "CLI says yes")
[[ "$OUT" == *"production approved by admin (GANTRY_ADMIN_TOKEN) (1/2 approvals)"* ]] || { echo "approve: $OUT"; exit 1; }
if "$G" approve --run 1 2>"$T/err"; then echo "a second approval by the same user was taken"; exit 1; fi
grep -q 'already approved' "$T/err" || { cat "$T/err"; exit 1; }
echo "ok   gantry approve --run gives one approval per user"
"$G" approve --help | grep -q -- '--run' || { echo "--help does not tell of --run"; exit 1; }

export ARTIFACTS=${GANTRY_ARTIFACTS:-$SRC/build/test-artifacts/dashboard}
mkdir -p "$ARTIFACTS"
NODE_PATH="$SRC/tests/node/node_modules" CHROMIUM="$CHROMIUM" URL="$URL" RUN=1 \
  OPERATOR_TOKEN="$OPERATOR_TOKEN" VIEWER_TOKEN="$VIEWER_TOKEN" node "$SRC/tests/e2e/dashboard_approval.mjs"
RUN1=$(wait_run 1)
grep -q '"conclusion":"success"' <<<"$RUN1" || { echo "run 1: $RUN1"; exit 1; }
echo "ok   the approved job ran and the run succeeded"

push "second"
wait_gate 2 >/dev/null
OUT=$(GANTRY_TOKEN=$OPERATOR_TOKEN "$G" approve --run 2 --reject --comment "not today")
[[ "$OUT" == "run 2: production rejected by olga" ]] || { echo "reject: $OUT"; exit 1; }
RUN2=$(wait_run 2)
grep -q '"conclusion":"failure"' <<<"$RUN2" || { echo "run 2: $RUN2"; exit 1; }
grep -q 'rejected by olga: not today' <<<"$RUN2" || { echo "run 2 lacks the rejection: $RUN2"; exit 1; }
echo "ok   a rejection from the CLI fails the job"
api "$URL/api/v1/audit" | grep -q '"action":"run.reject"' || { echo "the rejection is not audit-logged"; exit 1; }
echo "ok   decisions are audit-logged"
