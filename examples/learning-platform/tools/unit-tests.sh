#!/usr/bin/env bash
# Unit tests of one service (argument) or of all of them, each in its own interpreter
# (every service has modules named app and web).
set -euo pipefail
cd "$(dirname "$0")/.."
services=("$@")
[ ${#services[@]} -gt 0 ] || services=(user auth course frontend)
for s in "${services[@]}"; do
  echo "::group::unit tests: $s"
  python3 -m unittest discover -s "services/$s" -p 'test_*.py' -v
  echo "::endgroup::"
done
