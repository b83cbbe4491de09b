#!/usr/bin/env bash
# npm packages only the tests use (never shipped): the OpenID providers of tests/salon/oidc and
# CesiumJS for tests/cesium (our tiles in a third-party viewer).
# npm ci from the committed lock file, skipped when node_modules is newer than the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
for dir in tests/salon/oidc tests/cesium; do
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
