#!/usr/bin/env bash
# The walk-through of tests/e2e/walkthrough.sh with `gantry server --database postgres://...`
# against a throwaway PostgreSQL on loopback (started and removed by the test).
set -euo pipefail
GANTRY_WALKTHROUGH_POSTGRES=1 exec bash "$(dirname "$0")/walkthrough.sh"
