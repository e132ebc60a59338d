#!/usr/bin/env bash
# The tiny guest as a kernel-boot container image (KubeVirt's
# spec.domain.firmware.kernelBoot.container): the Debian kernel the injector's libvirt tests boot
# (injector/src/test/libvirt/ensure-packages.sh) at /boot/vmlinuz and a busybox initramfs at
# /boot/initrd.img.
#
#   guest-image.sh   -> prints the image archive's path
#
# The guest's /init prints "vmpower-guest-up <mark>" on the serial console, then does what the
# kernel command line says, after vmpower.delay seconds (default 0):
#   vmpower.action=reboot|poweroff  reboot -f / poweroff -f
#   vmpower.action=wait             nothing (the default)
#   vmpower.action=acpi             powers off (poweroff -f) once the ACPI power button is pressed
#                                   (virtctl soft-reboot without the guest agent); prints
#                                   "vmpower-guest-ready <mark>" once it listens
#   vmpower.action=panic            a kernel panic (sysrq c) with the pvpanic driver loaded
#   vmpower.action=watchdog         opens the i6300esb watchdog (heartbeat 1 s) and never feeds it
# and then waits forever. vmpower.mark is echoed, so a test sees which spec a boot came from. The
# guest modules acpi, panic and watchdog load are those the injector's libvirt tests load
# (guest-modules/ next to the kernel, from the same .deb, see make-guest.sh there).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"

kernel=$(bash "$here/../../../injector/src/test/libvirt/ensure-packages.sh")
modules_dir="$(dirname "$kernel")/guest-modules"
modules=(evdev.ko button.ko pvpanic.ko pvpanic-mmio.ko watchdog.ko i6300esb.ko)
out="$node_cache/images/guest.tar"
if [[ -s "$out" && "$out" -nt "$0" && "$out" -nt "$kernel" ]]; then
  printf '%s\n' "$out"
  exit 0
fi
mkdir -p "$(dirname "$out")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/initrd/bin" "$work/initrd/proc" "$work/initrd/sys" "$work/initrd/dev" \
  "$work/initrd/modules" "$work/root/boot"
cp "$(command -v busybox || echo /bin/busybox)" "$work/initrd/bin/busybox"
for m in "${modules[@]}"; do
  [[ -s "$modules_dir/$m" ]] || node_die "guest module $modules_dir/$m is missing (ensure-packages.sh)"
  cp "$modules_dir/$m" "$work/initrd/modules/"
done
cat >"$work/initrd/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
action=wait delay=0 mark=-
for arg in $(/bin/busybox cat /proc/cmdline); do
  case "$arg" in
    vmpower.action=*) action=${arg#*=} ;;
    vmpower.delay=*) delay=${arg#*=} ;;
    vmpower.mark=*) mark=${arg#*=} ;;
  esac
done
/bin/busybox echo "vmpower-guest-up $mark action=$action delay=$delay"
case "$action" in
  acpi)
    /bin/busybox insmod /modules/evdev.ko
    /bin/busybox insmod /modules/button.ko
    # The kernel reports the power button as an input device; any event on it powers off.
    for e in /sys/class/input/event*; do
      if /bin/busybox grep -q "Power Button" "$e/device/name"; then
        (/bin/busybox dd if="/dev/input/${e##*/}" of=/dev/null bs=24 count=1 2>/dev/null
         /bin/busybox echo "vmpower-power-button $mark"
         /bin/busybox poweroff -f) &
      fi
    done
    /bin/busybox sleep 1 # the readers have opened their devices by then
    /bin/busybox echo "vmpower-guest-ready $mark"
    ;;
  panic)
    /bin/busybox insmod /modules/pvpanic.ko
    /bin/busybox insmod /modules/pvpanic-mmio.ko
    ;;
  watchdog)
    /bin/busybox insmod /modules/watchdog.ko
    # i6300esb acts after two heartbeats; 1 s keeps the test short.
    /bin/busybox insmod /modules/i6300esb.ko heartbeat=1
    ;;
esac
/bin/busybox sleep "$delay"
case "$action" in
  reboot) /bin/busybox echo "vmpower-guest-reboot $mark"; /bin/busybox reboot -f ;;
  poweroff) /bin/busybox echo "vmpower-guest-poweroff $mark"; /bin/busybox poweroff -f ;;
  panic) /bin/busybox echo "vmpower-guest-panic $mark"; /bin/busybox echo c >/proc/sysrq-trigger ;;
  watchdog) exec 3>/dev/watchdog; /bin/busybox echo "vmpower-guest-watchdog-armed $mark" ;;
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
