#!/usr/bin/env bash
# The node's supervisor, started by up.sh as
#
#   unshare --pid --fork --mount-proc --mount -- tini -- node-run.sh BIN_DIR
#
# It runs in a mount and PID namespace of its own, so every mount the node makes (container root
# filesystems, pod volumes, network namespace files, KubeVirt's container disks) lives only there
# and disappears with the node's last process, even after a crash; the node's PID 1 (tini) is in
# that mount namespace, as KubeVirt expects of the host. Inside it, / is made recursively shared,
# which mountPropagation: Bidirectional needs (KubeVirt's virt-handler). PIDs in
# $NODE_RUN/pids/<program> are the node's own (its PID namespace).
# It also puts itself, and so every process of the node, into the cgroup /vmpower-node/system of
# every cgroup v1 hierarchy (pods go to /vmpower-node/kubepods): down.sh finds and ends exactly the
# node's processes there and nothing else.
#
# Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd and the kubelet
# (logs in $NODE_RUN/logs), then waits. SIGTERM stops them, kubelet and pods first.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

bin=${1:?usage: node-run.sh BIN_DIR}
pki="$NODE_RUN/pki"
logs="$NODE_RUN/logs"
conf="$NODE_RUN/conf"

join_cgroups() {
  local h path
  for h in /sys/fs/cgroup/*/; do
    [[ -f "$h/cgroup.procs" && ! -f "$h/cgroup.controllers" ]] || continue # v1 hierarchies only
    path="$h/vmpower-node/system"
    mkdir -p "$path"
    if [[ -f "$h/cpuset.cpus" ]]; then
      # a new cpuset cgroup takes no task until it has CPUs and memory nodes
      cat "$h/cpuset.cpus" >"$h/vmpower-node/cpuset.cpus"
      cat "$h/cpuset.mems" >"$h/vmpower-node/cpuset.mems"
      cat "$h/cpuset.cpus" >"$path/cpuset.cpus"
      cat "$h/cpuset.mems" >"$path/cpuset.mems"
    fi
    echo $$ >"$path/cgroup.procs"
  done
}

pids=()
names=()
start() {
  local name=$1
  shift
  "$@" >>"$logs/$name.log" 2>&1 &
  pids+=($!)
  names+=("$name")
  echo $! >"$NODE_RUN/pids/$name"
  node_log "started $name (pid $!)"
}

stopping=false
stop_all() {
  $stopping && return
  stopping=true
  local i
  node_log "stopping the node"
  # Pods first, through containerd, so shims unmount and release network namespaces in order.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    if [[ "${names[i]}" == kubelet ]]; then
      kill -TERM "${pids[i]}" 2>/dev/null || true
      wait "${pids[i]}" 2>/dev/null || true
    fi
  done
  if [[ -S "$CONTAINERD_SOCK" ]]; then
    local c
    for c in $(ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks kill -s SIGKILL "$c" >/dev/null 2>&1 || true
    done
    for c in $(ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks delete -f "$c" >/dev/null 2>&1 || true
    done
  fi
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  node_log "node stopped"
  exit 0
}
trap stop_all TERM INT

mkdir -p "$logs" "$NODE_RUN/pids"
join_cgroups
mount --make-rshared /

start etcd "$bin/etcd" --name "$NODE_NAME" --data-dir "$NODE_STATE/etcd" \
  --listen-client-urls http://127.0.0.1:12379 --advertise-client-urls http://127.0.0.1:12379 \
  --listen-peer-urls http://127.0.0.1:12380 --initial-advertise-peer-urls http://127.0.0.1:12380 \
  --initial-cluster "$NODE_NAME=http://127.0.0.1:12380" --listen-metrics-urls http://127.0.0.1:12381 \
  --unsafe-no-fsync --quota-backend-bytes 2147483648

start kube-apiserver "$bin/kube-apiserver" \
  --etcd-servers http://127.0.0.1:12379 \
  --bind-address "$NODE_IP" --advertise-address "$NODE_IP" --secure-port 443 \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" \
  --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
  --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types InternalIP \
  --service-account-issuer https://kubernetes.default.svc \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
  --allow-privileged=true \
  --requestheader-client-ca-file "$pki/front-proxy-ca.crt" \
  --requestheader-allowed-names front-proxy-client \
  --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
  --requestheader-extra-headers-prefix X-Remote-Extra- \
  --proxy-client-cert-file "$pki/front-proxy-client.crt" \
  --proxy-client-key-file "$pki/front-proxy-client.key" \
  --enable-aggregator-routing=true

# The controller manager and the scheduler exit when RBAC is not bootstrapped yet.
for _ in $(seq 1 240); do
  "$bin/kubectl" --kubeconfig "$pki/admin.kubeconfig" get --raw /readyz >/dev/null 2>&1 && break
  kill -0 "${pids[1]}" 2>/dev/null || break
  sleep 0.5
done

start kube-controller-manager "$bin/kube-controller-manager" \
  --kubeconfig "$pki/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$pki/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$pki/controller-manager.kubeconfig" \
  --bind-address "$NODE_IP" --leader-elect=false \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
  --use-service-account-credentials=true \
  --service-cluster-ip-range "$SERVICE_CIDR" --allocate-node-cidrs=false

start kube-scheduler "$bin/kube-scheduler" \
  --kubeconfig "$pki/scheduler.kubeconfig" \
  --authentication-kubeconfig "$pki/scheduler.kubeconfig" \
  --authorization-kubeconfig "$pki/scheduler.kubeconfig" \
  --bind-address "$NODE_IP" --leader-elect=false

start containerd containerd --config "$conf/containerd.toml"
for _ in $(seq 1 100); do
  [[ -S "$CONTAINERD_SOCK" ]] && break
  sleep 0.1
done

start kubelet "$bin/kubelet" --config "$conf/kubelet.yaml" \
  --kubeconfig "$pki/kubelet.kubeconfig" \
  --hostname-override "$NODE_NAME" --node-ip "$NODE_IP"

# Any process ending ends the node: a half node only produces confusing test failures.
set +e
wait -n
status=$?
node_log "a node process exited ($status); stopping the rest"
stop_all
