#!/bin/sh
# Runs a TypeScript entry point with Node >= 24 (type stripping), whatever the
# machine's own node is.
set -e
. "$(dirname "$0")/env.sh"
ensure_node
exec node --disable-warning=ExperimentalWarning --disable-warning=TimeoutNegativeWarning "$@"
