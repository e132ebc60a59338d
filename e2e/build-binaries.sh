#!/usr/bin/env bash
# Builds Kubernetes' programs and etcd from their Go modules (no registry here ships them) into a
# cache directory outside the repository, once each; later calls only print that directory.
#
#   e2e/build-binaries.sh [PROGRAM...]  -> prints the directory holding the programs
#
# PROGRAM: kube-apiserver kubectl etcd (the default: what the e2e suite runs) and kubelet
# kube-controller-manager kube-scheduler (the node suite, e2e/node). Each is built only if missing.
#
# Environment: VMPOWER_K8S_CACHE (target directory), VMPOWER_GO_BUILD_P (go build -p, default 2),
# GOMAXPROCS (default 2). Needs Go >= 1.26 (Kubernetes 1.37's go.mod says go 1.26.0) and the Go
# module proxy. Build output goes to stderr; stdout is only the directory.
set -euo pipefail

readonly K8S_VERSION=v1.37.2
readonly ETCD_VERSION=v3.7.3
readonly KUBE_PROGRAMS=" kube-apiserver kubectl kubelet kube-controller-manager kube-scheduler "
readonly DEFAULT_PROGRAMS=(kube-apiserver kubectl etcd)

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/vmpower"
dir="${VMPOWER_K8S_CACHE:-$cache_root/k8s-$K8S_VERSION-etcd-$ETCD_VERSION}"
build_log="$dir/builds.log"

log() { printf '[build-binaries] %s\n' "$*" >&2; }

programs=("$@")
((${#programs[@]})) || programs=("${DEFAULT_PROGRAMS[@]}")
for p in "${programs[@]}"; do
  [[ "$KUBE_PROGRAMS" == *" $p "* || "$p" == etcd ]] || { log "unknown program $p"; exit 2; }
done

# A program is moved into the directory only once built, so being there means complete.
missing() {
  local p
  for p in "${programs[@]}"; do
    [[ -x "$dir/$p" ]] || printf '%s\n' "$p"
  done
}

if [[ -z "$(missing)" ]]; then
  printf '%s\n' "$dir"
  exit 0
fi

command -v go >/dev/null || { log "go is not installed (needs Go >= 1.26)"; exit 1; }
go_version=$(go env GOVERSION)
go_minor="${go_version#go1.}"
go_minor="${go_minor%%.*}"
if [[ ! "$go_minor" =~ ^[0-9]+$ ]] || ((go_minor < 26)); then
  log "$go_version is too old: Kubernetes $K8S_VERSION needs Go >= 1.26"
  exit 1
fi
mkdir -p "$dir"
# Two test runs starting at once must not build twice into the same place.
exec 9>"$dir/.lock"
flock 9
mapfile -t todo < <(missing)
if ((${#todo[@]} == 0)); then
  printf '%s\n' "$dir"
  exit 0
fi
kube_todo=()
etcd_todo=false
for p in "${todo[@]}"; do
  if [[ "$p" == etcd ]]; then etcd_todo=true; else kube_todo+=("$p"); fi
done

export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
export GOMAXPROCS="${GOMAXPROCS:-2}"
parallel="${VMPOWER_GO_BUILD_P:-2}"
work="$dir/.build"
rm -rf "$work"
mkdir -p "$work/k8s" "$work/etcd" "$work/bin"
started=$SECONDS

# --- Kubernetes: k8s.io/kubernetes points its staging modules (k8s.io/api, ...) at ./staging with
# replace lines that do not apply to a dependent module, so mirror them with the published v0.x.y.
build_kubernetes() {
  local k8s_mod staging_version build_date minor ldflags pkg b b_started
  k8s_mod=$(cd "$work/k8s" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" \
    | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [[ -f "$k8s_mod" ]] || { log "could not download k8s.io/kubernetes@$K8S_VERSION"; exit 1; }
  staging_version="v0.${K8S_VERSION#v1.}"
  {
    printf 'module vmpower.local/k8s-binaries\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$K8S_VERSION"
    sed -n 's|^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/k8s\.io/.*$|\1|p' "$k8s_mod" \
      | while read -r m; do printf '\t%s => %s %s\n' "$m" "$m" "$staging_version"; done
    printf ')\n'
  } >"$work/k8s/go.mod"
  log "$(grep -c ' => ' "$work/k8s/go.mod") staging modules pinned to $staging_version"

  build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  minor="${K8S_VERSION#v1.}"
  minor="${minor%%.*}"
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
  done

  cd "$work/k8s"
  go get "k8s.io/kubernetes@$K8S_VERSION" >&2
  for b in "${kube_todo[@]}"; do
    log "building $b"
    b_started=$SECONDS
    go build -p "$parallel" -trimpath -ldflags "$ldflags" -o "$work/bin/$b" "k8s.io/kubernetes/cmd/$b" >&2
    mv -f "$work/bin/$b" "$dir/$b"
    log "built $b in $((SECONDS - b_started)) s"
  done
}

# --- etcd: the server's main package is the module go.etcd.io/etcd/server/v3 itself.
build_etcd() {
  cd "$work/etcd"
  printf 'module vmpower.local/etcd-binary\n\ngo 1.26.0\n' >go.mod
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2
  log "building etcd"
  go build -p "$parallel" -trimpath -ldflags "-s -w" -o "$work/bin/etcd" go.etcd.io/etcd/server/v3 >&2
  mv -f "$work/bin/etcd" "$dir/etcd"
}

log "go $(go env GOVERSION); Kubernetes $K8S_VERSION, etcd $ETCD_VERSION: ${todo[*]} into $dir"
if ((${#kube_todo[@]})); then (build_kubernetes); fi
if $etcd_todo; then (build_etcd); fi
for p in "${todo[@]}"; do
  "$dir/$p" --version >&2 || true
done
printf 'kubernetes=%s etcd=%s go=%s seconds=%s programs=%s\n' "$K8S_VERSION" "$ETCD_VERSION" \
  "$(go env GOVERSION)" "$((SECONDS - started))" "${todo[*]}" >>"$build_log"
rm -rf "$work"
log "done in $((SECONDS - started)) s"
printf '%s\n' "$dir"
