#!/usr/bin/env bash
# Makes a fresh machine ready to run gitfleet and its tests. Idempotent: every step checks
# first and does nothing when it is already done, so `make up` and `make test` call it every
# time. What it does:
#   1. Debian packages the tests and the quick start run for real: redis-server, git, openssl,
#      apache2-utils (htpasswd), chromium (the dashboard's browser tests; no browser download)
#   2. Node.js 24 first on PATH (scripts/node-env.sh; the machines ship Node 20)
#   3. npm ci (when node_modules is missing or older than package-lock.json)
#   4. the Kubernetes binaries (etcd, kube-apiserver, kubectl, kube-controller-manager,
#      kube-scheduler, kwok, helm, the OCI registry) built from source once, cached under ~/.cache/gitfleet
#
#   scripts/setup.sh --node    only steps 2 and 3, for `make test-unit`: the unit tests need
#                              nothing but Node, so neither Go, Debian packages nor root
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

node_only=""
case "${1:-}" in
  "") ;;
  --node) node_only=1 ;;
  *) log "usage: scripts/setup.sh [--node]"; exit 64 ;;
esac

if [ -z "$node_only" ]; then
  # 1. Debian packages
  missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v git >/dev/null || missing+=(git)
  command -v openssl >/dev/null || missing+=(openssl)
  # htpasswd writes the bcrypt users of the OCI registry in the tests and the quick start.
  command -v htpasswd >/dev/null || missing+=(apache2-utils)
  # The dashboard's tests and benchmark drive Debian's Chromium (playwright-core, no download);
  # a font, so that its screenshots have letters.
  command -v chromium >/dev/null || missing+=(chromium)
  [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # The Debian package starts a system redis on 6379; ours run on their own ports.

  if ! command -v go >/dev/null; then
    log "Go is missing: install Go >= 1.26 (https://go.dev/doc/install); the Kubernetes test binaries are built from source with it"
    exit 1
  fi
fi

# 2. Node.js 24
# shellcheck source=scripts/node-env.sh
. scripts/node-env.sh
log "node $(node -v), npm $(npm -v)"

# 3. npm dependencies
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# 4. Kubernetes binaries (cold: several minutes; cached afterwards)
if [ -z "$node_only" ] && [ "${GITFLEET_SKIP_TOOLCHAIN:-}" != 1 ]; then
  test/env/toolchain/build.sh >/dev/null
fi
log "ready"
