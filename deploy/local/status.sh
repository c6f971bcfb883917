#!/usr/bin/env bash
# make status: which .run/*.pid files name a live process, whether each
# instance is ready (its /readyz, docs/HEALTH.md), and what answers.
set -euo pipefail
# shellcheck source=deploy/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# The port answering /readyz of instance <tier>-<n>, as deploy/local/up.sh assigns them:
# the metrics ports (db-proxy 9600+, route 9200+, msg 9300+, push 9500, msfs 9800, file 9850, admin 9700, http-api 9900) and login's HTTP port (8080+).
probe_port() {
  local n="${1##*-}"
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || return 1
  case "$1" in
    db-proxy-*) echo $((9600 + n - 1)) ;;
    route-*) echo $((9200 + n - 1)) ;;
    msg-*) echo $((9300 + n - 1)) ;;
    login-*) echo $((8080 + n - 1)) ;;
    msfs-*) echo $((9800 + n - 1)) ;;
    file-*) echo $((9850 + n - 1)) ;;
    admin-*) echo $((9700 + n - 1)) ;;
    push-*) echo $((9500 + n - 1)) ;;
    http-api-*) echo $((9900 + n - 1)) ;;
    *) return 1 ;;
  esac
}

# One line from GET /readyz: "ready", or "NOT READY: <reasons>", plus advisory warnings.
readiness() {
  local port="$1" body
  if ! body="$(curl -s --max-time 2 "http://127.0.0.1:$port/readyz")" || [ -z "$body" ]; then
    echo "no answer on :$port/readyz"
    return
  fi
  node -e '
    let r;
    try { r = JSON.parse(process.argv[1]); } catch { console.log("unexpected /readyz answer: " + process.argv[1].slice(0, 80)); process.exit(0); }
    let line = r.ready ? "ready" : "NOT READY: " + (r.reasons || []).join("; ");
    if ((r.warnings || []).length > 0) line += " (warning: " + r.warnings.join("; ") + ")";
    console.log(line);
  ' "$body"
}

shopt -s nullglob
files=("$RUN_DIR"/*.pid)
if [ "${#files[@]}" -eq 0 ]; then
  echo "nothing started by make up (no $RUN_DIR/*.pid)"
else
  printf '%-12s %-8s %-8s %-20s %s\n' NAME PID STATE LOG READINESS
  for f in "${files[@]}"; do
    name="$(basename "$f" .pid)"
    pattern=dist/main.js
    case "$name" in etcd | etcd-tls) pattern=etcd ;; esac
    state=dead
    pid_alive "$f" "$pattern" && state=running
    ready=-
    if [ "$state" = running ] && port="$(probe_port "$name")"; then ready="$(readiness "$port")"; fi
    printf '%-12s %-8s %-8s %-20s %s\n' "$name" "$(cat "$f")" "$state" ".run/$name.log" "$ready"
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
if code="$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' http://127.0.0.1:8090/web/)" && [ "$code" = 200 ]; then
  echo "web       http://127.0.0.1:8090/web/ (web client) serving"
else
  echo "web       http://127.0.0.1:8090/web/ (web client) not answering"
fi
