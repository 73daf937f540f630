#!/usr/bin/env bash
# Installs every build and test dependency that is missing, from Debian packages (and npm
# for the few JavaScript test tools). Safe to run again: it only installs what is absent.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

PACKAGES=(
  # build
  cmake ninja-build ccache g++ pkg-config clang-14 libclang-rt-14-dev libfuzzer-14-dev
  # libraries
  libyaml-cpp-dev nlohmann-json3-dev libboost-dev libsqlite3-dev libpq-dev libssl-dev
  libzstd-dev libarchive-dev libfmt-dev libcli11-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev python3 git bubblewrap curl
)
# Extra packages that parts of the test suite need (servers, peers), listed by each part in
# scripts/deps.d/*.list, one package per line, '#' comments allowed.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
for list in "$here"/deps.d/*.list; do
  [ -f "$list" ] || continue
  while read -r pkg _; do
    case "$pkg" in ""|\#*) continue ;; esac
    PACKAGES+=("$pkg")
  done <"$list"
done

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Node.js runs JavaScript actions and the JS test tools; use the machine's own if present.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
# npm packages that tests use are installed into tests/node/ by scripts/test.sh.
