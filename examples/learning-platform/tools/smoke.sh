#!/usr/bin/env bash
# Smoke test of a deployed environment through its load balancer:
#   tools/smoke.sh http://127.0.0.1:PORT [COMMIT [SERVICES]]
# Every service answers /health and /version under its listener path, the frontend's page
# shows the courses with no backend missing, and (with COMMIT) the services just deployed
# run it: SERVICES (comma-separated, default all four), the others keep their revision.
set -euo pipefail
base="${1:?usage: smoke.sh BASE_URL [COMMIT [SERVICES]]}"
base="${base%/}"
want_commit="${2:-}"
deployed=",${3:-user,auth,course,frontend},"
fail=0
for service in user auth course frontend; do
  case "$service" in user) prefix=/api/users ;; auth) prefix=/api/auth ;; course) prefix=/api/courses ;; *) prefix="" ;; esac
  want=""
  case "$deployed" in *",$service,"*) want="$want_commit" ;; esac
  if ! curl -fsS --max-time 5 "$base$prefix/health" >/dev/null; then
    echo "FAIL $base$prefix/health"
    fail=1
    continue
  fi
  info=$(curl -fsS --max-time 5 "$base$prefix/version")
  echo "ok   ${prefix:-/}: $info"
  if [ -n "$want" ]; then
    commit=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["revision"] or d["commit"])' <<<"$info")
    # Either may be abbreviated (Gantry names revisions by a short commit id).
    case "$want" in "$commit"*) ;; *)
      case "$commit" in "$want"*) ;; *) echo "FAIL ${prefix:-/} runs $commit, expected $want"; fail=1 ;; esac ;;
    esac
  fi
done
summary=$(curl -fsS --max-time 5 "$base/summary")
python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(1 if d["degraded"] or not d["courses"] else 0)' \
  <<<"$summary" || { echo "FAIL /summary: $summary"; fail=1; }
[ "$fail" = 0 ] && echo "smoke test passed: $base"
exit "$fail"
