#!/usr/bin/env bash
# The sandbox executor (bubblewrap): host root read-only, workspace and temp writable,
# private /tmp, optional no network; chosen by runs-on label or --runs-on-map.
set -euo pipefail
GANTRY_BIN="${GANTRY_BIN:?}"
command -v bwrap >/dev/null || { echo "SKIP: bwrap not installed"; exit 0; }
bwrap --ro-bind / / --dev /dev --proc /proc true 2>/dev/null || { echo "SKIP: bwrap cannot create namespaces here"; exit 0; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/repo/.github/workflows" "$work/outside"
cat >"$work/repo/.github/workflows/sb.yml" <<YAML
on: push
jobs:
  boxed:
    runs-on: [self-hosted, sandbox]
    steps:
      - run: |
          echo made > in-workspace.txt
          echo tmp > "\$RUNNER_TEMP/t" && cat "\$RUNNER_TEMP/t"
          echo private > /tmp/gantry-sandbox-probe
          if echo x > "$work/outside/escape.txt" 2>/dev/null; then echo "wrote outside"; exit 1; fi
          echo "v=1" >> "\$GITHUB_OUTPUT"
        id: s
      - run: test "\${{ steps.s.outputs.v }}" = 1
  mapped:
    runs-on: linux-box
    steps:
      - run: |
          if echo x > "$work/outside/escape2.txt" 2>/dev/null; then exit 1; fi
          # a private network namespace: only the loopback interface
          test "\$(tail -n +3 /proc/net/dev | wc -l)" -eq 1
  host:
    runs-on: ubuntu-latest
    steps:
      - run: echo x > "$work/outside/host.txt"
YAML
rm -f /tmp/gantry-sandbox-probe
"$GANTRY_BIN" run "$work/repo" --runs-on-map linux-box=sandbox-nonet >"$work/out.txt" 2>&1 || { cat "$work/out.txt"; exit 1; }
[ -f "$work/repo/in-workspace.txt" ] || { echo "workspace not writable"; exit 1; }
[ ! -e "$work/outside/escape.txt" ] && [ ! -e "$work/outside/escape2.txt" ] || { echo "sandbox escaped"; exit 1; }
[ ! -e /tmp/gantry-sandbox-probe ] || { echo "/tmp is not private"; exit 1; }
[ -f "$work/outside/host.txt" ] || { echo "host job did not run on host"; exit 1; }
# An unknown executor is a clear error.
set +e
"$GANTRY_BIN" run "$work/repo" --runs-on-map linux-box=nosuch -j mapped >"$work/out.txt" 2>&1
rc=$?
set -e
[ $rc -eq 1 ] && grep -q "unknown executor 'nosuch'" "$work/out.txt" || { cat "$work/out.txt"; exit 1; }
echo "sandbox e2e passed"
