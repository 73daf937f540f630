#!/usr/bin/env bash
# gantry validate: exit 0 on valid workflows, 2 with compiler-style errors on invalid ones,
# the default file set (.github/workflows/*.yml), and --help.
set -euo pipefail
: "${GANTRY_BIN:?GANTRY_BIN must point at the gantry binary}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p .github/workflows
cat > .github/workflows/ci.yml <<'YAML'
on:
  push:
    branches: [main]
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        os: [a, b]
    steps:
      - run: echo ${{ matrix.os }}
  test:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
YAML

out=$("$GANTRY_BIN" validate) || fail "valid workflow rejected: $out"
grep -q '.github/workflows/ci.yml: ok (2 jobs)' <<<"$out" || fail "unexpected output: $out"

cat > bad.yml <<'YAML'
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    colour: blue
    steps:
      - run: echo ${{ secrets.X
  deploy:
    needs: [build, missing]
    runs-on: ubuntu-latest
    steps:
      - id: s
        run: echo
      - id: s
        run: echo
YAML
set +e
err=$("$GANTRY_BIN" validate bad.yml .github/workflows/ci.yml 2>&1 >/dev/null)
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "exit code $rc, want 2"
grep -q "^bad.yml:5:5: Unexpected value 'colour'$" <<<"$err" || fail "no unknown-key error: $err"
grep -q "^bad.yml:7:14: " <<<"$err" || fail "no expression error: $err"
grep -q "^bad.yml:9:20: Job 'deploy' depends on unknown job 'missing'.$" <<<"$err" || fail "no needs error: $err"
grep -q "^bad.yml:14:13: The identifier 's' may not be used more than once" <<<"$err" || fail "no dup id: $err"
grep -q "1 of 2 workflow files invalid" <<<"$err" || fail "no summary: $err"

set +e
"$GANTRY_BIN" validate does-not-exist.yml 2>/dev/null
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "missing file: exit $rc, want 2"

"$GANTRY_BIN" validate --help | grep -q "file:line:col" || fail "--help does not explain the output"

mkdir empty && cd empty
set +e
"$GANTRY_BIN" validate 2>/dev/null
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "no workflows: exit $rc, want 2"
echo "validate_cli: ok"
