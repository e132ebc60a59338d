#!/usr/bin/env bash
# Shared settings of the node scripts (sourced, not run). One node per machine: every address,
# path and name below belongs to it alone, so the clean-up can remove exactly what it made.
# shellcheck disable=SC2034  # the variables are used by the scripts that source this file

# Addresses: only 198.18.0.0/15 (RFC 2544 benchmarking, never routed). The bridge holds the node
# IP; services get 198.18.0.0/24, whose first address (the `kubernetes` Service's ClusterIP) is the
# node IP itself, where kube-apiserver listens on 443: pods reach the API server at its Service IP
# with no kube-proxy and no iptables rule. Pods get 198.18.1.0/24 on the same bridge (on-link,
# no forwarding).
readonly NODE_BRIDGE=vmpnode0
readonly NODE_IP=198.18.0.1
readonly NODE_PREFIX=16
readonly NODE_SUBNET=198.18.0.0/16
readonly SERVICE_CIDR=198.18.0.0/24
readonly POD_CIDR=198.18.1.0/24
readonly NODE_NAME=vmpower-node

# Versions (the binaries come from e2e/build-binaries.sh, KubeVirt's from e2e/build-kubevirt.sh).
readonly DEBIAN_SUITE=trixie
readonly DEBIAN_MIRROR="${VMPOWER_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# Where things live. KubeVirt's DaemonSet mounts fixed host paths (/var/lib/kubelet,
# /var/run/kubevirt*, /var/lib/kubevirt-node-labeller), so the kubelet uses the standard root.
readonly NODE_STATE=/var/lib/vmpower-node   # containerd's root, etcd's data, CNI state
readonly NODE_RUN=/run/vmpower-node         # sockets, PIDs, the run's kubeconfigs and PKI
readonly KUBELET_ROOT=/var/lib/kubelet
readonly KUBEVIRT_HOST_DIRS=(/var/run/kubevirt /var/run/kubevirt-private
  /var/run/kubevirt-libvirt-runtimes /var/lib/kubevirt-node-labeller /var/run/kubevirt-ephemeral-disks)
readonly CONTAINERD_SOCK="$NODE_RUN/containerd/containerd.sock"
readonly CNI_NETWORK=vmpower-node
readonly NODE_LOCK=/run/vmpower-node.lock

node_cache="${VMPOWER_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmpower/node}"

node_log() { printf '[node %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
node_die() { node_log "error: $*"; exit 1; }
node_need_root() { [[ "$(id -u)" == 0 ]] || node_die "run as root (containerd, kubelet, mounts, links)"; }

# Images are named under a registry that does not exist, and pods use imagePullPolicy: Never.
readonly IMAGE_REGISTRY=vmpower.local
readonly PAUSE_IMAGE=$IMAGE_REGISTRY/pause:3.10
readonly GUEST_IMAGE=$IMAGE_REGISTRY/vmpower-guest:1
readonly KUBEVIRT_NAMESPACE=kubevirt
