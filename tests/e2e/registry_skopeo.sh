#!/usr/bin/env bash
# Real clients against `gantry registry` on 127.0.0.1: skopeo pushes an image made with umoci
# (OCI and Docker schema 2 manifests), pulls it back bit-identical, copies it across
# repositories (blob mount), buildah pulls and pushes it, credentials decide pull/push, and
# the garbage collector applies a lifecycle policy.
set -euo pipefail
GANTRY_BIN=${GANTRY_BIN:-$(dirname "$0")/../../build/gantry}
for tool in skopeo umoci curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/deps.d/registry.list)"; exit 1; }
done
tmp=$(mktemp -d /tmp/gantry-e2e-registry.XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  # buildah's vfs storage may hold read-only directories
  chmod -R u+w "$tmp" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/server.log" ] && tail -20 "$tmp/server.log"; exit 1; }

"$GANTRY_BIN" registry --data "$tmp/data" --listen 127.0.0.1:0 --port-file "$tmp/port" \
  --user op:secret:operator --user ro:view:viewer >"$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || fail "registry did not start"
reg="127.0.0.1:$(cat "$tmp/port")"
echo "registry at $reg"

# A two-layer image, no daemon needed.
cd "$tmp"
umoci init --layout img
umoci new --image img:v1
mkdir -p l1/opt l2/srv
head -c 2000000 /dev/urandom >l1/opt/data.bin
echo "hello from gantry" >l2/srv/hello.txt
umoci insert --image img:v1 l1/opt /opt
umoci insert --image img:v1 l2/srv /srv

sk=(skopeo --insecure-policy)
# Pushing needs operator credentials.
if "${sk[@]}" copy -q --dest-tls-verify=false oci:img:v1 "docker://$reg/team/app:v1" 2>/dev/null; then
  fail "anonymous push accepted"
fi
if "${sk[@]}" copy -q --dest-tls-verify=false --dest-creds ro:view oci:img:v1 "docker://$reg/team/app:v1" 2>/dev/null; then
  fail "viewer push accepted"
fi
"${sk[@]}" copy -q --dest-tls-verify=false --dest-creds op:secret oci:img:v1 "docker://$reg/team/app:v1" ||
  fail "push"

# Pull back: the manifest and every blob it references are bit-identical.
"${sk[@]}" copy -q --src-tls-verify=false --src-creds ro:view "docker://$reg/team/app:v1" oci:out:v1 || fail "pull"
want=$(python3 -c 'import json,sys; print(json.load(open("img/index.json"))["manifests"][0]["digest"])')
got=$(python3 -c 'import json,sys; print(json.load(open("out/index.json"))["manifests"][0]["digest"])')
[ "$want" = "$got" ] || fail "manifest digest changed: $want -> $got"
n=0
for b in out/blobs/sha256/*; do cmp -s "$b" "img/blobs/sha256/$(basename "$b")" || fail "blob $b differs"; n=$((n + 1)); done
[ "$n" = 4 ] || fail "expected 4 blobs (manifest, config, 2 layers), got $n"
echo "push/pull round trip bit-identical ($n blobs)"

# Docker schema 2, converted by skopeo on push, read back as such.
"${sk[@]}" copy -q --dest-tls-verify=false --dest-creds op:secret --format v2s2 oci:img:v1 "docker://$reg/team/app:docker" ||
  fail "push v2s2"
raw=$("${sk[@]}" inspect --raw --tls-verify=false --creds ro:view "docker://$reg/team/app:docker")
echo "$raw" | grep -q 'application/vnd.docker.distribution.manifest.v2+json' || fail "not a docker manifest: $raw"
"${sk[@]}" copy -q --src-tls-verify=false --src-creds ro:view "docker://$reg/team/app:docker" dir:dockerdir || fail "pull v2s2"

# Registry to registry: layers are mounted, not re-uploaded.
"${sk[@]}" copy -q --src-tls-verify=false --dest-tls-verify=false --src-creds ro:view --dest-creds op:secret \
  "docker://$reg/team/app:v1" "docker://$reg/team/copy:v1" || fail "copy across repositories"
tags=$(curl -sf -u ro:view "http://$reg/v2/team/app/tags/list")
[ "$tags" = '{"name":"team/app","tags":["docker","v1"]}' ] || fail "tags: $tags"
cat=$(curl -sf -u ro:view "http://$reg/v2/_catalog")
[ "$cat" = '{"repositories":["team/app","team/copy"]}' ] || fail "catalog: $cat"

# Bad input through the wire: a wrong digest is refused with the spec's error.
code=$(curl -s -o body.json -w '%{http_code}' -u op:secret -X POST --data-binary 'abc' \
  "http://$reg/v2/team/app/blobs/uploads/?digest=sha256:$(printf x | sha256sum | cut -d' ' -f1)")
[ "$code" = 400 ] && grep -q DIGEST_INVALID body.json || fail "wrong digest: $code $(cat body.json)"
code=$(curl -s -o body.json -w '%{http_code}' -u op:secret -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
  --data-binary '{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:'"$(printf y | sha256sum | cut -d' ' -f1)"'","size":1},"layers":[]}' \
  "http://$reg/v2/team/app/manifests/broken")
[ "$code" = 400 ] && grep -q MANIFEST_BLOB_UNKNOWN body.json || fail "missing blob: $code $(cat body.json)"

# Names that try to leave the data directory never reach the disk.
for path in "/v2/../../etc/tags/list" "/v2/a/%2e%2e/%2e%2e/b/tags/list" "/v2/A/tags/list" "/v2/a/../b/manifests/v1"; do
  code=$(curl -s --path-as-is -o body.json -w '%{http_code}' -u ro:view "http://$reg$path")
  case "$code" in 400|404) ;; *) fail "$path answered $code: $(cat body.json)" ;; esac
done

# buildah (vfs storage, no daemon) pulls and pushes through the same registry.
if command -v buildah >/dev/null; then
  ba=(buildah --storage-driver vfs --root "$tmp/storage" --runroot "$tmp/run")
  "${ba[@]}" pull -q --tls-verify=false --creds ro:view "$reg/team/app:v1" >/dev/null || fail "buildah pull"
  "${ba[@]}" push -q --tls-verify=false --creds op:secret "$reg/team/app:v1" "docker://$reg/team/built:v1" ||
    fail "buildah push"
  "${sk[@]}" inspect --raw --tls-verify=false --creds ro:view "docker://$reg/team/built:v1" >/dev/null ||
    fail "buildah's push not readable"
  echo "buildah pull/push ok"
fi

# A crash mid-push (SIGKILL) never leaves a partial blob visible; the push then succeeds.
mkdir -p big/data
head -c 40000000 /dev/urandom >big/data/big.bin
umoci insert --image img:v1 big/data /big
"${sk[@]}" copy -q --dest-tls-verify=false --dest-creds op:secret oci:img:v1 "docker://$reg/team/crash:v1" 2>/dev/null &
copy=$!
for _ in $(seq 200); do
  [ -n "$(ls -A "$tmp/data/blobs/uploads" 2>/dev/null)" ] && break
  sleep 0.01
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
wait "$copy" 2>/dev/null || true
for f in "$tmp"/data/blobs/blobs/sha256/*/*; do
  [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || fail "partial blob visible after crash: $f"
done
rm -f "$tmp/port"
"$GANTRY_BIN" registry --data "$tmp/data" --listen 127.0.0.1:0 --port-file "$tmp/port" \
  --user op:secret:operator --user ro:view:viewer >>"$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
reg="127.0.0.1:$(cat "$tmp/port")"
"${sk[@]}" copy -q --dest-tls-verify=false --dest-creds op:secret oci:img:v1 "docker://$reg/team/crash:v1" ||
  fail "push after crash"
"${sk[@]}" copy -q --src-tls-verify=false --src-creds ro:view "docker://$reg/team/crash:v1" oci:crashout:v1 ||
  fail "pull after crash"
for b in crashout/blobs/sha256/*; do cmp -s "$b" "img/blobs/sha256/$(basename "$b")" || fail "blob $b differs after crash"; done
echo "crash mid-push: nothing partial visible, push after restart ok"

# Lifecycle: keep one tag; the collector removes the older tag.
"$GANTRY_BIN" registry --data "$tmp/data" policy --repository team/app --keep-tags 1
touch -d '1 minute ago' "$tmp/data/registry/repositories/team/app/_tags/docker" || true
sed -i "2s/.*/1/" "$tmp/data/registry/repositories/team/app/_tags/docker"
"$GANTRY_BIN" registry --data "$tmp/data" gc --min-age 1h
tags=$(curl -sf -u ro:view "http://$reg/v2/team/app/tags/list")
[ "$tags" = '{"name":"team/app","tags":["v1"]}' ] || fail "after gc: $tags"
"${sk[@]}" copy -q --src-tls-verify=false --src-creds ro:view "docker://$reg/team/app:v1" oci:out2:v1 || fail "pull after gc"
echo "PASS"
