#!/usr/bin/env bash
# Makes sure the Debian packages and the guest kernel the injector tests need are present.
# Idempotent; costs a few dpkg queries when everything is there. Installs what is missing when
# run as root, otherwise fails naming the packages. Prints the kernel path as its only stdout line;
# the guest modules the tests load (ACPI power button, pvpanic, i6300esb watchdog), taken from the
# same .deb so that they match the kernel, are in guest-modules/ next to it.
#   ensure-packages.sh            packages + kernel + modules
#   ensure-packages.sh --no-kernel packages only
set -euo pipefail

packages=(
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86
  busybox-static shellcheck cpio git
)
cache_dir="${VMPOWER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vmpower}"
want_kernel=true
[[ "${1:-}" == "--no-kernel" ]] && want_kernel=false

log() { printf 'ensure-packages: %s\n' "$*" >&2; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

apt_updated=false
apt_update() {
  if ! $apt_updated; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    apt_updated=true
  fi
}

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ "$(id -u)" != 0 ]]; then
    log "missing Debian packages: ${missing[*]}; install them as root: apt-get install -y ${missing[*]}"
    exit 1
  fi
  apt_update
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

$want_kernel || exit 0

kernel="$cache_dir/vmlinuz"
modules_dir="$cache_dir/guest-modules"
# Module paths below lib/modules/<version>/kernel/ in the kernel .deb (loaded in this order).
modules=(
  drivers/input/evdev.ko drivers/acpi/button.ko
  drivers/misc/pvpanic/pvpanic.ko drivers/misc/pvpanic/pvpanic-mmio.ko
  drivers/watchdog/watchdog.ko drivers/watchdog/i6300esb.ko
)
complete=true
[[ -s "$kernel" ]] || complete=false
for m in "${modules[@]}"; do
  [[ -s "$modules_dir/${m##*/}" ]] || complete=false
done
if ! $complete; then
  mkdir -p "$cache_dir"
  work="$(mktemp -d "$cache_dir/download.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  # apt-get download needs package lists; a fresh image has none.
  pkg="$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*-amd64\)$/\1/p' | head -n1 || true)"
  if [[ -z "$pkg" ]]; then
    if [[ "$(id -u)" != 0 ]]; then
      log "no apt package lists to find linux-image-amd64; run apt-get update as root"
      exit 1
    fi
    apt_update
    pkg="$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[^ ]*-amd64\)$/\1/p' | head -n1)"
  fi
  [[ -n "$pkg" ]] || { log "cannot resolve the kernel package behind linux-image-amd64"; exit 1; }
  log "downloading $pkg for the guest kernel and modules into $cache_dir"
  # -o APT::Sandbox::User=root: _apt cannot write into a root-owned temp dir.
  (cd "$work" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >&2)
  patterns=('./boot/vmlinuz-*')
  for m in "${modules[@]}"; do
    patterns+=("./lib/modules/*/kernel/$m")
  done
  dpkg-deb --fsys-tarfile "$work"/"$pkg"_*.deb | tar -x -C "$work" --wildcards "${patterns[@]}"
  # kernel and modules are replaced together: a module only loads into its own kernel build
  rm -rf "$modules_dir.tmp"
  mkdir -p "$modules_dir.tmp"
  for m in "${modules[@]}"; do
    found="$(find "$work/lib/modules" -path "*/kernel/$m" | head -n1)"
    [[ -n "$found" ]] || { log "$pkg lacks $m"; exit 1; }
    cp "$found" "$modules_dir.tmp/"
  done
  mv -f "$(find "$work/boot" -name 'vmlinuz-*' | head -n1)" "$kernel.tmp"
  rm -rf "$modules_dir"
  mv -f "$modules_dir.tmp" "$modules_dir"
  mv -f "$kernel.tmp" "$kernel"
fi
printf '%s\n' "$kernel"
