#!/usr/bin/env bash
# Builds KubeVirt's node programs (what the virt-launcher and virt-handler images hold) from the
# same kubevirt.io/kubevirt release and wrapper module as e2e/build-kubevirt.sh, into that
# script's cache directory, once; later calls only print the directory.
#
#   build-kubevirt-node.sh   -> prints the directory (the one build-kubevirt.sh prints)
#
# virt-launcher (libvirt, libnbd) and virt-handler (KVM capability probe) need cgo. They are built
# inside a Debian trixie root filesystem (rootfs.sh) with the host's Go bind-mounted, not on the
# Debian 12 host: the binaries then link against exactly the glibc 2.41, libvirt 11.3 and libnbd
# 1.22 that the images are made of (trixie root filesystems too), and no host library or C
# toolchain mixes in. The pure Go helpers are built there as well, with CGO_ENABLED=0, like
# KubeVirt does.
#
# libnbd: KubeVirt pins libguestfs.org/libnbd v1.25.2-5-g48df7c4d2b, which it vendors; the Go
# module proxy refuses it (403) and libguestfs.org serves no go-get. libnbd ships its Go bindings
# in its release tarball (golang/), so they come from Debian's source package of the very libnbd
# the build links against (1.22.2), through a replace line in a copy of the wrapper module, with
# one exported C symbol renamed (it clashes with libvirt-go's).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"
node_need_root

build_kubevirt=${VMPOWER_BUILD_KUBEVIRT:-$here/../../build-kubevirt.sh}
[[ -f "$build_kubevirt" ]] || node_die "$build_kubevirt (KubeVirt's build and wrapper module, issue 13) is missing"
dir=$(bash "$build_kubevirt" virtctl)
module="$dir/module"
version=$(sed -n 's/^[[:space:]]*kubevirt\.io\/kubevirt \(v[0-9.]*\)$/\1/p' "$module/go.mod" | head -n1)
[[ -n "$version" ]] || node_die "no kubevirt.io/kubevirt version in $module/go.mod"

# program -> package, and whether it needs cgo (as KubeVirt's BUILD.bazel files build them)
declare -A PACKAGES=(
  [virt-launcher]=cmd/virt-launcher
  [virt-launcher-monitor]=cmd/virt-launcher-monitor
  [virt-freezer]=cmd/virt-freezer
  [virt-probe]=cmd/virt-probe
  [virt-tail]=cmd/virt-tail
  [libvirt-hook-client]=cmd/virt-launcher/libvirt-hook-client
  [virt-handler]=cmd/virt-handler
  [virt-chroot]=cmd/virt-chroot
  [kubevirt-operator]=./kubevirt-operator # ours: the release's kubevirt-operator.yaml, printed
)
readonly CGO_PROGRAMS=" virt-launcher virt-handler "
programs=("${!PACKAGES[@]}" container-disk)

# What a program was built from: the KubeVirt version, and for our own program its source.
source_id() {
  if [[ "$1" == kubevirt-operator ]]; then
    printf '%s %s\n' "$version" "$(cat "$here"/../kubevirt-operator/*.go | sha256sum | cut -d' ' -f1)"
  else
    printf '%s\n' "$version"
  fi
}
built() { [[ -x "$dir/$1" && -f "$dir/.$1.built" && "$(cat "$dir/.$1.built")" == "$(source_id "$1")" ]]; }
missing() {
  local p
  for p in "${programs[@]}"; do built "$p" || printf '%s\n' "$p"; done
}
if [[ -z "$(missing)" ]]; then
  printf '%s\n' "$dir"
  exit 0
fi

exec 9>"$dir/.lock" # the same lock as build-kubevirt.sh: one build in this directory at a time
flock 9
mapfile -t todo < <(missing)
if ((${#todo[@]} == 0)); then
  printf '%s\n' "$dir"
  exit 0
fi
started=$SECONDS

# --- the build root: trixie with a C toolchain and the libraries' headers, unpacked once
tarball=$(bash "$here/rootfs.sh" kubevirt-build gcc libc6-dev pkg-config libvirt-dev libnbd-dev ca-certificates)
root="$node_cache/kubevirt-build-root"
if [[ "$(cat "$root/.from" 2>/dev/null)" != "$tarball" ]]; then
  rm -rf --one-file-system "$root"
  mkdir -p "$root"
  tar --numeric-owner -C "$root" -xf "$tarball"
  printf '%s\n' "$tarball" >"$root/.from"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
work="$node_cache/kubevirt-cgo"
mkdir -p "$work/gocache" "$work/out" "$root/usr/local/go" "$root/gomodcache" "$root/gocache" "$root/work"
goroot=$(go env GOROOT)
gomodcache=$(go env GOMODCACHE)
host_cas=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}

# Runs a bash script inside the build root with Go, the module cache and $work mounted; the
# mounts live in a private mount namespace and end with the command.
in_build_root() {
  # shellcheck disable=SC2016  # expanded by the inner bash
  unshare --mount --propagation private -- bash -euo pipefail -c '
    root=$1 goroot=$2 gomodcache=$3 work=$4 host_cas=$5; shift 5
    mount -t proc proc "$root/proc"
    mount --bind /dev "$root/dev"
    mount --bind -o ro "$goroot" "$root/usr/local/go"
    mount --bind "$gomodcache" "$root/gomodcache"
    mount --bind "$work/gocache" "$root/gocache"
    mount --bind "$work" "$root/work"
    # The CAs the host trusts (Go fetches modules and checks sums through TLS, possibly through a
    # proxy whose CA only the host has: seen on a cold run here, x509 unknown authority).
    touch "$root/etc/ssl/host-ca-certificates.crt"
    mount --bind -o ro "$host_cas" "$root/etc/ssl/host-ca-certificates.crt"
    exec chroot "$root" env -i PATH=/usr/local/go/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
      SSL_CERT_FILE=/etc/ssl/host-ca-certificates.crt \
      GOMODCACHE=/gomodcache GOCACHE=/gocache GOTOOLCHAIN=local GOFLAGS=-mod=mod \
      GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}" GOMAXPROCS="${GOMAXPROCS:-2}" \
      bash -euo pipefail -c "$1"' in_build_root "$root" "$goroot" "$gomodcache" "$work" "$host_cas" "$@"
}

# --- libnbd's Go bindings from Debian's source package of the installed libnbd
if [[ ! -f "$work/libnbd-go/go.mod" ]]; then
  node_log "libnbd Go bindings from Debian's libnbd source package"
  in_build_root '
    grep -q "^deb-src" /etc/apt/sources.list || sed -n "s/^deb /deb-src /p" /etc/apt/sources.list >>/etc/apt/sources.list
    apt-get update -qq
    rm -rf /work/libnbd-src && mkdir /work/libnbd-src && cd /work/libnbd-src
    apt-get source -qq --download-only libnbd-dev
    tar -xzf libnbd_*.orig.tar.gz
    rm -rf /work/libnbd-go && cp -r libnbd-*/golang /work/libnbd-go
    rm -f /work/libnbd-go/*_test.go
    cd / && rm -rf /work/libnbd-src /var/lib/apt/lists/*'
fi

# libvirt-go and libnbd 1.22's bindings both export the C symbol freeCallbackId: virt-launcher,
# which links both, fails with "multiple definition of `freeCallbackId'". KubeVirt's pinned libnbd
# commit is newer than any release Debian has; renaming the symbol in the bindings is the fix.
sed -i 's/\bfreeCallbackId\b/libnbdFreeCallbackId/g' "$work"/libnbd-go/*.go "$work"/libnbd-go/*.h

# --- the wrapper module, with libnbd pointed at those bindings
mkdir -p "$work/module"
cp "$module/go.sum" "$work/module/go.sum"
{
  cat "$module/go.mod"
  printf '\nreplace libguestfs.org/libnbd => ../libnbd-go\n'
} >"$work/module/go.mod"

rm -rf "$work/module/kubevirt-operator"
cp -r "$here/../kubevirt-operator" "$work/module/kubevirt-operator"

# --- container-disk: a small C program, linked statically as KubeVirt's cc_binary does
kubevirt_src=$(cd "$module" && GOFLAGS=-mod=mod GOTOOLCHAIN=local go list -m -f '{{.Dir}}' kubevirt.io/kubevirt)
cp "$kubevirt_src/cmd/container-disk-v2alpha/main.c" "$work/container-disk.c"

version_pkg=kubevirt.io/client-go/version
ldflags="-s -w -X $version_pkg.gitVersion=$version -X $version_pkg.gitTreeState=clean"
ldflags+=" -X $version_pkg.gitCommit=$(cat "$module/commit" 2>/dev/null || true)"
ldflags+=" -X $version_pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
script="cd /work/module"
for p in "${todo[@]}"; do
  if [[ "$p" == container-disk ]]; then
    script+="; gcc -static -Os -o /work/out/container-disk /work/container-disk.c"
    continue
  fi
  cgo=0
  [[ "$CGO_PROGRAMS" == *" $p "* ]] && cgo=1
  script+="; echo '[build-kubevirt-node] building $p (CGO_ENABLED=$cgo)' >&2"
  script+="; CGO_ENABLED=$cgo go build -p ${VMPOWER_GO_BUILD_P:-2} -trimpath -ldflags '$ldflags'"
  pkg=${PACKAGES[$p]}
  [[ "$pkg" == ./* ]] || pkg="kubevirt.io/kubevirt/$pkg"
  script+=" -o /work/out/$p $pkg"
done
node_log "KubeVirt $version in $DEBIAN_SUITE: ${todo[*]}"
in_build_root "$script" >&2
for p in "${todo[@]}"; do
  mv -f "$work/out/$p" "$dir/$p"
  source_id "$p" >"$dir/.$p.built"
done
printf 'kubevirt=%s node programs in %s: seconds=%s programs=%s\n' "$version" "$DEBIAN_SUITE" \
  "$((SECONDS - started))" "${todo[*]}" >>"$dir/builds.log"
node_log "done in $((SECONDS - started)) s"
printf '%s\n' "$dir"
