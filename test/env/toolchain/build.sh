#!/usr/bin/env bash
# Builds the real Kubernetes test binaries from source through the Go module proxy, once,
# and caches them by version outside the repository:
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, helm, kwok, and
#   the OCI registry (distribution) that tests and the quick start push charts to
#
# Each tool is a wrapper module beside this script (go.mod + go.sum, `tool` directives), so
# the exact versions and checksums are committed. A binary already in the cache is reused.
#
# Usage: test/env/toolchain/build.sh [tool...]     (default: all)
# Prints the cache directory (GITFLEET_BIN_DIR) on its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${GITFLEET_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gitfleet}

K8S_VERSION=v1.35.4
ETCD_VERSION=v3.6.16
HELM_VERSION=v4.3.2
REGISTRY_VERSION=v3.1.2
KWOK_VERSION=v0.8.0

bin_dir="$cache/bin"
mkdir -p "$bin_dir"

log() { printf '[toolchain] %s\n' "$*" >&2; }

# build <wrapper-dir> <output-name> <package> <version> [ldflags]
build() {
  local dir=$1 name=$2 pkg=$3 version=$4 ldflags=${5:-}
  local out="$bin_dir/$name-$version"
  if [ -x "$out" ]; then
    ln -sf "$name-$version" "$bin_dir/$name"
    return 0
  fi
  log "building $name $version (cold builds take minutes; cached afterwards in $bin_dir)"
  local start=$SECONDS
  (cd "$here/$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
  ln -sf "$name-$version" "$bin_dir/$name"
  log "built $name in $((SECONDS - start))s"
}

k8s_ldflags() {
  local v=${K8S_VERSION#v} flags=""
  local major=${v%%.*} rest=${v#*.}
  local minor=${rest%%.*}
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  printf '%s' "$flags"
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(etcd kube-apiserver kubectl kube-controller-manager kube-scheduler kwok helm registry)

for tool in "${want[@]}"; do
  case $tool in
    etcd) build etcd etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" ;;
    kube-apiserver | kube-controller-manager | kube-scheduler | kubectl)
      build kubernetes "$tool" "k8s.io/kubernetes/cmd/$tool" "$K8S_VERSION" "$(k8s_ldflags)" ;;
    helm)
      build helm helm helm.sh/helm/v4/cmd/helm "$HELM_VERSION" \
        "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean" ;;
    registry)
      build registry registry github.com/distribution/distribution/v3/cmd/registry "$REGISTRY_VERSION" \
        "-X github.com/distribution/distribution/v3/version.version=$REGISTRY_VERSION" ;;
    kwok) build kwok kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION" ;;
    *) log "unknown tool '$tool' (known: etcd kube-apiserver kubectl kube-controller-manager kube-scheduler kwok helm registry)"; exit 2 ;;
  esac
done

echo "$bin_dir"
