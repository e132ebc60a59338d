#!/usr/bin/env bash
# Builds KubeVirt's programs from the kubevirt.io/kubevirt Go module (no registry here ships them)
# into a cache directory outside the repository, once; later calls only print that directory.
#
#   e2e/build-kubevirt.sh [PROGRAM...]   -> prints the directory holding the programs
#
# PROGRAM is a name from the PACKAGES table below; the default is the control plane the e2e suite
# runs: virt-api, virt-controller, virtctl, and kubevirt-install (ours, e2e/kubevirt-install:
# virt-operator's install strategy, printed by virt-operator's own code). Programs that need cgo
# (virt-handler, virt-launcher) are marked in CGO_PROGRAMS and need their C libraries installed.
#
# Environment: VMPOWER_KUBEVIRT_CACHE (target directory), VMPOWER_GO_BUILD_P (go build -p,
# default 2), GOMAXPROCS (default 2). Needs Go >= 1.24 and the Go module proxy. Build output goes
# to stderr; stdout is only the directory.
set -euo pipefail

# The newest v1.8.x: v1.9.0 needs kubevirt.io/virt-template-api v0.2.0, which the Go module proxy
# refuses ("not available"), so it cannot be built from the proxy.
readonly KUBEVIRT_VERSION=v1.8.4

declare -A PACKAGES=(
  [virt-api]=kubevirt.io/kubevirt/cmd/virt-api
  [virt-controller]=kubevirt.io/kubevirt/cmd/virt-controller
  [virt-operator]=kubevirt.io/kubevirt/cmd/virt-operator
  [virtctl]=kubevirt.io/kubevirt/cmd/virtctl
  [virt-handler]=kubevirt.io/kubevirt/cmd/virt-handler
  [virt-launcher]=kubevirt.io/kubevirt/cmd/virt-launcher
  [virt-launcher-monitor]=kubevirt.io/kubevirt/cmd/virt-launcher-monitor
  [kubevirt-install]=./kubevirt-install
)
readonly CGO_PROGRAMS=" virt-handler virt-launcher "
readonly DEFAULT_PROGRAMS=(virt-api virt-controller virtctl kubevirt-install)

here=$(cd "$(dirname "$0")" && pwd)
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/vmpower"
dir="${VMPOWER_KUBEVIRT_CACHE:-$cache_root/kubevirt-$KUBEVIRT_VERSION}"
module="$dir/module"

log() { printf '[build-kubevirt] %s\n' "$*" >&2; }

programs=("$@")
((${#programs[@]})) || programs=("${DEFAULT_PROGRAMS[@]}")
for p in "${programs[@]}"; do
  [[ -n "${PACKAGES[$p]:-}" ]] || { log "unknown program $p (known: ${!PACKAGES[*]})"; exit 2; }
done

# What a built program was built from: the KubeVirt version, and for our own program its source.
source_id() {
  if [[ "$1" == kubevirt-install ]]; then
    printf '%s %s\n' "$KUBEVIRT_VERSION" "$(cat "$here"/kubevirt-install/*.go | sha256sum | cut -d' ' -f1)"
  else
    printf '%s\n' "$KUBEVIRT_VERSION"
  fi
}

built() {
  [[ -x "$dir/$1" && -f "$dir/.$1.built" && "$(cat "$dir/.$1.built")" == "$(source_id "$1")" ]]
}

missing() {
  local p
  for p in "${programs[@]}"; do
    built "$p" || printf '%s\n' "$p"
  done
}

if [[ -z "$(missing)" ]]; then
  printf '%s\n' "$dir"
  exit 0
fi

command -v go >/dev/null || { log "go is not installed (needs Go >= 1.24)"; exit 1; }
go_minor=$(go env GOVERSION)
go_minor="${go_minor#go1.}"
go_minor="${go_minor%%.*}"
if [[ ! "$go_minor" =~ ^[0-9]+$ ]] || ((go_minor < 24)); then
  log "$(go env GOVERSION) is too old: KubeVirt $KUBEVIRT_VERSION needs Go >= 1.24"
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

export GOTOOLCHAIN=local CGO_ENABLED=0
# -mod=mod: the wrapper module's requirements are completed from KubeVirt's go.mod on first use.
export GOFLAGS="-mod=mod ${GOFLAGS:-}"
export GOMAXPROCS="${GOMAXPROCS:-2}"
parallel="${VMPOWER_GO_BUILD_P:-2}"
started=$SECONDS
log "go $(go env GOVERSION); KubeVirt $KUBEVIRT_VERSION: ${todo[*]} into $dir"

# --- The wrapper module. kubevirt.io/kubevirt points kubevirt.io/api and kubevirt.io/client-go at
# ./staging with replace lines that do not apply to a dependent module: copy its replace list with
# the published versions of those two (tagged together with KubeVirt), and its go.sum, so every
# module KubeVirt pins is checked against KubeVirt's own checksums (the checksum database is only
# asked about modules go.sum does not name).
if [[ ! -f "$module/.ready" ]]; then
  rm -rf "$module"
  mkdir -p "$module"
  info=$(cd "$module" && go mod download -json "kubevirt.io/kubevirt@$KUBEVIRT_VERSION")
  kubevirt_src=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$info")
  # the release's commit, as KubeVirt's own build stamps it (the proxy records the tag's origin)
  sed -n 's/^[[:space:]]*"Hash": "\([0-9a-f]*\)",\{0,1\}$/\1/p' <<<"$info" | head -n1 >"$module/commit"
  [[ -f "$kubevirt_src/go.mod" && -f "$kubevirt_src/go.sum" ]] \
    || { log "could not download kubevirt.io/kubevirt@$KUBEVIRT_VERSION"; exit 1; }
  go_line=$(grep -m1 '^go ' "$kubevirt_src/go.mod")
  {
    printf 'module vmpower.local/kubevirt-binaries\n\n%s\n\n' "$go_line"
    printf 'require (\n\tkubevirt.io/kubevirt %s\n\tkubevirt.io/api %s\n\tkubevirt.io/client-go %s\n)\n\n' \
      "$KUBEVIRT_VERSION" "$KUBEVIRT_VERSION" "$KUBEVIRT_VERSION"
    # the replace block, with ./staging paths turned into the published modules
    sed -n '/^replace (/,/^)/p' "$kubevirt_src/go.mod" \
      | sed "s|^\([[:space:]]*\)\(kubevirt\.io/[a-z-]*\) => \./staging/.*$|\1\2 => \2 $KUBEVIRT_VERSION|"
  } >"$module/go.mod"
  if grep -q '=> \./' "$module/go.mod"; then
    log "a replace line still points into KubeVirt's tree:"
    grep '=> \./' "$module/go.mod" >&2
    exit 1
  fi
  cp "$kubevirt_src/go.sum" "$module/go.sum"
  cp "$kubevirt_src/go.sum" "$module/go.sum.kubevirt"
  log "wrapper module: $(grep -c ' => ' "$module/go.mod") replace lines, KubeVirt's go.sum ($(wc -l <"$module/go.sum") lines)"
  touch "$module/.ready"
fi

version_pkg=kubevirt.io/client-go/version
ldflags="-s -w -X $version_pkg.gitVersion=$KUBEVIRT_VERSION -X $version_pkg.gitTreeState=clean"
ldflags+=" -X $version_pkg.gitCommit=$(cat "$module/commit")"
ldflags+=" -X $version_pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"

mkdir -p "$dir/.build"
for p in "${todo[@]}"; do
  if [[ "$p" == kubevirt-install ]]; then
    rm -rf "$module/kubevirt-install"
    cp -r "$here/kubevirt-install" "$module/kubevirt-install"
  fi
  cgo=0
  [[ "$CGO_PROGRAMS" == *" $p "* ]] && cgo=1
  log "building $p (${PACKAGES[$p]}, CGO_ENABLED=$cgo)"
  p_started=$SECONDS
  (cd "$module" && CGO_ENABLED=$cgo go build -p "$parallel" -trimpath -ldflags "$ldflags" \
    -o "$dir/.build/$p" "${PACKAGES[$p]}") >&2
  mv -f "$dir/.build/$p" "$dir/$p"
  source_id "$p" >"$dir/.$p.built"
  log "built $p in $((SECONDS - p_started)) s"
done

# Whatever go added to go.sum must be new modules only: a changed line for a module KubeVirt pins
# would mean the build used other bytes than KubeVirt's (go itself refuses a mismatch).
if added=$(grep -vxF -f "$module/go.sum.kubevirt" "$module/go.sum"); then
  log "go.sum lines beyond KubeVirt's (checked against the checksum database):"
  printf '%s\n' "$added" | sed 's/^/  /' >&2
fi
[[ -x "$dir/virtctl" ]] && "$dir/virtctl" version --client >&2
printf 'kubevirt=%s go=%s seconds=%s programs=%s\n' "$KUBEVIRT_VERSION" "$(go env GOVERSION)" \
  "$((SECONDS - started))" "${todo[*]}" >>"$dir/builds.log"
rm -rf "$dir/.build"
log "done in $((SECONDS - started)) s"
printf '%s\n' "$dir"
