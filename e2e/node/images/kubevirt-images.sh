#!/usr/bin/env bash
# KubeVirt's five images, made the way KubeVirt's BUILD.bazel files define them, from the programs
# built from the pinned release (build-kubevirt.sh, build-kubevirt-node.sh) and Debian trixie
# instead of CentOS Stream, as image archives for `ctr images import`:
#
#   kubevirt-images.sh   -> prints one archive path per line
#
# virt-operator, virt-api, virt-controller: the static program in /usr/bin, user 1001 (KubeVirt's
#   distroless base with its passwd image).
# virt-handler: trixie with handlerbase's tools (qemu-img, nftables, iproute2, passt-repair, ...),
#   virt-handler and virt-chroot.
# virt-launcher: trixie with libvirt 11.3 and QEMU 10.0, virt-launcher, virt-launcher-monitor,
#   virt-freezer, virt-probe, virt-tail, container-disk, node-labeller.sh, libvirt-hook-client,
#   KubeVirt's qemu.conf, virtqemud.conf, nsswitch.conf and qemu hook, the user qemu (107).
#
# Debian builds libvirt with the monolithic libvirtd only (no virtqemud, which virt-launcher
# starts as /usr/sbin/virtqemud). libvirtd runs the same QEMU driver with the same configuration
# keys, so /usr/sbin/virtqemud here is a small script that links the socket name KubeVirt uses
# (virtqemud-sock) to libvirtd's (libvirt-sock) and execs libvirtd with the same arguments.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"
node_need_root

build_kubevirt=${VMPOWER_BUILD_KUBEVIRT:-$here/../../build-kubevirt.sh}
[[ -f "$build_kubevirt" ]] || node_die "$build_kubevirt (KubeVirt's build and wrapper module, issue 13) is missing"
bash "$build_kubevirt" virt-operator virt-api virt-controller virtctl >/dev/null
dir=$(bash "$here/build-kubevirt-node.sh")
version=$(cat "$dir/.virt-launcher.built")
kubevirt_src=$(cd "$dir/module" && GOFLAGS=-mod=mod GOTOOLCHAIN=local go list -m -f '{{.Dir}}' kubevirt.io/kubevirt)
launcher_rootfs=$(bash "$here/rootfs.sh" virt-launcher libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-log \
  libvirt-clients qemu-system-x86 qemu-utils seabios libnbd0 libvirt0 passt bash procps iproute2 \
  util-linux nftables xorriso)
handler_rootfs=$(bash "$here/rootfs.sh" virt-handler bash coreutils util-linux iproute2 nftables \
  qemu-utils procps tar psmisc passt findutils acl kmod)

out_dir="$node_cache/images"
mkdir -p "$out_dir"
readonly PATH_ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# An archive is made again when this script, a program or a root filesystem it uses is newer.
fresh() {
  local out=$1 input
  shift
  [[ -s "$out" ]] || return 1
  for input in "$0" "$@"; do
    [[ "$input" -nt "$out" ]] && return 1
  done
  return 0
}

# KubeVirt's images carry root and their own users; Debian's packages need theirs too (libvirt's
# QEMU driver resolves its built-in default user libvirt-qemu even when qemu.conf names another).
add_users() { # DIR, then "name:uid" pairs; the ids must be free
  local root=$1 entry name id
  shift
  [[ -f "$root/etc/passwd" ]] || printf 'root:x:0:0:root:/root:/bin/bash\n' >"$root/etc/passwd"
  [[ -f "$root/etc/group" ]] || printf 'root:x:0:\n' >"$root/etc/group"
  for entry in "$@"; do
    name=${entry%%:*}
    id=${entry##*:}
    if cut -d: -f3 "$root/etc/passwd" | grep -qx "$id" || cut -d: -f3 "$root/etc/group" | grep -qx "$id"; then
      node_die "uid/gid $id is taken in $root"
    fi
    printf '%s:x:%s:%s::/home/%s:/bin/bash\n' "$name" "$id" "$id" "$name" >>"$root/etc/passwd"
    printf '%s:x:%s:\n' "$name" "$id" >>"$root/etc/group"
  done
}

# --- virt-operator, virt-api, virt-controller
control_plane_image() {
  local name=$1 out="$out_dir/kubevirt-$1-$version.tar" work
  fresh "$out" "$dir/$name" && { printf '%s\n' "$out"; return; }
  work=$(mktemp -d)
  mkdir -p "$work/root/usr/bin" "$work/root/etc" "$work/root/tmp"
  chmod 1777 "$work/root/tmp"
  install -m 755 "$dir/$name" "$work/root/usr/bin/$name"
  add_users "$work/root" nonroot-user:1001
  bash "$here/oci.sh" "$out" "$IMAGE_REGISTRY/kubevirt/$name:$version" "$work/root" \
    --config.entrypoint="/usr/bin/$name" --config.user=1001 --config.env="$PATH_ENV"
  rm -rf "$work"
  node_log "image $IMAGE_REGISTRY/kubevirt/$name:$version"
  printf '%s\n' "$out"
}

unpack() { # TARBALL DIR
  mkdir -p "$2"
  tar --numeric-owner --xattrs --xattrs-include='*' -C "$2" -xf "$1"
  rm -f "$2/usr/sbin/policy-rc.d" "$2/.vmpower-packages"
  # KubeVirt: relative, because virt-handler resolves it under /proc/<pid>/root
  rm -rf "$2/var/run"
  ln -s ../run "$2/var/run"
}

handler_image() {
  local out="$out_dir/kubevirt-virt-handler-$version.tar" work p
  fresh "$out" "$handler_rootfs" "$dir/virt-handler" "$dir/virt-chroot" && { printf '%s\n' "$out"; return; }
  work=$(mktemp -d)
  unpack "$handler_rootfs" "$work/root"
  for p in virt-handler virt-chroot; do install -m 755 "$dir/$p" "$work/root/usr/bin/$p"; done
  add_users "$work/root" qemu:107
  install -m 644 "$kubevirt_src/cmd/virt-handler/nsswitch.conf" "$work/root/etc/nsswitch.conf"
  bash "$here/oci.sh" "$out" "$IMAGE_REGISTRY/kubevirt/virt-handler:$version" "$work/root" \
    --config.entrypoint=/usr/bin/virt-handler --config.env="$PATH_ENV"
  rm -rf "$work"
  node_log "image $IMAGE_REGISTRY/kubevirt/virt-handler:$version"
  printf '%s\n' "$out"
}

launcher_image() {
  local out="$out_dir/kubevirt-virt-launcher-$version.tar" work root p
  local programs=(virt-launcher virt-launcher-monitor virt-freezer virt-probe virt-tail container-disk
    libvirt-hook-client)
  local inputs=("$launcher_rootfs")
  for p in "${programs[@]}"; do inputs+=("$dir/$p"); done
  fresh "$out" "${inputs[@]}" && { printf '%s\n' "$out"; return; }
  work=$(mktemp -d)
  root="$work/root"
  unpack "$launcher_rootfs" "$root"
  for p in "${programs[@]}"; do install -m 755 "$dir/$p" "$root/usr/bin/$p"; done
  # As KubeVirt's image (xattrs in cmd/virt-launcher/BUILD.bazel): the non-root monitor starts
  # virt-launcher with CAP_NET_BIND_SERVICE as an ambient capability, which it must hold first;
  # without it the start fails with "fork/exec /usr/bin/virt-launcher: operation not permitted".
  setcap cap_net_bind_service=+ep "$root/usr/bin/virt-launcher-monitor"
  install -m 755 "$kubevirt_src/cmd/virt-launcher/node-labeller/node-labeller.sh" "$root/usr/bin/node-labeller.sh"
  install -m 644 "$kubevirt_src/cmd/virt-launcher/qemu.conf" "$root/etc/libvirt/qemu.conf"
  install -m 644 "$kubevirt_src/cmd/virt-launcher/virtqemud.conf" "$root/etc/libvirt/virtqemud.conf"
  install -m 644 "$kubevirt_src/cmd/virt-launcher/nsswitch.conf" "$root/etc/nsswitch.conf"
  install -d -m 755 "$root/etc/libvirt/hooks" "$root/usr/lib64/qemu-kvm"
  install -m 755 -o 107 -g 107 "$kubevirt_src/cmd/virt-launcher/qemu" "$root/etc/libvirt/hooks/qemu"
  add_users "$root" qemu:107
  cat >"$root/usr/sbin/virtqemud" <<'EOF'
#!/bin/bash
# Debian's libvirt has no modular daemons: libvirtd serves the same QEMU driver. KubeVirt connects
# to virtqemud-sock; libvirtd listens on libvirt-sock in the same directory (root: /run/libvirt,
# otherwise $XDG_RUNTIME_DIR/libvirt, which KubeVirt sets to /var/run).
if [[ "$(id -u)" == 0 ]]; then sock_dir=/run/libvirt; else sock_dir="${XDG_RUNTIME_DIR:-/run}/libvirt"; fi
mkdir -p "$sock_dir"
ln -sfn libvirt-sock "$sock_dir/virtqemud-sock"
ln -sfn libvirt-sock-ro "$sock_dir/virtqemud-sock-ro"
exec /usr/sbin/libvirtd "$@"
EOF
  chmod 755 "$root/usr/sbin/virtqemud"
  bash "$here/oci.sh" "$out" "$IMAGE_REGISTRY/kubevirt/virt-launcher:$version" "$root" \
    --config.entrypoint=/usr/bin/virt-launcher --config.env="$PATH_ENV"
  rm -rf "$work"
  node_log "image $IMAGE_REGISTRY/kubevirt/virt-launcher:$version"
  printf '%s\n' "$out"
}

for name in virt-operator virt-api virt-controller; do control_plane_image "$name"; done
handler_image
launcher_image
