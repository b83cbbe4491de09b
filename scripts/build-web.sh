#!/usr/bin/env bash
# npm ci + vite build, skipped when nothing changed since the last build.
set -euo pipefail
cd "$(dirname "$0")/../clients/web"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
stamp=dist/.build-stamp
newest=$(find src index.html *.html vite.config.* package-lock.json ../../assets/cityhall -newer "$stamp" -print -quit 2>/dev/null || true)
if [ ! -f "$stamp" ] || [ -n "$newest" ]; then
  npm run --silent build
  touch "$stamp"
fi
