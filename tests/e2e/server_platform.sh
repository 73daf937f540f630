#!/usr/bin/env bash
# `gantry server` hosts the registry and the monitor beside CI: skopeo pushes an image to
# /v2/ with an operator token and pulls it back bit-identical, a viewer token may pull but
# not push, /metrics answers in Prometheus format, and the monitor's API wants a token.
set -euo pipefail
G=${GANTRY_BIN:?}
for tool in skopeo umoci curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/deps.d/registry.list)"; exit 1; }
done
T=$(mktemp -d /tmp/gantry-platform-XXXXXX)
SERVER=""
cleanup() {
  [[ -n "$SERVER" ]] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -20 "$T/server.log"; exit 1; }

export GANTRY_ADMIN_TOKEN=platform-admin
source "$(dirname "$0")/lib/server.sh"
start_gantry_server "$T/data" "$T/server.log"
HOSTPORT=${URL#http://}
api() { curl -sf -H "Authorization: Bearer $GANTRY_ADMIN_TOKEN" -H 'Content-Type: application/json' "$@"; }
OP=$(api -X POST "$URL/api/v1/tokens" -d '{"name":"ci","role":"operator"}' | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
VIEW=$(api -X POST "$URL/api/v1/tokens" -d '{"name":"ro","role":"viewer"}' | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[[ -n "$OP" && -n "$VIEW" ]] || fail "could not create tokens"

cd "$T"
umoci init --layout img >/dev/null
umoci new --image img:v1 >/dev/null
mkdir -p layer/opt && head -c 300000 /dev/urandom >layer/opt/data.bin && echo hello >layer/opt/hello.txt
umoci insert --image img:v1 layer/opt /opt >/dev/null
sk=(skopeo --insecure-policy)
"${sk[@]}" copy --dest-tls-verify=false --dest-creds "x:$OP" oci:img:v1 "docker://$HOSTPORT/team/app:v1" >/dev/null ||
  fail "operator push"
"${sk[@]}" copy --src-tls-verify=false --src-creds "x:$VIEW" "docker://$HOSTPORT/team/app:v1" oci:back:v1 >/dev/null ||
  fail "viewer pull"
# Every blob pulled back (manifest, config, layer) is byte-identical to the one pushed; umoci's
# layout also keeps superseded blobs that v1 does not reference.
n=0
for blob in back/blobs/sha256/*; do
  cmp -s "$blob" "img/blobs/sha256/$(basename "$blob")" || fail "blob $(basename "$blob") differs after the round trip"
  n=$((n + 1))
done
[[ $n -ge 3 ]] || fail "only $n blobs came back"
echo "ok   push with an operator token and pull with a viewer token round-trip bit-identical"
if "${sk[@]}" copy --dest-tls-verify=false --dest-creds "x:$VIEW" oci:img:v1 "docker://$HOSTPORT/team/app:v2" \
  >/dev/null 2>&1; then
  fail "a viewer token pushed"
fi
echo "ok   a viewer token may not push"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v2/team/app/tags/list")
[[ $code == 401 ]] || fail "anonymous tags list answered $code"
echo "ok   anonymous registry requests get 401"

curl -sf "$URL/metrics" >"$T/metrics.txt" || fail "/metrics"
grep -q '^# TYPE ' "$T/metrics.txt" || fail "/metrics is not Prometheus text"
echo "ok   /metrics answers in the Prometheus format"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/alarms")
[[ $code == 401 ]] || fail "alarms without a token answered $code"
api "$URL/api/v1/alarms" >/dev/null || fail "alarms with a token"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $VIEW" -X POST "$URL/api/v1/metrics" \
  --data-binary 'deploys:1|c')
[[ $code == 403 ]] || fail "a viewer pushed metrics ($code)"
curl -sf -H "Authorization: Bearer $OP" -X POST "$URL/api/v1/metrics" --data-binary 'deploys:1|c' >/dev/null ||
  fail "operator metrics push"
echo "ok   the monitor API wants a token: viewers read, operators push"
echo "server platform: all checks passed"
