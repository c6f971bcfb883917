#!/usr/bin/env bash
# make up: one local TierTalk cluster (two db-proxies, one push service, two routes, two msg
# gateways, one login) on top of MariaDB, Redis and etcd. Safe to run again:
# live processes are kept.
#   LISTEN_HOST=0.0.0.0 PUBLIC_IP=<lan ip> make up   to serve clients on the LAN.
#   DB_PROXIES=3 ROUTES=2 GATEWAYS=4 LOGINS=2 make up   other instance counts (1-8 each).
# Instance i (from 1) of a tier listens on the tier's base port + i - 1:
#   db-proxy gRPC 10600+; route gRPC 8200+; msg TCP 8000+, TLS 8443+, WebSocket (wss) 8400+, gRPC 8300+;
#   login HTTP 8080+, legacy TCP 8008+, web client 8090+ (docs/WEB-CLIENT.md).
# One msfs file store (docs/MSFS.md) on ${MSFS_HTTP_PORT:-8700}, files in .run/msfs; login hands it out as msfsPrior.
# One push service (services/push, docs/OPERATIONS.md "Push notifications") on gRPC 8500, metrics 9500;
# its providers come from TT_APNS_* / TT_FCM_* / TT_VAPID_* / TT_WEBHOOK_* in make up's environment.
# One file server (docs/FILES.md): clients on ${FILE_PORT:-8610}, gRPC 8510; offline files in .run/msfs beside msfs's.
# One admin HTTP API (docs/ADMIN.md) on 127.0.0.1:${ADMIN_HTTP_PORT:-8600}; its bearer token is made once
# and kept in .run/admin-token. One send API (docs/HTTP-API.md) on 127.0.0.1:${HTTP_API_PORT:-8900}, its
# token in .run/http-api-token.
# Prometheus /metrics (and /healthz, /readyz): db-proxy 9600+, route 9200+, msg 9300+, push 9500, msfs 9800, file 9850, admin 9700, http-api 9900, login on its HTTP port.
# Client TLS uses the development PKI in .run/tls (trust .run/tls/ca.crt; its certificates name
# localhost and 127.0.0.1, so a client reaching PUBLIC_IP checks the name localhost: --servername localhost).
set -euo pipefail
# shellcheck source=deploy/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

LISTEN_HOST="${LISTEN_HOST:-127.0.0.1}"
PUBLIC_IP="${PUBLIC_IP:-127.0.0.1}"
REDIS_MAIN="redis://127.0.0.1:6379/1"
REDIS_SYNC="redis://127.0.0.1:6379/2"
REDIS_SESSIONS="redis://127.0.0.1:6379/3"
READY_TIMEOUT=30
DB_PROXIES="${DB_PROXIES:-2}"
ROUTES="${ROUTES:-2}"
GATEWAYS="${GATEWAYS:-2}"
LOGINS="${LOGINS:-1}"
ADMIN_HTTP_PORT="${ADMIN_HTTP_PORT:-8600}"
# Fixed, like the tiers' metrics ports: make status reads admin-1's /readyz there.
ADMIN_METRICS_PORT=9700
MSFS_HTTP_PORT="${MSFS_HTTP_PORT:-8700}"
MSFS_METRICS_PORT=9800
HTTP_API_PORT="${HTTP_API_PORT:-8900}"
HTTP_API_METRICS_PORT=9900
FILE_PORT="${FILE_PORT:-8610}"
FILE_GRPC_PORT=8510
FILE_METRICS_PORT=9850

# 8 at most: msg's TCP ports (8000+) must stay below login's legacy port (8008+).
check_count() {
  [[ "$2" =~ ^[1-8]$ ]] || die "$1 must be a number from 1 to 8, got '$2'"
}
check_count DB_PROXIES "$DB_PROXIES"
check_count ROUTES "$ROUTES"
check_count GATEWAYS "$GATEWAYS"
check_count LOGINS "$LOGINS"

ensure_tools
ensure_node_modules
ensure_mariadb
ensure_redis
build
ensure_pki
ensure_secure_etcd

log "migrating $MYSQL_URL"
TT_MYSQL_MASTER_URL="$MYSQL_URL" node services/db-proxy/dist/migrate-main.js --seed-demo

# db-proxy runs as the least-privilege account `tiertalk` (deploy/sql/grants.sql: SELECT, INSERT,
# UPDATE, DELETE on teamtalk); its development password is made once and kept in .run/.
# Migrations above keep root (they need DDL).
DB_PASSWORD_FILE="$RUN_DIR/mysql-tiertalk.password"
if [ ! -s "$DB_PASSWORD_FILE" ]; then
  (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(16).toString("hex"))' >"$DB_PASSWORD_FILE")
fi
DB_PASSWORD="$(cat "$DB_PASSWORD_FILE")"
{
  printf "SET @tt_runtime_password = '%s', @tt_migrate_password = '%s', @tt_host = '127.0.0.1';\n" \
    "$DB_PASSWORD" "$(node -e 'process.stdout.write(require("crypto").randomBytes(16).toString("hex"))')"
  cat deploy/sql/grants.sql
} | mysql -uroot -h127.0.0.1 -P3306 || die "could not create the MariaDB account tiertalk (deploy/sql/grants.sql)"
DB_PROXY_MYSQL_URL="mysql://tiertalk:$DB_PASSWORD@127.0.0.1:3306/teamtalk"

# Every tier speaks mutual TLS (certificates in .run/tls, docs/SECURITY.md), etcd included.
COMMON=(
  TT_ETCD_ENDPOINTS="$SECURE_ETCD_URL"
  TT_TLS_CA="$TLS_DIR/ca.crt"
  TT_ETCD_PREFIX=/tiertalk
  TT_LOG_LEVEL="${TT_LOG_LEVEL:-info}"
  TT_GRPC_HOST=127.0.0.1
  # Development secrets (passwordless MySQL root, TeamTalk's AES key) are refused in production.
  TT_ENV=development
)
NAMES=()
declare -A PORTS=()

# start_service <name> <service> <ports shown in the table> [VAR=value ...]
start_service() {
  local name="$1" svc="$2" ports="$3"
  shift 3
  local pidfile="$RUN_DIR/$name.pid" logfile="$RUN_DIR/$name.log" main="services/$svc/dist/main.js"
  NAMES+=("$name")
  PORTS[$name]="$ports"
  if pid_alive "$pidfile" "$main"; then
    log "$name already running (pid $(cat "$pidfile"))"
    return 0
  fi
  [ -f "$main" ] || die "$main is missing (did npm run build fail?)"
  printf '\n=== %s start %s ===\n' "$(date -Is)" "$name" >>"$logfile"
  # NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=.run/prof") goes to every service's node.
  # shellcheck disable=SC2086
  setsid nohup env "${COMMON[@]}" TT_INSTANCE_ID="$name" TT_TLS_CERT="$TLS_DIR/$svc.crt" TT_TLS_KEY="$TLS_DIR/$svc.key" "$@" node ${NODE_ARGS:-} "$ROOT/$main" >>"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
  log "$name started (pid $!)"
}

# Prints the log tails of dead processes (of all, if none died) and exits 1.
fail_with_logs() {
  local name dead=()
  printf 'error: %s\n' "$1" >&2
  for name in "${NAMES[@]}"; do
    pid_alive "$RUN_DIR/$name.pid" "dist/main.js" || dead+=("$name")
  done
  [ "${#dead[@]}" -gt 0 ] || dead=("${NAMES[@]}")
  for name in "${dead[@]}"; do
    printf -- '--- %s: tail of .run/%s.log ---\n' "$name" "$name" >&2
    run_tail "$RUN_DIR/$name.log" 30 >&2
  done
  printf 'Whatever else started is still running: make status / make logs / make down\n' >&2
  exit 1
}

# Waits until a local TCP port accepts connections, or its process dies.
wait_port() {
  local name="$1" port="$2" i
  for i in $(seq 1 $((READY_TIMEOUT * 5))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    pid_alive "$RUN_DIR/$name.pid" "dist/main.js" || fail_with_logs "$name exited during start-up"
    sleep 0.2
  done
  fail_with_logs "$name did not open port $port within ${READY_TIMEOUT}s"
}

# Every instance of a tier starts at once; the next tier waits until they all listen.
for i in $(seq 1 "$DB_PROXIES"); do
  port=$((10600 + i - 1))
  start_service "db-proxy-$i" db-proxy "grpc $port, metrics $((9600 + i - 1))" \
    TT_GRPC_PORT="$port" TT_METRICS_PORT=$((9600 + i - 1)) \
    TT_MYSQL_MASTER_URL="$DB_PROXY_MYSQL_URL" TT_MYSQL_REPLICA_URL="$DB_PROXY_MYSQL_URL" \
    TT_REDIS_UNREAD_URL="$REDIS_MAIN" TT_REDIS_GROUP_SET_URL="$REDIS_MAIN" TT_REDIS_TOKEN_URL="$REDIS_MAIN" \
    TT_REDIS_GROUP_MEMBER_URL="$REDIS_MAIN" TT_REDIS_SYNC_URL="$REDIS_SYNC"
done
for i in $(seq 1 "$DB_PROXIES"); do wait_port "db-proxy-$i" $((10600 + i - 1)); done

# Push notifications for users without a session (route finds it in etcd). Without provider
# settings it runs and counts what it could not send (tt_push_skipped_total{reason="no_provider"}).
start_service "push-1" push "grpc 8500, metrics 9500" TT_GRPC_PORT=8500 TT_METRICS_PORT=9500
wait_port "push-1" 8500

for i in $(seq 1 "$ROUTES"); do
  port=$((8200 + i - 1))
  start_service "route-$i" route "grpc $port, metrics $((9200 + i - 1))" \
    TT_GRPC_PORT="$port" TT_METRICS_PORT=$((9200 + i - 1)) TT_SESSION_REDIS_URL="$REDIS_SESSIONS"
done
for i in $(seq 1 "$ROUTES"); do wait_port "route-$i" $((8200 + i - 1)); done

# Client-facing TLS (TeamTalk over TLS, wss://): the development PKI, created once and kept.
node libs/tls/dist/dev-pki-cli.js "$RUN_DIR/tls" >/dev/null
for i in $(seq 1 "$GATEWAYS"); do
  tcp=$((8000 + i - 1)) tls=$((8443 + i - 1)) ws=$((8400 + i - 1)) grpc=$((8300 + i - 1))
  start_service "msg-$i" msg "tcp $tcp, tls $tls, wss $ws, grpc $grpc, metrics $((9300 + i - 1))" \
    TT_GRPC_PORT="$grpc" TT_TCP_PORT="$tcp" TT_WS_PORT="$ws" TT_TLS_TCP_PORT="$tls" TT_METRICS_PORT=$((9300 + i - 1)) \
    TT_CLIENT_TLS_CERT="$RUN_DIR/tls/msg.crt" TT_CLIENT_TLS_KEY="$RUN_DIR/tls/msg.key" \
    TT_LISTEN_HOST="$LISTEN_HOST" TT_IP1="$PUBLIC_IP" TT_IP2="$PUBLIC_IP"
done
for i in $(seq 1 "$GATEWAYS"); do wait_port "msg-$i" $((8000 + i - 1)); done

# The file store (services/msfs) before login, so the first /msg_server answer already names it.
start_service "msfs-1" msfs "http $MSFS_HTTP_PORT (uploads, downloads), metrics $MSFS_METRICS_PORT" \
  TT_MSFS_HTTP_HOST="$LISTEN_HOST" TT_MSFS_HTTP_PORT="$MSFS_HTTP_PORT" TT_METRICS_PORT="$MSFS_METRICS_PORT" \
  TT_MSFS_PUBLIC_URL="http://$PUBLIC_IP:$MSFS_HTTP_PORT/" TT_MSFS_DIR="$RUN_DIR/msfs"
wait_port "msfs-1" "$MSFS_HTTP_PORT"

# The file server (services/file): online relay and offline files, on msfs's storage; gateways find it in etcd.
start_service "file-1" file "tcp $FILE_PORT (file transfer), grpc $FILE_GRPC_PORT, metrics $FILE_METRICS_PORT" \
  TT_FILE_HOST="$LISTEN_HOST" TT_FILE_PORT="$FILE_PORT" TT_FILE_PUBLIC_IP="$PUBLIC_IP" TT_GRPC_PORT="$FILE_GRPC_PORT" \
  TT_METRICS_PORT="$FILE_METRICS_PORT" TT_MSFS_DIR="$RUN_DIR/msfs"
wait_port "file-1" "$FILE_PORT"

for i in $(seq 1 "$LOGINS"); do
  http=$((8080 + i - 1)) legacy=$((8008 + i - 1)) web=$((8090 + i - 1))
  start_service "login-$i" login "http $http, legacy tcp $legacy, web $web" \
    TT_HTTP_PORT="$http" TT_HTTP_HOST="$LISTEN_HOST" TT_LEGACY_TCP_PORT="$legacy" \
    TT_WEB_ENABLED=true TT_WEB_PORT="$web"
done
for i in $(seq 1 "$LOGINS"); do wait_port "login-$i" $((8080 + i - 1)); done

# The admin HTTP API (services/admin): loopback only; the token is read from a file, so it is
# neither in the environment nor in `ps`.
ADMIN_TOKEN_FILE="$RUN_DIR/admin-token"
if [ ! -s "$ADMIN_TOKEN_FILE" ]; then
  (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("hex"))' >"$ADMIN_TOKEN_FILE")
fi
start_service "admin-1" admin "http $ADMIN_HTTP_PORT (admin API, 127.0.0.1), metrics $ADMIN_METRICS_PORT" \
  TT_ADMIN_HTTP_HOST=127.0.0.1 TT_ADMIN_HTTP_PORT="$ADMIN_HTTP_PORT" TT_ADMIN_TOKEN_FILE="$ADMIN_TOKEN_FILE" \
  TT_METRICS_PORT="$ADMIN_METRICS_PORT"
wait_port "admin-1" "$ADMIN_HTTP_PORT"

# The send API (services/http-api, TeamTalk's http_msg_server paths): loopback only, its token in a file like admin's.
HTTP_API_TOKEN_FILE="$RUN_DIR/http-api-token"
if [ ! -s "$HTTP_API_TOKEN_FILE" ]; then
  (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("hex"))' >"$HTTP_API_TOKEN_FILE")
fi
start_service "http-api-1" http-api "http $HTTP_API_PORT (send API, 127.0.0.1), metrics $HTTP_API_METRICS_PORT" \
  TT_HTTP_API_HOST=127.0.0.1 TT_HTTP_API_PORT="$HTTP_API_PORT" TT_HTTP_API_TOKEN_FILE="$HTTP_API_TOKEN_FILE" \
  TT_METRICS_PORT="$HTTP_API_METRICS_PORT"
wait_port "http-api-1" "$HTTP_API_PORT"

log "waiting for http://127.0.0.1:8080/msg_server to offer a gateway"
ok=0
for i in $(seq 1 $((READY_TIMEOUT * 2))); do
  if curl -s --max-time 2 http://127.0.0.1:8080/msg_server 2>/dev/null | grep -q '"code":0'; then ok=1; break; fi
  for name in "${NAMES[@]}"; do
    pid_alive "$RUN_DIR/$name.pid" "dist/main.js" || fail_with_logs "$name exited"
  done
  sleep 0.5
done
[ "$ok" -eq 1 ] || fail_with_logs "login did not answer \"code\":0 within ${READY_TIMEOUT}s"

printf '\nTierTalk is up.\n\n'
printf '%-12s %-8s %-46s %s\n' NAME PID PORTS LOG
for name in "${NAMES[@]}"; do
  printf '%-12s %-8s %-46s %s\n' "$name" "$(cat "$RUN_DIR/$name.pid")" "${PORTS[$name]}" ".run/$name.log"
done
if [ -f "$RUN_DIR/etcd-tls.pid" ] && pid_alive "$RUN_DIR/etcd-tls.pid" etcd; then
  printf '%-12s %-8s %-46s %s\n' etcd-tls "$(cat "$RUN_DIR/etcd-tls.pid")" "client 2479 (TLS), peer 2480" ".run/etcd-tls.log"
else
  printf '%-12s %-8s %-46s %s\n' etcd-tls "-" "client 2479 (not started by make up)" "-"
fi
cat <<EOF

MySQL    $MYSQL_URL
Redis    db 1 (unread, group_set, token, group_member), db 2 (sync), db 3 (route sessions)
TLS      .run/tls: ca.crt, <service>.crt/.key, admin.crt/.key (mutual TLS between tiers and to etcd)
Admin    HTTP API http://127.0.0.1:$ADMIN_HTTP_PORT, token in .run/admin-token (docs/ADMIN.md):
           curl -H "Authorization: Bearer \$(cat .run/admin-token)" http://127.0.0.1:$ADMIN_HTTP_PORT/v1/users
         admin token: $(cat "$ADMIN_TOKEN_FILE")
         CLI: TT_ETCD_ENDPOINTS=$SECURE_ETCD_URL TT_TLS_CA=.run/tls/ca.crt TT_TLS_CERT=.run/tls/admin.crt \\
              TT_TLS_KEY=.run/tls/admin.key node services/admin/dist/cli.js user list
Send API http://127.0.0.1:$HTTP_API_PORT, token in .run/http-api-token (docs/HTTP-API.md):
           curl -H "Authorization: Bearer \$(cat .run/http-api-token)" -H 'Content-Type: application/json' \\
                -d '{"to_user_id":2,"msg_data":"hello from the system"}' http://127.0.0.1:$HTTP_API_PORT/query/SendMessage

Files    msfs http://$PUBLIC_IP:$MSFS_HTTP_PORT/ (images, voice; stored in .run/msfs; docs/MSFS.md)
         file server $PUBLIC_IP:$FILE_PORT (file transfer, offline files in .run/msfs/offline; docs/FILES.md)

Log in with a TeamTalk client: login server http://$PUBLIC_IP:8080/msg_server
  users alice, bob, carol, dave - password: tiertalk
Web client: http://$PUBLIC_IP:8090/web/ (its WebSocket is wss:// with the development CA: trust
  .run/tls/ca.crt in the browser, or open https://$PUBLIC_IP:8400/ once and accept it; docs/WEB-CLIENT.md)
Over TLS (gateway TLS ports 8443+, wss:// on 8400+), trusting the development CA:
  npm run chat -- --user alice --ca .run/tls/ca.crt
make status | make logs | make down
EOF
