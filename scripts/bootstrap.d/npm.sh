#!/usr/bin/env bash
# npm packages: hls.js for the demo page, playwright-core for the browser test.
# `npm ci` from the committed lock files; skipped when node_modules is current.
#   scripts/bootstrap.d/npm.sh [DIR...]
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v npm >/dev/null || { echo "bootstrap: npm is required (apt-get install nodejs npm)" >&2; exit 1; }
# Folders to install: the arguments, or all of them.
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(tools/local-stack/web tests/e2e)
for dir in "${dirs[@]}"; do
  [ -f "$dir/package-lock.json" ] || { echo "bootstrap: $dir/package-lock.json is missing" >&2; exit 1; }
  stamp="$dir/node_modules/.lock.sha256"
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "bootstrap: npm ci in $dir" >&2
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2 || { echo "bootstrap: npm ci in $dir failed" >&2; exit 1; }
    echo "$want" > "$stamp"
  fi
done
