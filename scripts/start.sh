#!/usr/bin/env bash
# The main job: installs what is missing, builds Gantry, and starts the platform with the
# example project (scripts/start-platform.sh: server, dashboard, registry, monitor; the
# example pushed so its workflow runs). Arguments go to start-platform.sh's environment.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/install-deps.sh
bash scripts/build.sh
if [ -x scripts/start-platform.sh ]; then
  exec bash scripts/start-platform.sh "$@"
fi
exec build/gantry run examples/hello "$@"
