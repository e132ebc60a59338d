#!/usr/bin/env bash
# Brings up a single real Kubernetes node on this machine, as root:
#
#   e2e/node/up.sh     -> prints the admin kubeconfig's path once the node is Ready
#
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd (runc, CNI bridge) and
# the kubelet, as processes of one supervisor (node-run.sh) in a mount namespace of its own, on the
# bridge vmpnode0 with the address 198.18.0.1/16. Everything it makes is listed in lib.sh and
# removed by down.sh, which runs first to clear what a failed run left.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
node_need_root

timeout_s=${VMPOWER_NODE_TIMEOUT:-180}

# One node per machine. The supervisor inherits this lock and holds it as long as the node runs,
# so a second up.sh fails here instead of clearing a node that another run is using.
exec 7>"$NODE_LOCK"
flock -n 7 || node_die "a node is already running (its owner stops it with e2e/node/down.sh)"
bash "$here/down.sh"
bash "$here/ensure-packages.sh"
bin=$(bash "$here/../build-binaries.sh" kube-apiserver kubectl etcd kubelet kube-controller-manager kube-scheduler)
pause=$(bash "$here/images/pause.sh")

mkdir -p "$NODE_RUN"/{pki,conf,logs,pids} "$NODE_STATE"/{containerd,cni/net.d,cni/ipam,etcd} "$KUBELET_ROOT"
chmod 700 "$NODE_RUN" "$NODE_STATE"
bash "$here/pki.sh" "$NODE_RUN/pki"

# --- the bridge: the node IP, and the L2 segment of every pod (no forwarding, no NAT)
ip link show "$NODE_BRIDGE" >/dev/null 2>&1 || ip link add "$NODE_BRIDGE" type bridge
ip addr replace "$NODE_IP/$NODE_PREFIX" dev "$NODE_BRIDGE"
ip link set "$NODE_BRIDGE" up

# --- containerd: its own root, state and socket; CRI as DESIGN.md section 10 found it working
cat >"$NODE_RUN/conf/containerd.toml" <<EOF
version = 2
root = "$NODE_STATE/containerd"
state = "$NODE_RUN/containerd"
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.internal.v1.opt"]
  path = "$NODE_STATE/containerd-opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # root here lacks CAP_SYS_RESOURCE: without this every sandbox fails to start
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_STATE/cni/net.d"
EOF

# --- CNI: the bridge above, addresses from host-local. isGateway stays off: the plugin would turn
# on the host's IP forwarding, and pods need no route beyond their on-link /16.
cat >"$NODE_STATE/cni/net.d/10-$CNI_NETWORK.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$CNI_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$NODE_BRIDGE",
      "isGateway": false,
      "ipMasq": false,
      "ipam": {
        "type": "host-local",
        "dataDir": "$NODE_STATE/cni/ipam",
        "ranges": [[{"subnet": "$NODE_SUBNET", "rangeStart": "${POD_CIDR%.*}.2",
                     "rangeEnd": "${POD_CIDR%.*}.254"}]]
      }
    }
  ]
}
EOF

# --- kubelet: cgroup v1 (this machine), cgroupfs, the node IP, pods under the cgroup /vmpower-node
cat >"$NODE_RUN/conf/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /vmpower-node
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
address: $NODE_IP
healthzBindAddress: $NODE_IP
readOnlyPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $NODE_RUN/pki/ca.crt}
authorization: {mode: Webhook}
failSwapOn: false
resolvConf: /etc/resolv.conf
# a shared build machine: no eviction or image garbage collection because others fill the disk
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
serializeImagePulls: false
EOF

node_log "starting the node's processes (logs in $NODE_RUN/logs)"
# A PID namespace as well as a mount namespace: KubeVirt's virt-handler (hostPID) mounts container
# disks through /proc/1/ns/mnt and reads /proc/1/root, so the node's PID 1 (tini, which also reaps
# orphans) must live in the node's mount namespace, as on a real node. Ending PID 1 ends every
# process of the node; --kill-child sends SIGTERM to it when unshare is terminated.
setsid unshare --pid --fork --kill-child=SIGTERM --mount-proc --mount --propagation private -- \
  tini -s -- bash "$here/node-run.sh" "$bin" </dev/null >>"$NODE_RUN/logs/node-run.log" 2>&1 &
echo $! >"$NODE_RUN/pids/node-run"
exec 7>&- # the supervisor holds the lock from here on

kubectl=("$bin/kubectl" --kubeconfig "$NODE_RUN/pki/admin.kubeconfig")
deadline=$((SECONDS + timeout_s))
wait_for() {
  local what=$1
  shift
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$(cat "$NODE_RUN/pids/node-run")" 2>/dev/null; then
      tail -n 20 "$NODE_RUN/logs/node-run.log" >&2
      node_die "the node stopped while waiting for $what (logs in $NODE_RUN/logs)"
    fi
    ((SECONDS < deadline)) || node_die "no $what after ${timeout_s} s (logs in $NODE_RUN/logs)"
    sleep 0.5
  done
  node_log "$what"
}
wait_for "containerd" test -S "$CONTAINERD_SOCK"
ctr --address "$CONTAINERD_SOCK" -n k8s.io images import "$pause" >/dev/null
node_log "imported $PAUSE_IMAGE"
wait_for "API server ready" "${kubectl[@]}" get --raw /readyz
wait_for "node $NODE_NAME Ready" "${kubectl[@]}" wait --for=condition=Ready "node/$NODE_NAME" --timeout=5s
# The one node is the control plane too, labelled as kubeadm labels one (virt-operator's
# Deployment requires a control-plane node).
"${kubectl[@]}" label node "$NODE_NAME" node-role.kubernetes.io/control-plane= --overwrite >/dev/null
printf '%s\n' "$NODE_RUN/pki/admin.kubeconfig"
