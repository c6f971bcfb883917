#!/bin/bash
# Runs once, when the MariaDB container initialises an empty data directory
# (docker-entrypoint-initdb.d): creates the least-privilege accounts of
# deploy/sql/grants.sql. The passwords come from the container's environment;
# they reach SQL base64-encoded, so no character of theirs needs escaping.
set -euo pipefail
: "${TT_MYSQL_PASSWORD:?TT_MYSQL_PASSWORD (the db-proxy account) is required}"
: "${TT_MYSQL_MIGRATE_PASSWORD:?TT_MYSQL_MIGRATE_PASSWORD (the migration account) is required}"
b64() { printf '%s' "$1" | base64 -w0; }
{
  printf "SET @tt_runtime_password = FROM_BASE64('%s'), @tt_migrate_password = FROM_BASE64('%s');\n" \
    "$(b64 "$TT_MYSQL_PASSWORD")" "$(b64 "$TT_MYSQL_MIGRATE_PASSWORD")"
  cat /tiertalk-sql/grants.sql
} | docker_process_sql
