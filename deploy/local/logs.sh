#!/usr/bin/env bash
# make logs: follow every log under .run/ (Ctrl-C to stop).
set -euo pipefail
# shellcheck source=deploy/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

shopt -s nullglob
files=("$RUN_DIR"/*.log)
[ "${#files[@]}" -gt 0 ] || die "no logs in $RUN_DIR (run make up first)"
exec tail -n "${LINES_PER_LOG:-20}" -F "${files[@]}"
