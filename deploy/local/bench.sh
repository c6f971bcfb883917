#!/usr/bin/env bash
# make bench: the pressure tool spawns its own cluster (test database, Redis
# dbs 10/11, a private etcd prefix) and writes docs/BENCHMARKS.md.
#   make bench                         the default scenarios (latency-5k, throughput,
#                                      latency-1k, offline, logins, idle-conns, then group-2000-*: one
#                                      2,000-member group, online all/none, 1/2/5 msg/s and the highest
#                                      rate; group-2000-default-2/20/100 and many-conns (2,000
#                                      connections at 15 msg/s each) with the gateways' default flood
#                                      control) in sequence; a scenario that needs other gateway
#                                      settings restarts the cluster. About 15 min on 2 cores.
#   make bench ARGS="--scenarios sweep"  the plot's points: many-conns at 5k..30k msg/s offered,
#                                      group-2000-default at 2/20/100 msg/s
#   Plotted runs (--plot-series) keep their point in docs/bench-plot.json and re-render
#   docs/bench-plot.svg (node test/pressure/dist/plot-main.js re-renders it from the JSON).
#   make bench ARGS="--pairs 10 ..."   one run with these options instead
#   make bench ARGS="--scenarios FILE" your own scenario list
#   make bench ARGS="--mode idle-conns --conns 5000 --label idle-conns-5k"
#                                      N logged-in idle connections: gateway RSS per connection, and heap,
#                                      external and RSS after a GC forced through the gateways' loopback inspector
#   make bench ARGS="--mode idle-conns --conns 5000 --heap-snapshot /tmp/snap --label idle-conns-5k"
#                                      also the heap per connection by object type (two snapshots of msg-1)
set -euo pipefail
# shellcheck source=deploy/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

ensure_tools
ensure_node_modules
ensure_mariadb
ensure_redis
ensure_etcd
build

if [ "$#" -eq 0 ]; then set -- --scenarios default; fi
# Node cannot raise its own fd limit: --mode idle-conns holds one socket per connection in the tool
# and in the gateways it spawns, which inherit this limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || log "could not raise the open-files limit (now $(ulimit -n))"
log "node test/pressure/dist/main.js --spawn-cluster --report docs/BENCHMARKS.md --points docs/bench-plot.json $*"
exec node test/pressure/dist/main.js --spawn-cluster --report docs/BENCHMARKS.md --points docs/bench-plot.json "$@"
