#!/usr/bin/env bash
# Configures and builds Gantry into build/ (release with debug info). Extra args go to CMake.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${GANTRY_BUILD_DIR:-$root/build}"
export CCACHE_BASEDIR="$root" CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
# Hits across clones: paths under the root are made relative, and the build directory is not
# part of the key (debug info keeps the path of whichever clone compiled first).
export CCACHE_NOHASHDIR=1
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
