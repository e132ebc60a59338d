#!/usr/bin/env bash
# The tiny guest as a kernel-boot container image (KubeVirt's
# spec.domain.firmware.kernelBoot.container): the Debian kernel the injector's libvirt tests boot
# (injector/src/test/libvirt/ensure-packages.sh) at /boot/vmlinuz and a busybox initramfs at
# /boot/initrd.img.
#
#   guest-image.sh   -> prints the image archive's path
#
# The guest's /init prints "vmpower-guest-up <mark>" on the serial console, then does what the
# kernel command line says: vmpower.action=reboot|poweroff (reboot -f / poweroff -f) after
# vmpower.delay seconds (default 0), or waits forever (vmpower.action=wait, the default).
# vmpower.mark is echoed, so a test sees which spec a boot came from.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"

kernel=$(bash "$here/../../../injector/src/test/libvirt/ensure-packages.sh")
out="$node_cache/images/guest.tar"
if [[ -s "$out" && "$out" -nt "$0" && "$out" -nt "$kernel" ]]; then
  printf '%s\n' "$out"
  exit 0
fi
mkdir -p "$(dirname "$out")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/initrd/bin" "$work/initrd/proc" "$work/root/boot"
cp "$(command -v busybox || echo /bin/busybox)" "$work/initrd/bin/busybox"
cat >"$work/initrd/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
action=wait delay=0 mark=-
for arg in $(/bin/busybox cat /proc/cmdline); do
  case "$arg" in
    vmpower.action=*) action=${arg#*=} ;;
    vmpower.delay=*) delay=${arg#*=} ;;
    vmpower.mark=*) mark=${arg#*=} ;;
  esac
done
/bin/busybox echo "vmpower-guest-up $mark action=$action delay=$delay"
/bin/busybox sleep "$delay"
case "$action" in
  reboot) /bin/busybox echo "vmpower-guest-reboot $mark"; /bin/busybox reboot -f ;;
  poweroff) /bin/busybox echo "vmpower-guest-poweroff $mark"; /bin/busybox poweroff -f ;;
esac
while :; do /bin/busybox sleep 3600; done
INIT
chmod 755 "$work/initrd/init"
(cd "$work/initrd" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/root/boot/initrd.img"
cp "$kernel" "$work/root/boot/vmlinuz"
chmod 644 "$work/root/boot/"*
bash "$here/oci.sh" "$out" "$GUEST_IMAGE" "$work/root" --config.user=107:107
node_log "guest image $GUEST_IMAGE"
printf '%s\n' "$out"
