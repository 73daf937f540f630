#!/usr/bin/env bash
# gantry plan/apply/deploy/status/history/rollback/approve against a local data dir with real
# instances (a python HTTP app). Instances outlive each CLI process and are re-adopted by the next.
set -euo pipefail
G=${GANTRY_BIN:?}
T=$(mktemp -d)
cleanup() {
  # Stop every instance this test started (recorded in the data dir).
  for f in "$T"/data/instances/*.json; do
    [ -f "$f" ] || continue
    pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$f")
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  sleep 0.3
  rm -rf "$T"
}
trap cleanup EXIT
cd "$T"
mkdir .gantry
sed -n '/^import/,$p' "$GANTRY_SOURCE/src/deploy/test_app.h" | sed '/^)PY";/,$d' > app.py
write_config() {
  cat > .gantry/services.yml <<YML
services:
  web:
    command: [/usr/bin/python3, app.py]
    instances: $1
    health_check: {path: /health, interval: 100ms, timeout: 80ms, healthy_threshold: 2}
    deregistration_delay: 100ms
    strategy: {type: rolling, max_surge: 1}
environments:
  staging: {}
  production: {required_approvals: 1, allowed_branches: [main]}
YML
}
write_config 2
export GANTRY_DATA="$T/data"

"$G" plan --env staging | tee out.txt
grep -q '^+ web: 2 instance(s), rolling; not deployed yet' out.txt

"$G" deploy web --revision v1 --env staging | tee out.txt
grep -q 'deployment 1: succeeded' out.txt
"$G" deploy web --revision v2 --env staging | tee out.txt
grep -q 'deployment 2: succeeded' out.txt

# The instances outlived the CLI process: ask one directly.
port=$("$G" status web --env staging | awk '/127.0.0.1:/ {print $3}' | head -1 | cut -d: -f2)
[ "$(curl -s "http://127.0.0.1:$port/")" = v2 ]

write_config 3
"$G" plan --env staging | tee out.txt
grep -q '^~ web: instances 2 -> 3 of v2' out.txt
"$G" apply --env staging | tee out.txt
grep -q '1 change(s) applied' out.txt
"$G" status web --env staging | tee out.txt
[ "$(grep -c " v2 .*127.0.0.1" out.txt)" = 3 ]

"$G" rollback web --env staging | tee out.txt
grep -q 'succeeded' out.txt
"$G" status web --env staging | tee out.txt
grep -q 'stable v1' out.txt
"$G" history web --env staging | tee out.txt
[ "$(grep -c succeeded out.txt)" = 4 ]

# A deploying command killed with SIGKILL mid-rollout: the next command resumes it from the
# stored state and re-adopts the instances already started.
"$G" deploy web --revision v5 --env staging > killed.txt &
pid=$!
for _ in $(seq 1 500); do grep -q 'started .*(v5)' killed.txt && break; sleep 0.01; done
kill -9 $pid; wait $pid 2>/dev/null || true
"$G" status web --env staging | tee out.txt
grep -q 'active: deployment 5 of v5: running' out.txt
"$G" deploy web --env staging | tee out.txt
grep -q 'resuming deployment 5 of v5' out.txt
grep -q 'deployment 5: succeeded' out.txt
"$G" status web --env staging | tee out.txt
[ "$(grep -c " v5 .*127.0.0.1" out.txt)" = 3 ]
[ "$(grep -c "127.0.0.1" out.txt)" = 3 ]

# Protection rules: branch, then approval.
if "$G" deploy web --revision v3 --env production --branch feature/x 2>err.txt; then exit 1; fi
grep -q "branch 'feature/x' may not deploy to production" err.txt
"$G" deploy web --revision v3 --env production --branch main | tee out.txt
grep -q 'deployment 6: waiting_approval' out.txt
"$G" approve web --env production --user alice | tee out.txt
grep -q 'succeeded' out.txt

# Invalid config: exit 2 with file:line:col.
printf 'services:\n  web:\n    command: x\n    instances: lots\n' > .gantry/services.yml
if "$G" plan 2>err.txt; then exit 1; else [ $? = 2 ]; fi
grep -q '.gantry/services.yml:4:16: instances must be an integer' err.txt

# gantry down stops a standalone data dir's instances too.
pids=$(for f in data/instances/*.json; do python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$f"; done)
[ -n "$pids" ]
"$G" down --data data | tee out.txt
grep -q 'stopped [1-9][0-9]* instance(s)' out.txt
for p in $pids; do  # gone, or a zombie nobody reaped yet
  if [ -e "/proc/$p/stat" ] && [ "$(sed 's/.*) //' "/proc/$p/stat" | cut -c1)" != Z ]; then echo "instance $p still runs"; exit 1; fi
done
echo OK
