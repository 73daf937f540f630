#!/usr/bin/env bash
# A workflow step's run token (GANTRY_TOKEN, as gantry server gives its steps) may push to
# the server's registry while the run runs (CI pushes the images it builds without a
# stored credential) and is refused once the run has ended; deleting stays refused.
set -euo pipefail
G=${GANTRY_BIN:?}
T=$(mktemp -d /tmp/gantry-run-token-registry-XXXXXX)
SERVER=""
cleanup() {
  if [[ -n "$SERVER" ]]; then
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
  fi
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -20 "$T/server.log"; exit 1; }

export GANTRY_ADMIN_TOKEN=rt-admin GANTRY_TOKEN=rt-admin
# shellcheck source=tests/e2e/lib/server.sh
source "$(dirname "$0")/lib/server.sh"
start_gantry_server "$T/data" "$T/server.log"
"$G" project create rt >/dev/null 2>&1
mkdir -p "$T/src/.github/workflows"
# The step pushes one blob with its token, deletes it (refused), and leaves the token
# where the test reads it after the run.
cat >"$T/src/.github/workflows/push.yml" <<YAML
on: push
jobs:
  push:
    runs-on: ubuntu-latest
    steps:
      - run: |
          printf '%s' "\$GANTRY_TOKEN" > "$T/token"
          digest=sha256:\$(printf layer | sha256sum | cut -d' ' -f1)
          code=\$(curl -s -o /dev/null -w '%{http_code}' -u "x:\$GANTRY_TOKEN" -X POST --data-binary layer \\
            -H 'Content-Type: application/octet-stream' "\$GANTRY_URL/v2/rt/app/blobs/uploads/?digest=\$digest")
          echo "push: \$code"
          test "\$code" = 201
          code=\$(curl -s -o /dev/null -w '%{http_code}' -u "x:\$GANTRY_TOKEN" -X DELETE \\
            "\$GANTRY_URL/v2/rt/app/blobs/\$digest")
          echo "delete: \$code"
          test "\$code" = 401 -o "\$code" = 403
YAML
git -C "$T/src" init -q -b main
git -C "$T/src" add -A
git -C "$T/src" -c user.email=ci@example.com -c user.name=ci commit -qm push
git -C "$T/src" push -q "http://x:rt-admin@${GANTRY_URL#http://}/git/rt.git" main
result=""
for _ in $(seq 1 300); do
  result=$("$G" runs -p rt 2>/dev/null | awk '$4 == "push" || NR == 2 {print $5, $6}' | head -1)
  [[ "$result" == completed* ]] && break
  sleep 0.1
done
[[ "$result" == "completed success" ]] || { "$G" logs 1 || true; fail "the run: $result"; }
digest=sha256:$(printf layer | sha256sum | cut -d' ' -f1)
curl -sf -o /dev/null -u x:rt-admin "$GANTRY_URL/v2/rt/app/blobs/$digest" || fail "the pushed blob is not there"
token=$(cat "$T/token")
[[ "$token" == gtr_* ]] || fail "the step did not get a run token"
code=$(curl -s -o /dev/null -w '%{http_code}' -u "x:$token" "$GANTRY_URL/v2/rt/app/blobs/$digest")
[[ "$code" == 401 ]] || fail "the run token still works after the run: $code"
echo PASS
