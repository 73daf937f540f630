#!/usr/bin/env bash
# `gantry image build` with buildah (chroot isolation, vfs storage) builds a Dockerfile,
# derives the sha-/v-/build-number tags, pushes them to `gantry registry` and prints the
# digest; skopeo reads the pushed image back.
set -euo pipefail
GANTRY_BIN=${GANTRY_BIN:-$(dirname "$0")/../../build/gantry}
for tool in buildah skopeo; do command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }; done
tmp=$(mktemp -d /tmp/gantry-e2e-image.XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  chmod -R u+w "$tmp" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
"$GANTRY_BIN" registry --data "$tmp/data" --listen 127.0.0.1:0 --port-file "$tmp/port" \
  --user op:secret:operator >"$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
reg="127.0.0.1:$(cat "$tmp/port")"
mkdir -p "$tmp/ctx"
echo "built by gantry" >"$tmp/ctx/hello.txt"
printf 'FROM scratch\nCOPY hello.txt /hello.txt\n' >"$tmp/ctx/Dockerfile"

# Bad input: no tags, a malformed version.
if "$GANTRY_BIN" image build "$tmp/ctx" 2>/dev/null; then fail "built without tags"; fi
set +e
"$GANTRY_BIN" image build "$tmp/ctx" --repository "$reg/team/app" --version one 2>/dev/null
[ $? = 2 ] || fail "bad version not a usage error"
set -e

out=$("$GANTRY_BIN" image build "$tmp/ctx" --engine buildah --storage "$tmp/storage" \
  --repository "$reg/team/app" --sha 0123456789abcdef --version 1.2.3 --build-number 42 \
  --push --tls-verify=false --creds op:secret)
echo "$out"
echo "$out" | grep -qx "tags=$reg/team/app:sha-0123456,$reg/team/app:v1.2.3,$reg/team/app:42" || fail "tags line"
digest=$(echo "$out" | sed -n 's/^digest=//p')
[[ "$digest" == sha256:* ]] || fail "no digest"
tags=$(curl -sf -u op:secret "http://$reg/v2/team/app/tags/list")
[ "$tags" = '{"name":"team/app","tags":["42","sha-0123456","v1.2.3"]}' ] || fail "tags: $tags"
got=$(skopeo inspect --tls-verify=false --creds op:secret --format '{{.Digest}}' "docker://$reg/team/app:v1.2.3")
[ "$got" = "$digest" ] || fail "pushed digest $got, printed $digest"
echo PASS
