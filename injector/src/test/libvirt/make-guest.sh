#!/usr/bin/env bash
# Builds a busybox initramfs whose /init ends the guest in one of the ways the tests need.
#   make-guest.sh <output.img> <action> [<modules-dir>]
# actions:
#   reboot | poweroff  reboot -f / poweroff -f at once
#   acpi               waits for the ACPI power button (virsh shutdown/reboot --mode acpi), then
#                      poweroff -f; "vmpower-guest-ready" on the console once it listens
#   panic              kernel panic (sysrq c) with the pvpanic driver loaded
#   watchdog           opens the i6300esb watchdog (heartbeat 1 s) and never feeds it
# acpi, panic and watchdog load modules from <modules-dir> (ensure-packages.sh puts the matching
# ones into guest-modules/ next to the kernel).
set -euo pipefail
out="$1" action="$2" modules="${3:-}"
declare -A needs=(
  [reboot]="" [poweroff]=""
  [acpi]="evdev.ko button.ko"
  [panic]="pvpanic.ko pvpanic-mmio.ko"
  [watchdog]="watchdog.ko i6300esb.ko"
)
[[ -v "needs[$action]" ]] || {
  echo "make-guest.sh: action must be one of: ${!needs[*]}" >&2
  exit 2
}
busybox="$(command -v busybox || echo /bin/busybox)"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/modules"
cp "$busybox" "$root/bin/busybox"
load=""
for m in ${needs[$action]}; do
  [[ -n "$modules" && -s "$modules/$m" ]] || {
    echo "make-guest.sh: $action needs $m in the modules directory ('$modules')" >&2
    exit 2
  }
  cp "$modules/$m" "$root/modules/"
  args=""
  # i6300esb acts after two heartbeats; 1 s keeps the test short.
  [[ "$m" == i6300esb.ko ]] && args=" heartbeat=1"
  load+="/bin/busybox insmod /modules/$m$args"$'\n'
done

# The bodies are guest-side text: their $ expand in the guest.
# shellcheck disable=SC2016
case "$action" in
  reboot | poweroff) body="/bin/busybox $action -f" ;;
  acpi)
    # The kernel reports the power button as an input device; any event on it powers off.
    body='for e in /sys/class/input/event*; do
  if /bin/busybox grep -q "Power Button" "$e/device/name"; then
    (/bin/busybox dd if="/dev/input/${e##*/}" of=/dev/null bs=24 count=1 2>/dev/null
     /bin/busybox echo vmpower-power-button
     /bin/busybox poweroff -f) &
  fi
done
/bin/busybox sleep 1 # the readers have opened their devices by then
/bin/busybox echo vmpower-guest-ready
while :; do /bin/busybox sleep 3600; done'
    ;;
  panic) body='/bin/busybox echo c >/proc/sysrq-trigger' ;;
  watchdog)
    body='exec 3>/dev/watchdog
/bin/busybox echo vmpower-guest-ready
while :; do /bin/busybox sleep 3600; done'
    ;;
esac

# The marker line lets the tests count boots on the serial console.
{
  printf '#!/bin/busybox sh\n'
  printf '/bin/busybox mount -t proc proc /proc\n'
  printf '/bin/busybox mount -t sysfs sysfs /sys\n'
  printf '/bin/busybox mount -t devtmpfs devtmpfs /dev\n'
  printf '/bin/busybox echo vmpower-guest-up\n'
  printf '%s' "$load"
  printf '%s\n' "$body"
} >"$root/init"
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp"
mv -f "$out.tmp" "$out"
