#!/usr/bin/env bash
# Actions under gantry run: artifacts between jobs, cache across runs, checkout into a separate
# workspace, remote actions from --action-dir (composite and JavaScript with pre/post), a
# missing remote action, plus shells, working-directory and step timeouts.
set -euo pipefail
GANTRY_BIN="$(realpath "${GANTRY_BIN:?}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
repo="$work/repo"
mkdir -p "$repo/.github/workflows" "$repo/sub/dir"
echo "tracked content" >"$repo/tracked.txt" && echo x >"$repo/sub/dir/keep"
git -C "$repo" init -q -b main
git -C "$repo" add tracked.txt sub/dir/keep
git -C "$repo" -c user.email=t@example.com -c user.name=t commit -q -m init
sha=$(git -C "$repo" rev-parse HEAD)
echo "untracked" >"$repo/untracked.txt"

# Remote actions in a mirror: a composite one and a node one with pre/post.
mir="$work/mirror"
mkdir -p "$mir/acme/greet@v1" "$mir/acme/tools@v2/js"
cat >"$mir/acme/greet@v1/action.yml" <<'YAML'
inputs:
  who: { default: world }
outputs:
  said: { value: "${{ steps.s.outputs.said }}" }
runs:
  using: composite
  steps:
    - id: s
      shell: bash
      run: echo "said=hello ${{ inputs.who }} from $GITHUB_ACTION_PATH" >> "$GITHUB_OUTPUT"
YAML
cat >"$mir/acme/tools@v2/js/action.yml" <<'YAML'
inputs:
  name: { required: true }
runs:
  using: node20
  pre: pre.js
  main: main.js
  post: post.js
YAML
echo 'require("fs").appendFileSync(process.env.GITHUB_STATE, "phase=pre\n"); console.log("pre ran");' >"$mir/acme/tools@v2/js/pre.js"
echo 'if (process.env.STATE_phase !== "pre") process.exit(4); console.log("main " + process.env.INPUT_NAME); require("fs").appendFileSync(process.env.GITHUB_STATE, "phase=main\n");' >"$mir/acme/tools@v2/js/main.js"
echo 'if (process.env.STATE_phase !== "main") process.exit(5); require("fs").writeFileSync(process.env.GITHUB_WORKSPACE + "/post-ran", "yes");' >"$mir/acme/tools@v2/js/post.js"

cat >"$repo/.github/workflows/actions.yml" <<'YAML'
on: push
jobs:
  produce:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: test -f tracked.txt && test ! -e untracked.txt && test ! -e .git
      - run: mkdir -p out/deep && echo one > out/a.txt && echo two > out/deep/b.txt
      - uses: actions/upload-artifact@v4
        with: { name: bundle, path: out }
      - uses: acme/greet@v1
        id: greet
        with: { who: gantry }
      - run: |
          case "${{ steps.greet.outputs.said }}" in "hello gantry from "*greet@v1) ;; *) exit 1 ;; esac
      - uses: acme/tools/js@v2
        with: { name: tool }
      - uses: actions/cache@v4
        id: cache
        with: { key: "deps-${{ github.sha }}", path: cached-dir }
      - run: echo "hit=${{ steps.cache.outputs.cache-hit }}" && mkdir -p cached-dir && echo cached > cached-dir/f
      - shell: python
        run: import os; assert os.environ["CI"] == "true"
      - shell: perl {0}
        run: print "perl says hi\n";
      - working-directory: sub/dir
        run: test "$(basename "$PWD")" = dir
  consume:
    needs: produce
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with: { name: bundle, path: got }
      - run: test "$(cat got/a.txt)" = one && test "$(cat got/deep/b.txt)" = two
YAML
ws="$work/ws"
out="$work/out.txt"
"$GANTRY_BIN" run "$repo" --workspace "$ws" --action-dir "$mir" --store "$work/store" >"$out" 2>&1 || { cat "$out"; exit 1; }
grep -q 'hit=false' "$out" || { cat "$out"; exit 1; }
grep -q 'pre ran' "$out" && grep -q 'main tool' "$out" && grep -q 'perl says hi' "$out"
[ "$(cat "$ws/post-ran")" = yes ] || { echo "post step did not run"; exit 1; }
grep -q "Checked out $repo at $sha" "$out" || { cat "$out"; exit 1; }
# Second run: the cache is restored.
rm -rf "$ws"
"$GANTRY_BIN" run "$repo" --workspace "$ws" --action-dir "$mir" --store "$work/store" -j produce >"$out" 2>&1 || { cat "$out"; exit 1; }
grep -q 'hit=true' "$out" || { cat "$out"; exit 1; }
[ "$(cat "$ws/cached-dir/f")" = cached ]

# A remote action that is not in the mirror fails the job, naming it.
cat >"$repo/.github/workflows/actions.yml" <<'YAML'
on: push
jobs:
  missing:
    runs-on: ubuntu-latest
    steps:
      - uses: someone/not-here@v9
YAML
set +e
"$GANTRY_BIN" run "$repo" --action-dir "$mir" >"$out" 2>&1
rc=$?
set -e
[ $rc -eq 1 ] && grep -q "someone/not-here@v9" "$out" || { cat "$out"; echo "missing action not reported"; exit 1; }

# timeout-minutes stops a step (and its children) and fails it.
cat >"$repo/.github/workflows/actions.yml" <<'YAML'
on: push
jobs:
  slow:
    runs-on: ubuntu-latest
    steps:
      - timeout-minutes: 0.01
        run: sleep 30
YAML
set +e
"$GANTRY_BIN" run "$repo" --kill-grace 200 >"$out" 2>&1
rc=$?
set -e
[ $rc -eq 1 ] && grep -q "timed out" "$out" || { cat "$out"; echo "timeout not enforced"; exit 1; }
echo "actions e2e passed"
