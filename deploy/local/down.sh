#!/usr/bin/env bash
# make down: stops exactly the processes named by .run/*.pid (SIGTERM, up to
# 10 s, then SIGKILL) in reverse dependency order, etcd last, and removes the
# PID files. Nothing is looked up by name.
set -euo pipefail
# shellcheck source=deploy/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

shopt -s nullglob
stop_group() {
  local pattern="$1" file pids=()
  shift
  # One tier at a time, all of its instances at once (each waits on its own).
  for file in "$@"; do
    stop_pidfile "$file" "$pattern" 10 &
    pids+=($!)
  done
  local p
  for p in "${pids[@]}"; do wait "$p"; done
}

stop_group dist/main.js "$RUN_DIR"/admin-*.pid "$RUN_DIR"/http-api-*.pid
stop_group dist/main.js "$RUN_DIR"/login*.pid
stop_group dist/main.js "$RUN_DIR"/file-*.pid
stop_group dist/main.js "$RUN_DIR"/msfs-*.pid
stop_group dist/main.js "$RUN_DIR"/msg-*.pid
stop_group dist/main.js "$RUN_DIR"/route-*.pid
stop_group dist/main.js "$RUN_DIR"/push-*.pid
stop_group dist/main.js "$RUN_DIR"/db-proxy-*.pid
others=()
for f in "$RUN_DIR"/*.pid; do
  case "$(basename "$f")" in etcd.pid | etcd-tls.pid) ;; *) others+=("$f") ;; esac
done
stop_group dist/main.js "${others[@]}"
stop_group etcd "$RUN_DIR"/etcd.pid "$RUN_DIR"/etcd-tls.pid
log "down"
