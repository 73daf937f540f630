#!/usr/bin/env bash
# Reusable workflows and remote actions through `gantry run` / `gantry validate`: a local
# called workflow with inputs, secrets and outputs; a remote action and a remote reusable
# workflow fetched with git from GANTRY_ACTIONS_URL (a local bare repository, file://);
# read-time errors for calls as file:line:col.
set -euo pipefail
GANTRY_BIN="$(realpath "${GANTRY_BIN:?}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export HOME="$work" GIT_CONFIG_NOSYSTEM=1
git config --global user.name t && git config --global user.email t@t

# The "remote" repository acme/tools: a composite action and a reusable workflow.
mkdir -p "$work/src/.github/workflows"
cat >"$work/src/action.yml" <<'YAML'
inputs: { name: { required: true } }
outputs: { greeting: { value: "${{ steps.g.outputs.greeting }}" } }
runs:
  using: composite
  steps:
    - id: g
      shell: bash
      run: echo "greeting=hello ${{ inputs.name }}" >> "$GITHUB_OUTPUT"
YAML
cat >"$work/src/.github/workflows/remote.yml" <<'YAML'
on:
  workflow_call:
    outputs:
      where: { value: "${{ jobs.r.outputs.where }}" }
jobs:
  r:
    runs-on: ubuntu-latest
    outputs: { where: remote }
    steps:
      - run: echo "remote workflow ran"
YAML
(cd "$work/src" && git init -q -b main . && git add -A && git commit -q -m one && git tag v1)
mkdir -p "$work/remote/acme" && git clone -q --bare "$work/src" "$work/remote/acme/tools.git"

repo="$work/repo"
mkdir -p "$repo/.github/workflows"
cat >"$repo/.github/workflows/ci.yml" <<'YAML'
on: push
jobs:
  build:
    strategy:
      matrix: { os: [linux] }
    uses: ./.github/workflows/lib.yml
    with:
      who: ${{ matrix.os }}
    secrets:
      key: ${{ secrets.API_KEY }}
  remote:
    uses: acme/tools/.github/workflows/remote.yml@v1
  report:
    needs: [build, remote]
    runs-on: ubuntu-latest
    steps:
      - run: test "${{ needs.build.outputs.greeting }}/${{ needs.remote.outputs.where }}" = "hello linux/remote"
YAML
cat >"$repo/.github/workflows/lib.yml" <<'YAML'
on:
  workflow_call:
    inputs:
      who: { type: string, required: true }
    secrets:
      key: { required: true }
    outputs:
      greeting: { value: "${{ jobs.greet.outputs.greeting }}" }
jobs:
  greet:
    runs-on: ubuntu-latest
    outputs: { greeting: "${{ steps.a.outputs.greeting }}" }
    steps:
      - id: a
        uses: acme/tools@v1
        with: { name: "${{ inputs.who }}" }
      - run: echo "key is ${{ secrets.key }}"
YAML
out="$work/out.txt"
GANTRY_ACTIONS_URL="file://$work/remote" API_KEY=s3cr3t-value "$GANTRY_BIN" run "$repo" --secret API_KEY \
  --action-cache "$work/cache" >"$out" 2>&1 || { cat "$out"; echo "run failed"; exit 1; }
grep -q "build (linux) / greet" "$out" || { cat "$out"; echo "no nested job name"; exit 1; }
grep -q "key is \*\*\*" "$out" || { cat "$out"; echo "secret not passed or not masked"; exit 1; }
! grep -q "s3cr3t-value" "$out" || { echo "secret leaked"; exit 1; }
[ -f "$work/cache/acme/tools@v1/action.yml" ] || { echo "action not cached"; exit 1; }

# Without the URL the remote reusable workflow cannot run: a clear failure naming it.
set +e
"$GANTRY_BIN" run "$repo" -j remote --action-cache "$work/cache2" >"$out" 2>&1
rc=$?
set -e
[ $rc -eq 1 ] || { cat "$out"; echo "expected exit 1 without --actions-url, got $rc"; exit 1; }
grep -q "acme/tools/.github/workflows/remote.yml@v1" "$out" || { cat "$out"; exit 1; }

# Read-time errors for calls.
cat >"$repo/.github/workflows/bad.yml" <<'YAML'
on: push
jobs:
  a:
    uses: ./.github/workflows/lib.yml
    with:
      whom: x
  b:
    uses: ./.github/workflows/nope.yml
YAML
set +e
(cd "$repo" && "$GANTRY_BIN" validate .github/workflows/bad.yml) >"$out" 2>&1
rc=$?
set -e
[ $rc -eq 2 ] || { cat "$out"; echo "validate: expected exit 2, got $rc"; exit 1; }
for msg in "bad.yml:4:11: Input who is required, but not provided while calling." \
           "bad.yml:4:11: Secret key is required, but not provided while calling." \
           "bad.yml:6:13: Invalid input, whom is not defined in the referenced workflow." \
           "bad.yml:8:11: the called workflow './.github/workflows/nope.yml' was not found"; do
  grep -qF "$msg" "$out" || { cat "$out"; echo "missing: $msg"; exit 1; }
done
echo "reusable e2e passed"
