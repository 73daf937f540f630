#!/usr/bin/env bash
# The main job: installs what is missing, builds Gantry, and starts the platform with the
# example project. Until the server lands (issue 10 wires the whole pipeline), it runs the
# example project's CI workflow locally with `gantry run`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/install-deps.sh
bash scripts/build.sh
if [ -x scripts/start-platform.sh ]; then
  exec bash scripts/start-platform.sh "$@"
fi
exec build/gantry run examples/hello "$@"
