#!/usr/bin/env bash
# make profile: runs the local cluster under `node --cpu-prof`, drives it with the
# pressure tool (ARGS, default: 50 pairs at 4000 msg/s for 15 s), stops it (the
# profiles are written on exit) and prints where each service spent its CPU.
# Profiles stay in .run/prof for Chrome DevTools / speedscope.
set -euo pipefail
# shellcheck source=deploy/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

PROF_DIR="$RUN_DIR/prof"
if ls "$RUN_DIR"/*.pid >/dev/null 2>&1; then
  die "a local cluster is running; 'make down' first so every service starts under the profiler"
fi
rm -rf "$PROF_DIR"
mkdir -p "$PROF_DIR"
NODE_ARGS="--cpu-prof --cpu-prof-dir=$PROF_DIR" TT_MSG_RATE_PER_SEC=0 bash "$ROOT/deploy/local/up.sh"
if [ "$#" -eq 0 ]; then set -- --pairs 50 --rate 4000 --duration 15 --label profile; fi
log "node test/pressure/dist/main.js --login-url http://127.0.0.1:8080 --create-users $MYSQL_URL $*"
declare -A NAME_OF=()
for f in "$RUN_DIR"/*.pid; do NAME_OF[$(cat "$f")]="$(basename "$f" .pid)"; done
set +e
node test/pressure/dist/main.js --login-url http://127.0.0.1:8080 --create-users "$MYSQL_URL" "$@"
rc=$?
set -e
bash "$ROOT/deploy/local/down.sh"
# CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile → <service name>.cpuprofile
for f in "$PROF_DIR"/CPU.*.cpuprofile; do
  pid="$(basename "$f" | cut -d. -f4)"
  [ -n "${NAME_OF[$pid]:-}" ] && mv "$f" "$PROF_DIR/${NAME_OF[$pid]}.cpuprofile"
done
node test/pressure/dist/profile-summary.js "$PROF_DIR"/*.cpuprofile
exit "$rc"
