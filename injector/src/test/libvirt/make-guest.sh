#!/usr/bin/env bash
# Builds a busybox initramfs whose /init reboots or powers off the guest at once.
#   make-guest.sh <output.img> reboot|poweroff
set -euo pipefail
out="$1" action="$2"
case "$action" in
  reboot | poweroff) ;;
  *) echo "make-guest.sh: action must be reboot or poweroff" >&2; exit 2 ;;
esac
busybox="$(command -v busybox || echo /bin/busybox)"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin"
cp "$busybox" "$root/bin/busybox"
# The marker line lets the tests count boots on the serial console.
printf '#!/bin/busybox sh\n/bin/busybox echo vmpower-guest-up\n/bin/busybox %s -f\n' "$action" >"$root/init"
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp"
mv -f "$out.tmp" "$out"
