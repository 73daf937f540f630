#!/usr/bin/env bash
# The example project's CI runs locally: `gantry run` of examples/learning-platform (a copy,
# as its own git repository on main) succeeds with lint, the unit matrix, the security scan
# and the integration test (the services on loopback ports, also behind `gantry lb`), and
# skips the image and deploy jobs because no server is known. A copy with a failing unit
# test in the course service and a planted access key fails exactly unit (course) and
# security. Its .gantry/ declarations read without errors for both environments, and every
# service deploys from its bundle on the local fleet (`gantry deploy`, standalone) and
# reports the revision and environment it was started as.
set -euo pipefail
: "${GANTRY_BIN:?GANTRY_BIN must point at the gantry binary}"
GANTRY_SOURCE=${GANTRY_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
unset GANTRY_URL GANTRY_TOKEN
tmp=$(mktemp -d /tmp/gantry-e2e-example.XXXXXX)
cleanup() {
  # Stop the instances the deploy check started: converge to a declaration without services.
  if [ -d "$tmp/deploy-data/instances" ]; then
    mkdir -p "$tmp/none"
    printf 'services: {}\nenvironments:\n  staging: {}\n' >"$tmp/none/services.yml"
    (cd "$tmp/good" && "$GANTRY_BIN" apply -f "$tmp/none" --data "$tmp/deploy-data" >/dev/null 2>&1) || true
  fi
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

copy() {  # copy DIR: the example as a fresh repository on main
  cp -r "$GANTRY_SOURCE/examples/learning-platform" "$1"
  find "$1" -name __pycache__ -prune -exec rm -rf {} +
  git -C "$1" init -q -b main
  git -C "$1" add -A
  git -C "$1" -c user.email=ci@example.com -c user.name=ci commit -qm "learning platform"
}

# results FILE: "job(matrix) result" lines from the run_finished event of `gantry run --json`.
results() {
  python3 - "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    event = json.loads(line)
    if event.get("type") == "run_finished":
        for job in event["jobs"]:
            matrix = ",".join("%s=%s" % kv for kv in sorted(job["matrix"].items()))
            print("%s(%s) %s" % (job["job_id"], matrix, job["result"]))
PY
}

expect() {  # expect FILE "job(matrix) result"...
  local all
  all=$(results "$1")
  shift
  for want in "$@"; do
    grep -qxF "$want" <<<"$all" || { echo "$all"; fail "expected '$want'"; }
  done
}

# 1. The declared services and environments read cleanly.
copy "$tmp/good"
for env in staging production; do
  out=$("$GANTRY_BIN" plan -f "$tmp/good/.gantry" --data "$tmp/deploy-data" --env "$env") ||
    fail "gantry plan --env $env: $out"
  for s in frontend user auth course; do
    grep -q "^+ $s: " <<<"$out" || fail "plan --env $env does not list $s: $out"
  done
done

# 2. Each service runs from its bundle as declared (command, PORT, health check).
for s in user auth course frontend; do
  out=$(cd "$tmp/good" && "$GANTRY_BIN" deploy "$s" --revision r1 --data "$tmp/deploy-data" 2>&1) ||
    fail "gantry deploy $s: $out"
  addr=$(cd "$tmp/good" && "$GANTRY_BIN" status "$s" --data "$tmp/deploy-data" | awk '$2 == "r1" && $4 == "healthy" {print $3; exit}')
  [ -n "$addr" ] || fail "no healthy instance of $s: $(cd "$tmp/good" && "$GANTRY_BIN" status "$s" --data "$tmp/deploy-data")"
  version=$(curl -fsS "http://$addr/version")
  grep -q "\"service\": \"$s\", .*\"revision\": \"r1\", \"environment\": \"staging\"" <<<"$version" ||
    fail "$s /version: $version"
done

# 3. The good copy: every check passes, publishing is skipped.
(cd "$tmp/good" && "$GANTRY_BIN" run . --json >"$tmp/good.json" 2>"$tmp/good.err") ||
  { python3 -c 'import json,sys; [print(e["job"], "|", e["text"]) for e in map(json.loads, open(sys.argv[1]))
      if e.get("type") == "line"]' "$tmp/good.json" | tail -80; cat "$tmp/good.err"; fail "gantry run of the example failed"; }
expect "$tmp/good.json" "lint() success" "security() success" "meta() success" "integration() success" \
  "unit(service=user) success" "unit(service=auth) success" "unit(service=course) success" \
  "unit(service=frontend) success" "images() skipped" "deploy() skipped"
# The integration test ran against real processes, including through gantry lb.
grep -q 'test_enrol_through_the_load_balancer' "$tmp/good.json" || fail "the load balancer test did not run"
grep -q 'skipped' <(grep -F 'ThroughTheLoadBalancerTest' "$tmp/good.json") && fail "the load balancer test was skipped"

# 4. A broken copy: a catalogue bug (the unit test expects 20 seats) and a leaked key.
copy "$tmp/bad"
sed -i 's/"seats": 20}/"seats": 21}/' "$tmp/bad/services/course/app.py"
grep -q '"seats": 21}' "$tmp/bad/services/course/app.py" || fail "could not break the course service"
echo 'BACKUP_KEY = "AKIA''ABCDEFGHIJKLMNOP"' >>"$tmp/bad/services/user/app.py"
git -C "$tmp/bad" -c user.email=ci@example.com -c user.name=ci commit -qam "break it"
set +e
(cd "$tmp/bad" && "$GANTRY_BIN" run . --json >"$tmp/bad.json" 2>"$tmp/bad.err")
rc=$?
set -e
[ "$rc" = 1 ] || { cat "$tmp/bad.err"; fail "broken copy: exit $rc, want 1"; }
expect "$tmp/bad.json" "unit(service=course) failure" "security() failure" "lint() success" \
  "unit(service=user) success" "unit(service=frontend) success" "integration() skipped" "images() skipped"
grep '"type":"annotation"' "$tmp/bad.json" | grep '"file":"services/user/app.py"' |
  grep -q 'possible secret: AWS access key id' ||
  fail "the security scan did not name the leaked key"
grep -q 'test_catalogue' "$tmp/bad.json" || fail "the failing unit test is not in the log"
echo PASS
