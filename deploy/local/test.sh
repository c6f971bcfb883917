#!/usr/bin/env bash
# make test: installs what is missing (with the pinned kubectl of the deploy/k8s test and Debian's chromium for test/web), makes
# sure MariaDB, Redis and etcd answer (etcd is started if needed and left running, PID in
# .run/etcd.pid so make down stops it), builds, then runs jest; exits with jest's code.
set -euo pipefail
# shellcheck source=deploy/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

ensure_tools
ensure_node_modules
ensure_kubectl
ensure_chromium
ensure_mariadb
ensure_redis
ensure_etcd
build

# The build leaves tests out and ts-jest only transpiles: type-check everything, tests included.
log "npx tsc -p tsconfig.typecheck.json"
npx tsc -p tsconfig.typecheck.json

log "npx jest --ci $*"
rm -f "$RUN_DIR/jest-results.json"
set +e
npx jest --ci --json --outputFile="$RUN_DIR/jest-results.json" "$@"
rc=$?
set -e
# One plain summary line ("N passed, N failed, N skipped") for CI readers that do not parse jest.
if [ -s "$RUN_DIR/jest-results.json" ]; then
  node -e 'const r = require(process.argv[1]); console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);' "$RUN_DIR/jest-results.json"
fi
# make turns any failure into 2; .ci/run reports jest's own code from here.
echo "$rc" >"$RUN_DIR/test.rc"
exit "$rc"
