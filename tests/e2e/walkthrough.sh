#!/usr/bin/env bash
# The tutorial's walk-through end to end, driven by git push (tests/e2e/lib/walkthrough.py):
# v1 through CI, staging, approval and a production canary; v2 with a production-only fault
# rolled back by the canary analysis, with signed notifications; 0 failed requests outside
# the bad canary's share. Run on SQLite; GANTRY_WALKTHROUGH_POSTGRES=1 (or the
# e2e.walkthrough_postgres test) runs it against a throwaway PostgreSQL.
set -euo pipefail
: "${GANTRY_BIN:?GANTRY_BIN must point at the gantry binary}"
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/lib/walkthrough.py" ${GANTRY_WALKTHROUGH_POSTGRES:+--postgres}
