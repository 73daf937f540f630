#!/usr/bin/env bash
# Smoke test of a deployed environment through its load balancer:
#   tools/smoke.sh http://127.0.0.1:PORT [COMMIT]
# Every service answers /health and /version under its listener path, the frontend's page
# shows the courses with no backend missing, and (with COMMIT) every service runs it.
set -euo pipefail
base="${1:?usage: smoke.sh BASE_URL [COMMIT]}"
base="${base%/}"
want="${2:-}"
fail=0
for prefix in /api/users /api/auth /api/courses ""; do
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
