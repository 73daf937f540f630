#!/usr/bin/env bash
# Prepares what the tests need beyond Debian packages: npm packages into tests/node/.
# Each part lists its npm packages in tests/npm.d/*.list (name@version per line).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pkgs=()
for list in "$here"/npm.d/*.list; do
  [ -f "$list" ] || continue
  while read -r p _; do
    case "$p" in ""|\#*) continue ;; esac
    pkgs+=("$p")
  done <"$list"
done
[ ${#pkgs[@]} -gt 0 ] || exit 0
mkdir -p "$here/node"
cd "$here/node"
[ -f package.json ] || echo '{"name":"gantry-test-tools","private":true}' >package.json
need=0
for p in "${pkgs[@]}"; do
  name="${p%@*}"; [ -z "$name" ] && name="$p"
  ver="${p##*@}"; [ "$name" = "$p" ] && ver=""
  [ -d "node_modules/$name" ] || need=1
  # A pinned version that changed (e.g. @actions/cache 3 -> 4) is installed again.
  if [ -n "$ver" ] && [ -f "node_modules/$name/package.json" ] &&
    ! grep -q "\"version\": *\"$ver" "node_modules/$name/package.json"; then need=1; fi
done
if [ $need = 1 ]; then
  npm install --no-audit --no-fund --loglevel=error "${pkgs[@]}" >/dev/null
fi
