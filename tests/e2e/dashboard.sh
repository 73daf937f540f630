#!/usr/bin/env bash
# Dashboard end to end: a real server, a real git push, Debian's Chromium driven by
# Playwright (tests/e2e/dashboard.mjs): sign in, watch a run's log stream live, trigger a
# run from the page, check that hostile log lines, commit messages and branch names show as
# text. Screenshots go to $GANTRY_ARTIFACTS (default build/test-artifacts/dashboard).
set -euo pipefail
G=${GANTRY_BIN:?}
SRC=${GANTRY_SOURCE:?}
CHROMIUM=$(command -v chromium || true)
if [[ -z "$CHROMIUM" || ! -d "$SRC/tests/node/node_modules/playwright-core" ]]; then
  echo "dashboard test needs chromium and playwright-core (scripts/install-deps.sh, tests/setup.sh)"; exit 1
fi
T=$(mktemp -d /tmp/gantry-dash-XXXXXX)
SERVER=""
cleanup() {
  [[ -n "$SERVER" ]] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
export GANTRY_ADMIN_TOKEN=dash-admin-token GANTRY_TOKEN=dash-admin-token
source "$(dirname "$0")/lib/server.sh"
start_gantry_server "$T/data" "$T/server.log"
"$G" project create webapp >/dev/null

# A repository whose run waits after "tick 5" until the browser test creates $T/gate (so
# the page surely sees lines arrive live), prints hostile
# text, and is pushed on a branch whose name is an HTML injection attempt.
mkdir -p "$T/src/.github/workflows"
cat >"$T/src/.github/workflows/ci.yml" <<'YAML'
name: ci
on: [push, workflow_dispatch]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - name: hostile output
        run: |
          echo '<script>window.__pwned = 1</script>'
          echo "::group::details"
          echo "inside the group"
          echo "::endgroup::"
      - name: slow output
        run: |
          for i in $(seq 1 40); do
            echo "tick $i"
            if [ "$i" = 5 ]; then
              for _ in $(seq 1 600); do [ -e GATE_FILE ] && break; sleep 0.1; done
            fi
          done
      - name: summary
        run: echo "## Build summary" >> "$GITHUB_STEP_SUMMARY"
  test:
    needs: build
    runs-on: ubuntu-latest
    strategy:
      matrix:
        shard: [1, 2]
    steps:
      - run: echo "shard ${{ matrix.shard }} ok"
YAML
sed -i "s|GATE_FILE|$T/gate|" "$T/src/.github/workflows/ci.yml"
BRANCH='"><img/src=x/onerror=window.__pwned=2>'
(cd "$T/src" && git init -q -b "$BRANCH" && git add -A &&
  git -c user.email=t@t -c user.name='Tess Tester' commit -qm '"><img src=x onerror=alert(1)> <b>bold</b>' \
    -m 'The body is not part of the title.' &&
  git push -q "http://x:${GANTRY_TOKEN}@${URL#http://}/git/webapp.git" "$BRANCH")

# The CLI lists the run with its title (the commit message's first line) and short sha.
LIST=$("$G" runs --project webapp --branch "$BRANCH" --workflow ci)
SHA=$(cd "$T/src" && git rev-parse --short=7 HEAD)
grep -qF '"><img src=x onerror=alert(1)> <b>bold</b>' <<<"$LIST" || { echo "gantry runs lacks the title: $LIST"; exit 1; }
grep -qF "$SHA" <<<"$LIST" || { echo "gantry runs lacks the short sha: $LIST"; exit 1; }
if grep -qF 'The body' <<<"$LIST"; then echo "the title holds more than the first line"; exit 1; fi
[[ $("$G" runs --project webapp --branch other | wc -l) == 1 ]] || { echo "the branch filter kept other runs"; exit 1; }
echo "ok   gantry runs shows the title and filters by branch and workflow"

VIEWER_TOKEN=$(curl -sf -H "Authorization: Bearer $GANTRY_TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"watcher","role":"viewer"}' "$URL/api/v1/tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[[ -n "$VIEWER_TOKEN" ]] || { echo "could not create a viewer token"; exit 1; }

export ARTIFACTS=${GANTRY_ARTIFACTS:-$SRC/build/test-artifacts/dashboard}
mkdir -p "$ARTIFACTS"
NODE_PATH="$SRC/tests/node/node_modules" CHROMIUM="$CHROMIUM" URL="$URL" TOKEN="$GANTRY_TOKEN" GATE="$T/gate" VIEWER_TOKEN="$VIEWER_TOKEN" \
  node "$SRC/tests/e2e/dashboard.mjs"
