#!/usr/bin/env bash
# gantry run end to end: env files, workflow commands, secret masking (also multi-line and
# add-mask), step outputs, --json, --list/--dry-run and exit codes.
set -euo pipefail
GANTRY_BIN="${GANTRY_BIN:?}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
repo="$work/repo"
mkdir -p "$repo/.github/workflows"
cat >"$repo/.github/workflows/ci.yml" <<'YAML'
name: protocol
on: push
env:
  TOP: top-level
jobs:
  files:
    runs-on: ubuntu-latest
    outputs:
      greeting: ${{ steps.out.outputs.greeting }}
    steps:
      - name: write env files
        id: out
        run: |
          echo "PLAIN=value=with=equals" >> "$GITHUB_ENV"
          { echo 'MULTI<<EOF_X'; echo 'line 1'; echo 'line 2'; echo 'EOF_X'; } >> "$GITHUB_ENV"
          echo "greeting=hello" >> "$GITHUB_OUTPUT"
          { echo 'long<<END'; echo 'a'; echo 'b'; echo 'END'; } >> "$GITHUB_OUTPUT"
          mkdir -p "$RUNNER_TEMP/bin" && printf '#!/bin/sh\necho from-path-tool\n' > "$RUNNER_TEMP/bin/pathtool"
          chmod +x "$RUNNER_TEMP/bin/pathtool"
          echo "$RUNNER_TEMP/bin" >> "$GITHUB_PATH"
          echo "### Summary heading" >> "$GITHUB_STEP_SUMMARY"
      - name: read them back
        run: |
          test "$PLAIN" = "value=with=equals"
          test "$MULTI" = "$(printf 'line 1\nline 2')"
          test "${{ steps.out.outputs.greeting }}" = hello
          test "${{ steps.out.outputs.long }}" = "$(printf 'a\nb')"
          test "$(pathtool)" = from-path-tool
          test "$TOP" = top-level
          test "$CI" = true && test "$GITHUB_ACTIONS" = true && test "$RUNNER_OS" = Linux
          test "$GITHUB_WORKSPACE" = "$PWD" && test -n "$GITHUB_SHA" && test "$GITHUB_EVENT_NAME" = push
          test -f "$GITHUB_EVENT_PATH" && test "$GITHUB_JOB" = files && test -d "$RUNNER_TEMP"
      - name: commands
        run: |
          echo "::group::folded group"
          echo "inside the group"
          echo "::endgroup::"
          echo "::warning file=app.js,line=3,col=5::look here"
          echo "::notice::just saying"
          echo "::debug::debug text"
          echo "::stop-commands::tok123"
          echo "::error::not an annotation while stopped"
          echo "::tok123::"
          echo "::save-state name=s::v"
      - name: set-env is refused
        id: setenv
        continue-on-error: true
        run: echo "::set-env name=X::y"
      - run: test "${{ steps.setenv.outcome }}" = failure && test "${{ steps.setenv.conclusion }}" = success
      - name: secrets are masked
        env:
          MULTI_SECRET: ${{ secrets.MULTI }}
        run: |
          echo "plain ${{ secrets.TOKEN }} end"
          echo "env $TOKEN_FROM_ENV"
          echo "$MULTI_SECRET"
          echo "::add-mask::dynamic-value-42"
          echo "later dynamic-value-42"
          echo "::error::secret in annotation ${{ secrets.TOKEN }}"
        continue-on-error: true
  uses-output:
    needs: files
    runs-on: ubuntu-latest
    steps:
      - run: test "${{ needs.files.outputs.greeting }}" = hello
      - if: ${{ failure() }}
        run: echo "never"
YAML
printf 'MULTI="first-secret-line\nsecond-secret-line"\n' >"$work/secrets.env"
out="$work/out.txt"
(cd "$repo" && TOKEN_FROM_ENV=env-secret-value "$GANTRY_BIN" run . --secret TOKEN=tok-s3cret-99 --secret TOKEN_FROM_ENV \
  --secret-file "$work/secrets.env" -v) >"$out" 2>&1 || { cat "$out"; echo "run failed"; exit 1; }
cat "$out"
for s in tok-s3cret-99 env-secret-value first-secret-line second-secret-line dynamic-value-42; do
  if grep -q "$s" "$out"; then echo "secret $s leaked"; exit 1; fi
done
grep -q 'plain \*\*\* end' "$out"
grep -q 'later \*\*\*' "$out"
grep -q 'warning app.js:3:5: look here' "$out" || { echo "annotation missing"; exit 1; }
grep -q 'not an annotation while stopped' "$out"
grep -q 'Summary heading' "$out"
grep -q 'set-env` command is disabled' "$out"
grep -Eq 'files +success' "$out"

# Without -v the group's lines are folded away (the step succeeds).
(cd "$repo" && "$GANTRY_BIN" run . -j files --secret TOKEN=x1 --secret TOKEN_FROM_ENV=x2 --secret MULTI=x3) >"$out" 2>&1
if grep -q 'inside the group' "$out"; then echo "group not folded"; exit 1; fi
grep -q 'folded group' "$out"

# --json: every line is a JSON object; the run ends with run_finished.
(cd "$repo" && "$GANTRY_BIN" run . --json --secret TOKEN=tok-s3cret-99 --secret TOKEN_FROM_ENV=x --secret MULTI=y) >"$out"
python3 - "$out" <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
types = {e["type"] for e in events}
for t in ("job_started", "step_started", "line", "step_finished", "annotation", "job_finished", "run_finished"):
    assert t in types, t
assert events[-1]["type"] == "run_finished" and events[-1]["success"] and events[-1]["exit_code"] == 0
assert not any("tok-s3cret-99" in json.dumps(e) for e in events)
PY

# --list / --dry-run do not run anything.
(cd "$repo" && "$GANTRY_BIN" run . --list) | grep -q uses-output
(cd "$repo" && "$GANTRY_BIN" run . --dry-run) | grep -q 'step read them back'

# A failing job gives exit 1; a bad workflow gives exit 2 with file:line:col.
cat >"$repo/.github/workflows/ci.yml" <<'YAML'
on: push
jobs:
  bad:
    runs-on: ubuntu-latest
    steps:
      - run: exit 3
YAML
set +e
(cd "$repo" && "$GANTRY_BIN" run .) >"$out" 2>&1
rc=$?
set -e
[ $rc -eq 1 ] || { cat "$out"; echo "expected exit 1, got $rc"; exit 1; }
grep -q 'exit code 3' "$out"
printf 'on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    stepz: []\n' >"$repo/.github/workflows/ci.yml"
set +e
(cd "$repo" && "$GANTRY_BIN" run .) >"$out" 2>&1
rc=$?
set -e
[ $rc -eq 2 ] || { cat "$out"; echo "expected exit 2, got $rc"; exit 1; }
grep -q 'ci.yml:5:' "$out"
echo "protocol e2e passed"
