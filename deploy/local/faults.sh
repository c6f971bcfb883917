#!/usr/bin/env bash
# make faults: only the fault suite (test/faults), then its table. The suite
# runs its own MariaDB, Redis and etcd (private processes on free ports) and a
# 2 db-proxy / 2 route / 2 msg / login cluster on them, so it touches neither
# the machine's servers nor a `make up` cluster. About 5 minutes.
#   make faults ARGS="-t 'kill -9'"      only the scenarios whose name matches
#   TT_FAULT_PAIRS=25 TT_FAULT_RATE=500 make faults   a lighter load
set -euo pipefail
# shellcheck source=deploy/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

ensure_tools
ensure_node_modules
build

RESULTS="$RUN_DIR/fault-results.md"
rm -f "$RESULTS"
log "npx jest --ci test/faults $*"
set +e
npx jest --ci test/faults "$@"
rc=$?
set -e
echo
if [ -s "$RESULTS" ]; then cat "$RESULTS"; else echo "no $RESULTS (the suite did not get to write it)"; fi
exit "$rc"
