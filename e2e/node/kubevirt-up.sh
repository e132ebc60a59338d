#!/usr/bin/env bash
# Installs KubeVirt on the node (up.sh first) the way users do: virt-operator from the release's
# kubevirt-operator.yaml, then a KubeVirt CR; virt-operator installs virt-api, virt-controller
# and virt-handler. Images come from kubevirt-images.sh through `ctr images import`, and every
# component uses imagePullPolicy Never (the CR's imagePullPolicy).
#
#   e2e/node/kubevirt-up.sh   -> waits until the KubeVirt CR is Available
#
# useEmulation is on (software emulation, QEMU's TCG), unless VMPOWER_NODE_USE_EMULATION=false.
# /dev/kvm works here as far as KubeVirt goes: virt-handler's device plugin hands it to the
# launcher, libvirt opens it and QEMU starts with -accel kvm (with -cpu host it asserts on
# "failed to set MSR 0x10a", so arch-capabilities must be off). But guests do not boot: after
# SeaBIOS hands over, the kernel prints nothing within 150 s, while TCG boots the same kernel to
# its /init in a few seconds. This machine's
# KVM is nested (nested_pvm=1 on its kernel command line); see e2e/README.md.
#
# virt-launcher runs as KubeVirt's default, non-root (uid 107, allowPrivilegeEscalation: false,
# the file capability of virt-launcher-monitor); VMPOWER_NODE_ROOT_LAUNCHER=true turns KubeVirt's
# Root feature gate on (launchers as root). vmpower's injector once broke the non-root launcher by
# wrapping its command; it now starts the monitor from a postStart hook (e2e/README.md, "What the
# real node showed").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
node_need_root

timeout_s=${VMPOWER_KUBEVIRT_TIMEOUT:-600}
bin=$(bash "$here/../build-binaries.sh" kubectl)
kubectl=("$bin/kubectl" --kubeconfig "$NODE_RUN/pki/admin.kubeconfig")
[[ -S "$CONTAINERD_SOCK" ]] || node_die "the node is not up (run e2e/node/up.sh)"

mapfile -t archives < <(bash "$here/images/kubevirt-images.sh")
archives+=("$(bash "$here/images/guest-image.sh")")
for a in "${archives[@]}"; do
  ctr --address "$CONTAINERD_SOCK" -n k8s.io images import "$a" >/dev/null
  node_log "imported $(basename "$a")"
done
dir=$(bash "$here/images/build-kubevirt-node.sh")
version=$(cat "$dir/.virt-launcher.built")

"$dir/kubevirt-operator" -namespace "$KUBEVIRT_NAMESPACE" -registry "$IMAGE_REGISTRY/kubevirt" \
  -tag "$version" -pull-policy Never -replicas 1 >"$NODE_RUN/conf/kubevirt-operator.yaml"
"${kubectl[@]}" apply --server-side -f "$NODE_RUN/conf/kubevirt-operator.yaml" >/dev/null
node_log "applied kubevirt-operator.yaml ($version)"

feature_root=""
[[ "${VMPOWER_NODE_ROOT_LAUNCHER:-}" == true ]] && feature_root=", Root"
cat >"$NODE_RUN/conf/kubevirt-cr.yaml" <<EOF
apiVersion: kubevirt.io/v1
kind: KubeVirt
metadata:
  name: kubevirt
  namespace: $KUBEVIRT_NAMESPACE
spec:
  imagePullPolicy: Never
  infra:
    replicas: 1
  configuration:
    developerConfiguration:
      useEmulation: ${VMPOWER_NODE_USE_EMULATION:-true}
      # RebootPolicy: KubeVirt's own answer to a guest reboot, measured next to vmpower's (alpha
      # in 1.8). PanicDevices: spec.domain.devices.panicDevices (beta in 1.8, and a beta gate is
      # off unless listed: isFeatureGateEnabled in pkg/virt-config/feature-gates.go, v1.8.4).
      featureGates: [RebootPolicy, PanicDevices${feature_root}]
EOF
"${kubectl[@]}" apply -f "$NODE_RUN/conf/kubevirt-cr.yaml" >/dev/null
node_log "applied the KubeVirt CR; waiting for virt-operator to deploy KubeVirt"
started=$SECONDS
if ! "${kubectl[@]}" -n "$KUBEVIRT_NAMESPACE" wait kv/kubevirt --for=condition=Available \
  --timeout="${timeout_s}s" >/dev/null; then
  "${kubectl[@]}" -n "$KUBEVIRT_NAMESPACE" get kv,pods -o wide >&2 || true
  node_die "KubeVirt not Available after ${timeout_s} s"
fi
node_log "KubeVirt $version Available after $((SECONDS - started)) s"
