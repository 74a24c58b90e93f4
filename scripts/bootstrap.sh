#!/bin/sh
# Makes a fresh clone runnable: Node >= 24 and the npm dependencies from the
# lockfile. Cheap when nothing changed (npm ci runs only when the lockfile did).
set -e
cd "$(dirname "$0")/.."
. scripts/env.sh
ensure_node
stamp=node_modules/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "bootstrap: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" > "$stamp"
fi
