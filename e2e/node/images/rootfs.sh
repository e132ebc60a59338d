#!/usr/bin/env bash
# Debian trixie root filesystems, cached as tarballs outside the repository: a minimal base made
# by debootstrap once, and variants of it with more packages installed (apt-get in a chroot).
# Debian 12's libnbd (1.14) is too old for KubeVirt's virt-launcher; trixie has libvirt 11.3,
# QEMU 10.0, libnbd 1.22 and passt (DESIGN.md section 10).
#
#   rootfs.sh base                 -> prints the base tarball's path
#   rootfs.sh NAME PACKAGE...      -> prints the path of the base plus PACKAGEs (built once per list)
#
# VMPOWER_ROOTFS_SUITE picks another Debian release (bookworm for vmpower's own image, whose
# Dockerfile runs on Debian 12's OpenJDK 17).
# Every chroot runs in its own mount namespace (unshare -m), so its /proc, /dev and /sys mounts
# end with it, also when it fails: nothing is left mounted on the host.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"
node_need_root

dir="$node_cache/rootfs"
mkdir -p "$dir"
exec 8>"$dir/.lock"
flock 8

suite=${VMPOWER_ROOTFS_SUITE:-$DEBIAN_SUITE}
base="$dir/$suite-base.tar"

# Runs "$@" inside ROOT with /proc, /sys and /dev, in a private mount namespace.
in_root() {
  local root=$1
  shift
  # shellcheck disable=SC2016  # expanded by the inner bash
  unshare --mount --propagation private -- bash -euo pipefail -c '
    root=$1; shift
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount --rbind /dev "$root/dev"
    exec chroot "$root" "$@"' in_root "$root" "$@"
}

make_base() {
  local work
  work=$(mktemp -d "$dir/base.XXXXXX")
  trap 'rm -rf "$work"' RETURN
  node_log "debootstrap --variant=minbase $suite from $DEBIAN_MIRROR"
  local started=$SECONDS
  # debootstrap mounts /proc and /sys in the target itself; the namespace takes them away.
  unshare --mount --propagation private -- \
    debootstrap --variant=minbase "$suite" "$work/root" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; node_die "debootstrap failed"; }
  # No services start inside a chroot or an image build.
  printf '#!/bin/sh\nexit 101\n' >"$work/root/usr/sbin/policy-rc.d"
  chmod 755 "$work/root/usr/sbin/policy-rc.d"
  in_root "$work/root" apt-get clean
  rm -rf "$work/root/var/lib/apt/lists/"*
  tar --numeric-owner --xattrs --xattrs-include='*' -C "$work/root" -cf "$base.tmp" .
  mv -f "$base.tmp" "$base"
  node_log "base $suite rootfs in $((SECONDS - started)) s: $(du -h "$base" | cut -f1)"
}

make_variant() {
  local out=$1
  shift
  local work started=$SECONDS
  work=$(mktemp -d "$dir/variant.XXXXXX")
  trap 'rm -rf "$work"' RETURN
  mkdir "$work/root"
  tar --numeric-owner --xattrs --xattrs-include='*' -C "$work/root" -xf "$base"
  cp /etc/resolv.conf "$work/root/etc/resolv.conf"
  node_log "installing into a $suite rootfs: $*"
  if ! in_root "$work/root" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$work/apt.log" 2>&1 \
    || ! in_root "$work/root" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "$@" >>"$work/apt.log" 2>&1; then
    tail -n 30 "$work/apt.log" >&2
    node_die "apt-get install in the $suite rootfs failed"
  fi
  in_root "$work/root" apt-get clean
  rm -rf "$work/root/var/lib/apt/lists/"*
  : >"$work/root/etc/resolv.conf"
  printf '%s\n' "$@" >"$work/root/.vmpower-packages"
  tar --numeric-owner --xattrs --xattrs-include='*' -C "$work/root" -cf "$out.tmp" .
  mv -f "$out.tmp" "$out"
  node_log "rootfs $(basename "$out") in $((SECONDS - started)) s: $(du -h "$out" | cut -f1)"
}

[[ -s "$base" ]] || make_base
if [[ "${1:-base}" == base ]]; then
  printf '%s\n' "$base"
  exit 0
fi
name=$1
shift
(($#)) || node_die "usage: rootfs.sh NAME PACKAGE..."
key=$(printf '%s\n' "$@" | sort | sha256sum | cut -c1-12)
out="$dir/$suite-$name-$key.tar"
[[ -s "$out" ]] || make_variant "$out" "$@"
printf '%s\n' "$out"
