#!/usr/bin/env bash
# `gantry image build` with buildah (chroot isolation, vfs storage) builds a Dockerfile,
# derives the sha-/v-/build-number tags, pushes them to `gantry registry` and prints the
# digest; skopeo reads the pushed image back. Then the same through the workflow action
# `uses: gantry/build-image@v1` under `gantry run`, whose outputs a later step reads.
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

# The workflow action. A repository that is not a git checkout: github.sha is all zeros,
# so the action tags the explicit tag, then sha-0000000, v2.0.0 and the run number (1).
mkdir -p "$tmp/repo/.github/workflows" "$tmp/repo/app"
cp "$tmp/ctx/hello.txt" "$tmp/repo/app/"
printf 'FROM scratch\nCOPY hello.txt /hello.txt\n' >"$tmp/repo/app/Containerfile"
cat >"$tmp/repo/.github/workflows/image.yml" <<YML
on: push
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - id: build
        uses: gantry/build-image@v1
        with:
          context: app
          file: app/Containerfile
          repository: $reg/team/action
          version: 2.0.0
          tags: $reg/team/action:latest
          engine: buildah
          tls-verify: false
          creds: \${{ secrets.REGISTRY_CREDS }}
      - run: |
          echo "tags=\${{ steps.build.outputs.tags }}"
          echo "digest=\${{ steps.build.outputs.digest }}"
          echo "image=\${{ steps.build.outputs.image }}"
  broken:
    runs-on: ubuntu-latest
    steps:
      - uses: gantry/build-image@v1
        with:
          context: app
YML
set +e
(cd "$tmp/repo" && "$GANTRY_BIN" run . -j image --secret REGISTRY_CREDS=op:secret --store "$tmp/store") >"$tmp/run.log" 2>&1
rc=$?
set -e
[ $rc = 0 ] || { cat "$tmp/run.log"; fail "workflow with gantry/build-image failed"; }
grep -q "tags=$reg/team/action:latest,$reg/team/action:sha-0000000,$reg/team/action:v2.0.0,$reg/team/action:1" "$tmp/run.log" ||
  { cat "$tmp/run.log"; fail "step outputs: tags"; }
adigest=$(skopeo inspect --tls-verify=false --creds op:secret --format '{{.Digest}}' "docker://$reg/team/action:latest")
grep -q "digest=$adigest" "$tmp/run.log" || { cat "$tmp/run.log"; fail "step outputs: digest $adigest"; }
grep -q "image=$reg/team/action@$adigest" "$tmp/run.log" || fail "step outputs: image"
grep -q "op:secret" "$tmp/run.log" && fail "the registry credentials leaked into the log"
# Without a server and without a repository the action says what is missing.
if (cd "$tmp/repo" && "$GANTRY_BIN" run . -j broken --store "$tmp/store") >"$tmp/broken.log" 2>&1; then
  fail "the action ran without an image name"
fi
grep -q "input 'image' (NAME, e.g. team/app) or 'repository' (REGISTRY/NAME) is required" "$tmp/broken.log" ||
  { cat "$tmp/broken.log"; fail "no clear error"; }
echo PASS
