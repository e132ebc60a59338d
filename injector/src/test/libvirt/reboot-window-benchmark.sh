#!/usr/bin/env bash
# The reboot-window benchmark: <runs> (default 20) self-rebooting guests on a real libvirt + QEMU,
# each watched by the domain monitor started before the domain exists. Prints per-run figures,
# median and max, and the versions it ran on (also in injector/target/reboot-window.txt); then the
# same number of runs of the native rebootPolicy check (<on_reboot>destroy</on_reboot>, no monitor:
# a reset before the first guest instruction; injector/target/reboot-window-native.txt).
#   injector/src/test/libvirt/reboot-window-benchmark.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/../../../.."
runs="${1:-20}"
./mvnw -B -pl injector -am verify \
  -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dfuzz.skip=true \
  -Dit.test='DomainMonitorLibvirtIT#rebootWindow+nativeRebootPolicyWindow' \
  -Dvmpower.benchmark.runs="$runs"
cat injector/target/reboot-window.txt injector/target/reboot-window-native.txt
