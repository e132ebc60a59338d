#!/usr/bin/env bash
# Starts and stops the libvirt daemons of the injector's integration tests (no systemd needed).
#   libvirtd-ctl.sh up-system             root daemon on /run/libvirt/libvirt-sock (qemu:///system);
#                                         prints "started <pid>", or "reused <pid>" if one answers
#   libvirtd-ctl.sh up-session <dir> <user>
#                                         session daemon as <user>, socket <dir>/run/libvirt/libvirt-sock;
#                                         prints "started <pid>"
#   libvirtd-ctl.sh down <uri> <pid|-> [<user>]
#                                         destroys the vmpower test domains on <uri>, then stops <pid>
set -euo pipefail
export LC_ALL=C
readonly PREFIX="vmpower-it"

die() { echo "libvirtd-ctl: $*" >&2; exit 1; }

as_user() {
  local user="$1"
  shift
  if [[ -z "$user" || "$user" == root ]]; then
    "$@"
  else
    setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --clear-groups "$@"
  fi
}

wait_ready() {
  local uri="$1" user="$2" pidfile="$3" i
  for ((i = 0; i < 200; i++)); do
    if as_user "$user" env HOME="${SESSION_HOME:-$HOME}" virsh -c "$uri" version >/dev/null 2>&1; then
      [[ -s "$pidfile" ]] && { cat "$pidfile"; return 0; }
    fi
    sleep 0.1
  done
  die "libvirtd on $uri did not come up; see its log"
}

# The DESIGN.md recipe: the QEMU driver runs guests as root, without security driver,
# cgroups or namespaces, which containers and CI machines do not offer.
system_setup() {
  getent group kvm >/dev/null || groupadd -r kvm
  getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
  getent passwd libvirt-qemu >/dev/null ||
    useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
  mkdir -p /etc/libvirt /var/log/libvirt /var/lib/libvirt /var/cache/libvirt /run/libvirt
  local conf
  conf='# written by vmpower injector tests (injector/src/test/libvirt/libvirtd-ctl.sh)
user = "root"
group = "root"
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
'
  if [[ "$(cat /etc/libvirt/qemu.conf 2>/dev/null || true)"$'\n' != "$conf" ]]; then
    if [[ -f /etc/libvirt/qemu.conf && ! -f /etc/libvirt/qemu.conf.vmpower-orig ]]; then
      cp -p /etc/libvirt/qemu.conf /etc/libvirt/qemu.conf.vmpower-orig
    fi
    printf '%s' "$conf" >/etc/libvirt/qemu.conf
  fi
}

case "${1:-}" in
  up-system)
    [[ "$(id -u)" == 0 ]] || die "up-system needs root"
    system_setup
    pidfile=/run/libvirtd.pid
    if [[ -S /run/libvirt/libvirt-sock ]] && virsh -c qemu:///system version >/dev/null 2>&1; then
      echo "reused $(cat "$pidfile" 2>/dev/null || echo 0)"
      exit 0
    fi
    libvirtd -d -p "$pidfile"
    echo "started $(wait_ready qemu:///system root "$pidfile")"
    ;;
  up-session)
    dir="$2" user="$3"
    [[ "$(id -u)" == 0 ]] || die "up-session needs root (it drops to $user)"
    system_setup
    mkdir -p "$dir/home" "$dir/run"
    chown -R "$user:" "$dir/home" "$dir/run"
    export SESSION_HOME="$dir/home"
    as_user "$user" env -i HOME="$dir/home" XDG_RUNTIME_DIR="$dir/run" PATH=/usr/sbin:/usr/bin:/sbin:/bin \
      libvirtd -d
    echo "started $(wait_ready "qemu+unix:///session?socket=$dir/run/libvirt/libvirt-sock" "$user" \
      "$dir/run/libvirt/libvirtd.pid")"
    ;;
  down)
    uri="$2" pid="$3" user="${4:-root}"
    for dom in $(as_user "$user" env HOME="${SESSION_HOME:-/tmp}" virsh -c "$uri" list --name 2>/dev/null || true); do
      [[ "$dom" == "$PREFIX"* ]] || continue
      as_user "$user" env HOME="${SESSION_HOME:-/tmp}" virsh -c "$uri" destroy "$dom" >/dev/null 2>&1 || true
    done
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill "$pid" 2>/dev/null; then
      for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || exit 0
        sleep 0.1
      done
      kill -9 "$pid" 2>/dev/null || true
    fi
    ;;
  *) die "usage: libvirtd-ctl.sh up-system | up-session <dir> <user> | down <uri> <pid|-> [<user>]" ;;
esac
