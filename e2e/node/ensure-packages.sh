#!/usr/bin/env bash
# The Debian 12 packages the node needs, installed when missing (as root); idempotent, a few dpkg
# queries when everything is there. containerd 1.6 and runc 1.1 run the pods, the CNI plugins wire
# them to the node's bridge, umoci and skopeo pack images without a registry, debootstrap makes the
# trixie root filesystems, gcc and libc6-dev build the static pause program, tini is the node's
# PID 1, setcap gives virt-launcher-monitor its file capability.
set -euo pipefail

packages=(
  containerd runc containernetworking-plugins umoci skopeo debootstrap
  iproute2 openssl gcc libc6-dev util-linux procps cpio busybox-static tini
  libcap2-bin
)

log() { printf 'node ensure-packages: %s\n' "$*" >&2; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
((${#missing[@]})) || exit 0
if [[ "$(id -u)" != 0 ]]; then
  log "missing Debian packages: ${missing[*]}; install them as root: apt-get install -y ${missing[*]}"
  exit 1
fi
log "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
# Debian's containerd package would start a system containerd where there is an init system;
# the node runs its own with its own configuration and never uses that one.
