#!/usr/bin/env bash
# Copies the shared HTTP helper services/user/web.py into every other service directory
# (each directory deploys on its own, so each carries its copy).
set -euo pipefail
cd "$(dirname "$0")/../services"
for dir in */; do
  [ "$dir" = user/ ] || cp user/web.py "$dir/web.py"
done
