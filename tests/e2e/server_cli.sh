#!/usr/bin/env bash
# The client commands against a real server: project create, push, runs, logs -f (SSE),
# trigger with inputs, rerun, cancel, and the exit codes (1 failed run, 3 refused/unreachable).
set -euo pipefail
G=${GANTRY_BIN:?}
T=$(mktemp -d /tmp/gantry-cli-XXXXXX)
SERVER=""
trap '[[ -n "$SERVER" ]] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
export GANTRY_ADMIN_TOKEN=cli-admin GANTRY_TOKEN=cli-admin
"$G" server --data "$T/data" --listen 127.0.0.1:0 >"$T/log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do URL=$(sed -n 's/^gantry server listening on \(http[^ ]*\).*/\1/p' "$T/log"); [[ -n "$URL" ]] && break; sleep 0.1; done
export GANTRY_URL=$URL
git_url=$("$G" project create web 2>/dev/null)
[[ $git_url == "$URL/git/web.git" ]] || { echo "unexpected git URL '$git_url'"; exit 1; }
"$G" projects | grep -q "^web "
mkdir -p "$T/src/.github/workflows"
cat >"$T/src/.github/workflows/ci.yml" <<'YAML'
on:
  push:
  workflow_dispatch:
    inputs:
      fail:
        default: "no"
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - run: echo "hello from ${{ github.event_name }}"
      - run: test "${{ inputs.fail }}" != "yes"
YAML
(cd "$T/src" && git init -q -b main && git add -A && git -c user.email=t@t -c user.name=t commit -qm w &&
  git push -q "http://x:cli-admin@${URL#http://}/git/web.git" main)
"$G" logs -f 1 | grep -q "hello from push"
"$G" runs -p web | grep -q "completed  success"
id=$("$G" trigger web ci.yml -i fail=yes)
set +e
"$G" logs -f "$id" >"$T/out"; rc=$?
set -e
[[ $rc -eq 1 ]] || { echo "logs -f of a failed run: exit $rc"; exit 1; }
grep -q "hello from workflow_dispatch" "$T/out"
"$G" rerun "$id" --failed
"$G" logs -f "$id" >/dev/null || [[ $? -eq 1 ]]
"$G" cancel "$id"
set +e
"$G" runs --token wrong >/dev/null 2>&1; rc=$?
[[ $rc -eq 3 ]] || { echo "bad token: exit $rc"; exit 1; }
"$G" runs --url http://127.0.0.1:1 >/dev/null 2>&1; rc=$?
[[ $rc -eq 3 ]] || { echo "unreachable: exit $rc"; exit 1; }
"$G" logs abc >/dev/null 2>&1; rc=$?
[[ $rc -eq 2 ]] || { echo "bad run id: exit $rc"; exit 1; }
echo ok
