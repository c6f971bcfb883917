#!/usr/bin/env bash
# make status: which .run/*.pid files name a live process, and what answers.
set -euo pipefail
# shellcheck source=deploy/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

shopt -s nullglob
files=("$RUN_DIR"/*.pid)
if [ "${#files[@]}" -eq 0 ]; then
  echo "nothing started by make up (no $RUN_DIR/*.pid)"
else
  printf '%-12s %-8s %-8s %s\n' NAME PID STATE LOG
  for f in "${files[@]}"; do
    name="$(basename "$f" .pid)"
    pattern=dist/main.js
    case "$name" in etcd | etcd-tls) pattern=etcd ;; esac
    state=dead
    pid_alive "$f" "$pattern" && state=running
    printf '%-12s %-8s %-8s %s\n' "$name" "$(cat "$f")" "$state" ".run/$name.log"
  done
fi
echo
if secure_etcd_up; then echo "etcd      $SECURE_ETCD_URL (TLS, make up) healthy"; else echo "etcd      $SECURE_ETCD_URL (TLS, make up) not answering"; fi
if etcd_up; then echo "etcd      $ETCD_URL (plain, make test) healthy"; else echo "etcd      $ETCD_URL (plain, make test) not answering"; fi
if body="$(curl -s --max-time 2 http://127.0.0.1:8080/msg_server)"; then
  echo "login     http://127.0.0.1:8080/msg_server -> $body"
else
  echo "login     http://127.0.0.1:8080/msg_server not answering"
fi
