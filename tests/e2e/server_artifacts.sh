#!/usr/bin/env bash
# Artifacts on the server: a run's built-in upload-artifact stores a zip (with retention-days),
# `gantry artifacts` lists it, the zipped download streams it, `artifacts download` extracts
# it bit-identical, a download-artifact step in a later job gets it back, uploads through the
# API are checked (bad zips, zip-slip names, bad names refused), delete works, roles hold.
set -euo pipefail
G=${GANTRY_BIN:?}
T=$(mktemp -d /tmp/gantry-artifacts-XXXXXX)
SERVER=""
cleanup() {
  [[ -n "$SERVER" ]] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -20 "$T/server.log"; exit 1; }
export GANTRY_ADMIN_TOKEN=art-admin GANTRY_TOKEN=art-admin
source "$(dirname "$0")/lib/server.sh"
start_gantry_server "$T/data" "$T/server.log"
api() { curl -s -H "Authorization: Bearer $GANTRY_ADMIN_TOKEN" "$@"; }

"$G" project create app >/dev/null
mkdir -p "$T/src/.github/workflows"
cat >"$T/src/.github/workflows/ci.yml" <<'YAML'
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: mkdir -p out/sub && echo hello >out/a.txt && head -c 200000 /dev/urandom >out/sub/b.bin
      - uses: actions/upload-artifact@v4
        with:
          name: dist
          path: out/
          retention-days: 3
  use:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with:
          name: dist
          path: got
      - run: test "$(cat got/a.txt)" = hello && test -s got/sub/b.bin
YAML
(cd "$T/src" && git init -q -b main && git add -A && git -c user.email=t@t -c user.name=t commit -qm w &&
  git push -q "http://x:$GANTRY_TOKEN@${URL#http://}/git/app.git" main)
"$G" logs -f 1 >"$T/run.log" || fail "run 1 failed: $(cat "$T/run.log")"
echo "ok   a server run uploads and downloads an artifact between jobs"

"$G" artifacts 1 >"$T/list"
grep -q '^dist ' "$T/list" || fail "artifacts list: $(cat "$T/list")"
exp=$(api "$URL/api/v1/runs/1/artifacts" | sed -n 's/.*"expires_ms":\([0-9]*\).*/\1/p')
created=$(api "$URL/api/v1/runs/1/artifacts" | sed -n 's/.*"created_ms":\([0-9]*\).*/\1/p')
[[ $((exp - created)) -eq $((3 * 86400000)) ]] || fail "retention-days 3 not honoured ($created .. $exp)"
echo "ok   gantry artifacts lists it, expiring after retention-days"

"$G" artifacts download 1 dist -o "$T/dl" >/dev/null || fail "artifacts download"
[[ $(cat "$T/dl/a.txt") == hello && -s "$T/dl/sub/b.bin" ]] || fail "downloaded files"
api -o "$T/dist.zip" -D "$T/headers" "$URL/api/v1/runs/1/artifacts/dist/zip"
grep -qi '^content-type: application/zip' "$T/headers" || fail "zip content type"
(mkdir "$T/unz" && cd "$T/unz" && python3 -c 'import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(".")' "$T/dist.zip")
cmp "$T/unz/sub/b.bin" "$T/dl/sub/b.bin" || fail "zip and extracted download differ"
echo "ok   the zipped download and gantry artifacts download agree"

# Uploads through the API and the CLI.
mkdir -p "$T/up/docs" && echo report >"$T/up/docs/r.txt"
(cd "$T/up" && "$G" artifacts upload 1 report docs --retention-days 1 >/dev/null) || fail "cli upload"
"$G" artifacts download 1 report -o "$T/dl2" >/dev/null && [[ $(cat "$T/dl2/docs/r.txt") == report ]] ||
  fail "round trip of an uploaded artifact"
code=$(api -o "$T/out" -w '%{http_code}' -X PUT --data-binary 'not a zip' "$URL/api/v1/runs/1/artifacts/junk")
[[ $code == 400 ]] || fail "a non-zip upload answered $code"
python3 - "$T/slip.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("ok.txt", "fine")
    z.writestr("../../evil.txt", "escaped")
PY
code=$(api -o "$T/out" -w '%{http_code}' -X PUT --data-binary @"$T/slip.zip" "$URL/api/v1/runs/1/artifacts/slip")
[[ $code == 400 ]] && grep -q "leaves the archive" "$T/out" || fail "zip-slip upload answered $code: $(cat "$T/out")"
code=$(api -o "$T/out" -w '%{http_code}' -X PUT --data-binary @"$T/dist.zip" "$URL/api/v1/runs/1/artifacts/a%3Ab")
[[ $code == 400 ]] || fail "a bad artifact name answered $code"
code=$(api -o /dev/null -w '%{http_code}' "$URL/api/v1/runs/99/artifacts")
[[ $code == 404 ]] || fail "artifacts of a missing run answered $code"
"$G" artifacts 1 | grep -q '^junk ' && fail "a refused upload is listed"
echo "ok   uploads are checked: not a zip, zip-slip names and bad names refused"

VIEW=$(api -X POST -H 'Content-Type: application/json' "$URL/api/v1/tokens" -d '{"name":"ro","role":"viewer"}' |
  sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $VIEW" -X DELETE "$URL/api/v1/runs/1/artifacts/report")
[[ $code == 403 ]] || fail "a viewer deleted an artifact ($code)"
"$G" artifacts --token "$VIEW" 1 | grep -q '^report ' || fail "a viewer lists"
"$G" artifacts delete 1 report || fail "delete"
"$G" artifacts 1 | grep -q '^report ' && fail "deleted artifact still listed"
set +e
"$G" artifacts download 1 report -o "$T/dl3" 2>/dev/null; rc=$?
set -e
[[ $rc -eq 1 ]] || fail "download of a deleted artifact: exit $rc"
echo "ok   delete needs an operator; a deleted artifact is gone"
echo "server artifacts: all checks passed"
