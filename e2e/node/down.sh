#!/usr/bin/env bash
# Removes everything up.sh made, also after a failed or killed run, and is safe to run twice:
#
#   e2e/node/down.sh
#
# 1. asks the supervisor to stop (kubelet and pods first), 2. kills whatever is still in the node's
# cgroups (/vmpower-node in every cgroup v1 hierarchy: the node's processes, shims and pods, and
# only those), 3. removes those cgroups, 4. deletes the bridge and any veth left on it, 5. removes
# the state directories and KubeVirt's host directories. Mounts need no step of their own: they
# live in the node's mount namespace, which ends with its last process; a mount found on the host
# under the node's paths anyway is unmounted before its directory is removed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
node_need_root

cgroup_dirs() {
  local h
  for h in /sys/fs/cgroup/*/; do
    # v1 hierarchies, and the cgroup2 one of a hybrid setup, where runc mirrors the pods' paths
    [[ -d "$h/vmpower-node" ]] && printf '%s\n' "${h%/}/vmpower-node"
  done
  return 0
}

node_pids() {
  local d
  for d in $(cgroup_dirs); do
    find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -un
}

# 1. the supervisor: SIGTERM to the node's PID 1 (tini, the child of unshare, which ignores
# SIGTERM itself) reaches node-run.sh, which stops the kubelet and the pods first. The node's
# processes leave its cgroups as they end.
unshare_pid=$(cat "$NODE_RUN/pids/node-run" 2>/dev/null || true)
if [[ -n "$unshare_pid" ]] && grep -q node-run.sh "/proc/$unshare_pid/cmdline" 2>/dev/null; then
  init_pid=$(pgrep -P "$unshare_pid" | head -n1 || true)
  node_log "stopping the node (PID 1 of the node: $init_pid)"
  [[ -n "$init_pid" ]] && kill -TERM "$init_pid" 2>/dev/null
  for _ in $(seq 1 120); do
    [[ -z "$(node_pids)" ]] && break
    sleep 0.25
  done
fi

# 2. whatever is left in the node's cgroups
for attempt in $(seq 1 40); do
  mapfile -t left < <(node_pids)
  ((${#left[@]})) || break
  ((attempt == 1)) && node_log "killing ${#left[@]} remaining node processes"
  kill -KILL "${left[@]}" 2>/dev/null || true
  sleep 0.25
done
mapfile -t left < <(node_pids)
((${#left[@]} == 0)) || node_log "warning: processes still in the node's cgroups: ${left[*]}"

# 3. the cgroups, deepest first (only empty ones can go)
for d in $(cgroup_dirs); do
  find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
done
left_cgroups=$(cgroup_dirs)
[[ -z "$left_cgroups" ]] || node_log "warning: cgroups left: $left_cgroups"

# 4. links: veths of pods whose network namespace outlived them, then the bridge
if ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
  for veth in $(ip -o link show master "$NODE_BRIDGE" | sed -n 's/^[0-9]*: \([^@:]*\).*/\1/p'); do
    ip link delete "$veth" 2>/dev/null || true
  done
  # VMPOWER_NODE_KEEP_BRIDGE=1 (development on a shared machine): other test clusters may have
  # picked the bridge's address as "this machine's address" while it was up.
  if [[ "${VMPOWER_NODE_KEEP_BRIDGE:-}" != 1 ]]; then
    ip link delete "$NODE_BRIDGE"
    node_log "deleted bridge $NODE_BRIDGE"
  fi
fi

# 5. files (after unmounting anything that reached the host's mount namespace after all)
dirs=("$NODE_RUN" "$NODE_STATE" "$KUBELET_ROOT" "${KUBEVIRT_HOST_DIRS[@]}")
for d in "${dirs[@]}"; do
  real=$(realpath -m "$d")
  for m in $(findmnt -rn -o TARGET | grep -E "^$real(/|$)" | sort -r); do
    node_log "unmounting $m"
    umount -l "$m" || true
  done
done
# VMPOWER_NODE_KEEP_LOGS=DIR: the node's logs are copied there first (the suite keeps them).
if [[ -n "${VMPOWER_NODE_KEEP_LOGS:-}" && -d "$NODE_RUN/logs" ]]; then
  mkdir -p "$VMPOWER_NODE_KEEP_LOGS"
  cp -r "$NODE_RUN/logs/." "$VMPOWER_NODE_KEEP_LOGS/"
fi
for d in "${dirs[@]}"; do
  [[ -e "$d" ]] && rm -rf --one-file-system "$d"
done
exit 0
