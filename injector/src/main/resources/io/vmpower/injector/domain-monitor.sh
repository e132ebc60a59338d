#!/usr/bin/env bash
# vmpower domain monitor: runs in the background next to virt-launcher (see injector/README.md).
#   bash -c '<this text>' vmpower-domain-monitor <launcher argv...> </dev/null &
#   bash domain-monitor.sh <launcher argv...>
# In a pod it is started by the compute container's postStart hook, as a process of its own next
# to the launcher (PID 1), which the monitor watches (VMPOWER_LAUNCHER_PID) and whose stderr it
# logs to when it may (VMPOWER_LOG). Makes QEMU treat a guest reboot as shutdown (set-action
# reboot=shutdown) as soon as the domain runs, and writes QEMU's SHUTDOWN, WATCHDOG and
# GUEST_PANICKED events as JSON lines to the termination log, deciding events ahead of libvirt's
# host-side follow-ups. Never fails the launcher: on any problem it logs a JSON line and gives up.
# Needs only bash, virsh and coreutils.
set -euo pipefail
export LC_ALL=C TZ=UTC # English virsh messages, byte-wise lengths, UTC timestamps
exec </dev/null >/dev/null
# A log whose reader went away must not kill the monitor: writes fail (EPIPE) and are dropped.
trap '' PIPE

# Where the log lines go: stderr, or the first of VMPOWER_LOG's ':'-separated paths that opens
# for appending. The postStart hook's own stdout and stderr end with the hook (and a process
# holding them would keep the runtime's exec from returning), so the hook names the launcher's
# stderr (/proc/1/fd/2: the container's log, open to a root launcher) and then a file (a
# non-root launcher's /proc/1/fd/* are closed to it: the process gained a file capability).
log_target=stderr
if [[ -n "${VMPOWER_LOG:-}" ]]; then
  IFS=: read -r -a log_candidates <<<"$VMPOWER_LOG"
  log_target=/dev/null
  for candidate in "${log_candidates[@]}"; do
    if [[ -n "$candidate" ]] && { exec {log_fd}>>"$candidate"; } 2>/dev/null; then
      exec 2>&"$log_fd" {log_fd}>&-
      log_target="$candidate"
      break
    fi
  done
  [[ "$log_target" != /dev/null ]] || exec 2>/dev/null
fi
# A file is not rotated like the container's log: it takes this many lines at most.
log_lines_left=-1
if [[ "$log_target" != stderr && -f "$log_target" ]]; then
  log_lines_left="${VMPOWER_LOG_MAX_LINES:-1000}"
  [[ "$log_lines_left" =~ ^[0-9]+$ ]] || log_lines_left=1000
fi

VIRSH="${VMPOWER_VIRSH:-virsh}"
TERMINATION_LOG="${VMPOWER_TERMINATION_LOG:-/dev/termination-log}"
readonly MAX_TERMINATION_BYTES=4096
# Room only SHUTDOWN events may use: lines that do not close a record (repeated WATCHDOG events of
# a watchdog that does not act) never take the space a fake reboot's SHUTDOWN pair needs.
readonly CLOSING_RESERVE_BYTES=1024
readonly SET_ACTION='{"execute":"set-action","arguments":{"reboot":"shutdown"}}'
# The QEMU events the record needs, on one listener so that they arrive in QEMU's order (libvirt
# passes every QMP event to qemu-monitor-event; --regex is a GLib regex there).
readonly QEMU_EVENTS='^(SHUTDOWN|WATCHDOG|GUEST_PANICKED)$'

domain=""
listener_pid=""
sleep_fd=""
events_fd=""

now_iso() {
  local t="${EPOCHREALTIME:-}"
  if [[ "$t" == *.* ]]; then
    local s="${t%.*}" us="${t#*.}"
    printf '%(%Y-%m-%dT%H:%M:%S)T.%sZ' "$s" "${us:0:3}"
  else
    date -u +%Y-%m-%dT%H:%M:%S.%3NZ
  fi
}

json_str() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\r'/\\r}"
  s="${s//$'\t'/\\t}"
  s="${s//[$'\x01'-$'\x1f'$'\x7f']/}"
  printf '"%s"' "$s"
}

log() {
  local level="$1" msg="$2" extra="${3:-}"
  local ts
  if ((log_lines_left == 0)); then
    return 0
  elif ((log_lines_left == 1)); then
    level=error msg="log limit reached; further lines dropped" extra="\"log\":$(json_str "$log_target")"
  fi
  ((log_lines_left < 0)) || log_lines_left=$((log_lines_left - 1))
  ts="$(now_iso)"
  printf '{"ts":"%s","level":"%s","component":"vmpower-domain-monitor","domain":%s,"msg":%s%s}\n' \
    "$ts" "$level" "$(json_str "$domain")" "$(json_str "$msg")" "${extra:+,$extra}" >&2 || true
}

# Sleeps without forking: read on a pipe nobody writes to.
pause() {
  if [[ -z "$sleep_fd" ]]; then
    exec {sleep_fd}<> <(:)
  fi
  read -r -t "$1" -u "$sleep_fd" _ || true
}

stop_listeners() {
  if [[ -n "$listener_pid" ]]; then
    kill "$listener_pid" 2>/dev/null || true
    wait "$listener_pid" 2>/dev/null || true
    listener_pid=""
  fi
  if [[ -n "$events_fd" ]]; then
    exec {events_fd}<&-
    events_fd=""
  fi
}

cleanup() {
  trap - EXIT TERM INT HUP
  stop_listeners
  if [[ -n "$sleep_fd" ]]; then
    exec {sleep_fd}<&- || true
  fi
}

# --- arguments -------------------------------------------------------------------------------

name="" namespace="" qemu_timeout=""
while (($#)); do
  case "$1" in
    --name) name="${2:-}"; shift $(($# > 1 ? 2 : 1)); continue ;;
    --name=*) name="${1#--name=}" ;;
    --namespace) namespace="${2:-}"; shift $(($# > 1 ? 2 : 1)); continue ;;
    --namespace=*) namespace="${1#--namespace=}" ;;
    --qemu-timeout) qemu_timeout="${2:-}"; shift $(($# > 1 ? 2 : 1)); continue ;;
    --qemu-timeout=*) qemu_timeout="${1#--qemu-timeout=}" ;;
  esac
  shift
done

domain="${VMPOWER_DOMAIN:-}"
if [[ -z "$domain" && -n "$namespace" && -n "$name" ]]; then
  domain="${namespace}_${name}"
fi
if [[ -z "$domain" ]]; then
  log error "no domain: launcher arguments lack --namespace/--name and VMPOWER_DOMAIN is unset; giving up"
  exit 0
fi

if [[ -n "${VMPOWER_LIBVIRT_URI:-}" ]]; then
  uri="$VMPOWER_LIBVIRT_URI"
elif ((EUID == 0)); then
  uri="qemu:///system"
else
  uri="qemu+unix:///session?socket=/var/run/libvirt/virtqemud-sock"
fi

# The setup phase (until set-action is applied) must end well after virt-launcher's own
# --qemu-timeout (e.g. "301s"), after which the launcher gives up on QEMU anyway.
deadline="${VMPOWER_DEADLINE_SECONDS:-}"
if ! [[ "$deadline" =~ ^[0-9]+$ ]]; then
  deadline=600
  if [[ "$qemu_timeout" =~ ^([0-9]+)s?$ ]] && ((BASH_REMATCH[1] + 60 > deadline)); then
    deadline=$((BASH_REMATCH[1] + 60))
  fi
fi

if ! command -v "$VIRSH" >/dev/null 2>&1; then
  log error "virsh not found ($VIRSH); giving up"
  exit 0
fi

trap cleanup EXIT
trap 'exit 0' TERM INT HUP

# --- termination log ---------------------------------------------------------------------------

# The record is <head><tail>: the tail starts with the first host-side SHUTDOWN (libvirt's
# host-signal after every guest shutdown or reset). Deciding events go to the end of the head, so
# they come before those follow-ups and survive the 4096-byte cap: the first guest-initiated
# SHUTDOWN, the first GUEST_PANICKED, the first WATCHDOG whose action ends or resets the guest.
# Everything else keeps QEMU's order. The api module's TerminationMessages reads the sequence.
termination_head=""
termination_tail=""
termination_failed=false
have_guest_shutdown=false
have_panic=false
have_watchdog=false

# record_event <event> <json fields> <timestamp> <decisive|closing|context>
record_event() {
  local event="$1" fields="$2" stamp="$3" kind="$4"
  local line head="$termination_head" tail="$termination_tail" limit=$MAX_TERMINATION_BYTES
  line="{\"source\":\"vmpower\",\"event\":\"$event\",$fields,\"timestamp\":\"$stamp\"}"$'\n'
  case "$kind" in
    decisive)
      head+="$line"
      while ((${#head} + ${#tail} > MAX_TERMINATION_BYTES)) && [[ -n "$tail" ]]; do
        tail="${tail%$'\n'}"
        if [[ "$tail" == *$'\n'* ]]; then tail="${tail%$'\n'*}"$'\n'; else tail=""; fi
      done
      ;;
    closing)
      tail+="$line"
      ;;
    *)
      limit=$((MAX_TERMINATION_BYTES - CLOSING_RESERVE_BYTES))
      if [[ -z "$tail" ]]; then head+="$line"; else tail+="$line"; fi
      ;;
  esac
  if ((${#head} + ${#tail} > limit)); then
    log error "termination log full; $event event not recorded" "$fields"
    return 0
  fi
  local text="$head$tail"
  termination_head="$head"
  termination_tail="$tail"
  if { printf '%s' "$text" >"$TERMINATION_LOG"; } 2>/dev/null; then
    termination_failed=false
    log info "$event event recorded" "$fields"
  else
    # kept, and retried with the next event
    if ! $termination_failed; then
      log error "cannot write termination log $TERMINATION_LOG" "$fields"
    fi
    termination_failed=true
  fi
}

# record_qemu_event <event> <QEMU's event data> <timestamp>
record_qemu_event() {
  local event="$1" details="$2" stamp="$3"
  local guest=false reason=unknown action=unknown kind=context
  case "$event" in
    SHUTDOWN)
      if [[ "$details" =~ \"guest\":[[:space:]]*true ]]; then guest=true; fi
      if [[ "$details" =~ \"reason\":[[:space:]]*\"([^\"]*)\" ]]; then reason="${BASH_REMATCH[1]}"; fi
      if $guest && ! $have_guest_shutdown; then
        have_guest_shutdown=true
        kind=decisive
      else
        kind=closing
      fi
      record_event SHUTDOWN "\"guest\":$guest,\"reason\":$(json_str "$reason")" "$stamp" "$kind"
      ;;
    WATCHDOG | GUEST_PANICKED)
      if [[ "$details" =~ \"action\":[[:space:]]*\"([^\"]*)\" ]]; then action="${BASH_REMATCH[1]}"; fi
      if [[ "$event" == GUEST_PANICKED ]] && ! $have_panic; then
        have_panic=true
        kind=decisive
      elif [[ "$event" == WATCHDOG && "$action" =~ ^(reset|shutdown|poweroff)$ ]] && ! $have_watchdog; then
        have_watchdog=true
        kind=decisive
      fi
      record_event "$event" "\"action\":$(json_str "$action")" "$stamp" "$kind"
      ;;
  esac
}

# --- libvirt ---------------------------------------------------------------------------------

applied=false
apply_attempts=0
max_apply_attempts=3

# One-shot virsh calls get a time limit: a half-up daemon can leave virsh waiting for ever, and
# the monitor would stop reading events (and never notice the launcher going away).
VIRSH_TIMEOUT="${VMPOWER_VIRSH_TIMEOUT_SECONDS:-10}"
[[ "$VIRSH_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || VIRSH_TIMEOUT=10
timeout_cmd=()
if command -v timeout >/dev/null 2>&1; then
  timeout_cmd=(timeout -k 2 "$VIRSH_TIMEOUT")
fi

# Runs virsh, output in $out; false on failure (or after the time limit).
virsh_run() {
  out="$("${timeout_cmd[@]}" "$VIRSH" -c "$uri" "$@" 2>&1)"
}

apply_set_action() {
  $applied && return 0
  ((apply_attempts < max_apply_attempts)) || return 0
  apply_attempts=$((apply_attempts + 1))
  local out=""
  if virsh_run qemu-monitor-command "$domain" "$SET_ACTION" && [[ "$out" == *'"return"'* ]]; then
    applied=true
    log info "set-action reboot=shutdown applied" "\"trigger\":$(json_str "$1")"
  else
    log error "set-action reboot=shutdown failed; guest reboots stay in place" \
      "\"trigger\":$(json_str "$1"),\"output\":$(json_str "${out:0:512}")"
  fi
}

# One look at the domain, for a domain that started while the listeners were connecting. After a
# reconnect (libvirt restarted under a running domain) a domain that is no longer there is gone.
check_domain() {
  local out=""
  if virsh_run domstate "$domain"; then
    case "$out" in
      running* | paused* | "in shutdown"* | pmsuspended* | blocked*) apply_set_action "domstate ${out%%$'\n'*}" ;;
      "shut off"* | crashed*) if ((apply_attempts > 0)); then domain_gone=true; fi ;;
    esac
  elif ((apply_attempts > 0)) && [[ "$out" == *"failed to get domain"* || "$out" == *"Domain not found"* ]]; then
    domain_gone=true # libvirt answers, the domain is not there (not: libvirt still down)
  fi
  if $domain_gone; then
    log info "domain gone while reconnecting" "\"state\":$(json_str "${out%%$'\n'*}")"
  fi
}

# Socket to wait for before trying to connect: in virt-launcher the daemon starts after us.
sockets=()
if [[ "$uri" =~ [?\&]socket=([^\&]+) ]]; then
  sockets=("${BASH_REMATCH[1]}")
elif [[ "$uri" == "qemu:///system" ]]; then
  sockets=(/var/run/libvirt/virtqemud-sock /var/run/libvirt/libvirt-sock)
fi

socket_ready() {
  ((${#sockets[@]} == 0)) && return 0
  local p
  for p in "${sockets[@]}"; do
    [[ -S "$p" ]] && return 0
  done
  return 1
}

start_listeners() {
  # Both listeners write into one pipe; the subshell stops them when it is stopped.
  exec {events_fd}< <(
    a="" b=""
    trap 'kill $a $b 2>/dev/null; wait; exit 0' TERM
    trap - PIPE # a listener whose reader is gone ends on its next write
    "$VIRSH" -c "$uri" event --loop --event lifecycle 2>&1 &
    a=$!
    "$VIRSH" -c "$uri" qemu-monitor-event --loop --regex --event "$QEMU_EVENTS" 2>&1 &
    b=$!
    wait
  )
  listener_pid=$!
}

# The launcher whose life bounds the monitor's: its parent, or VMPOWER_LAUNCHER_PID (the hook's
# shell exits at once; in the container the launcher is PID 1, and when PID 1 ends the kernel
# ends every process of the container's PID namespace, the monitor too).
launcher_pid="${VMPOWER_LAUNCHER_PID:-}"
[[ "$launcher_pid" =~ ^[1-9][0-9]*$ ]] || launcher_pid=$PPID
# kill -0 alone says "gone" for a launcher owned by another user (EPERM).
launcher_alive() {
  if [[ -d /proc/self ]]; then
    [[ -d "/proc/$launcher_pid" ]]
  else
    kill -0 "$launcher_pid" 2>/dev/null
  fi
}

# --- main loop --------------------------------------------------------------------------------

log info "domain monitor started" \
  "\"uri\":$(json_str "$uri"),\"setupDeadlineSeconds\":$deadline,\"launcherPid\":$launcher_pid,\"log\":$(json_str "$log_target")"

domain_gone=false
reconnecting_since=-1
RECONNECT_SECONDS="${VMPOWER_RECONNECT_SECONDS:-120}"
[[ "$RECONNECT_SECONDS" =~ ^[0-9]+$ ]] || RECONNECT_SECONDS=120
shutdown_seen_at=-1
last_state_check=0
first_error=""
rechecked=false

reconnected() {
  log info "reconnected to libvirt" "\"afterSeconds\":$((SECONDS - reconnecting_since))"
  reconnecting_since=-1
}

handle_line() {
  local line="$1"
  local re_life="^event 'lifecycle' for domain '([^']*)': ([A-Za-z]+)( (.*))?$"
  local re_qemu="^event ([A-Z_]+) at ([0-9]+)\.([0-9]+) for domain '([^']*)': (.*)$"
  if [[ "$line" =~ $re_life ]]; then
    [[ "${BASH_REMATCH[1]}" == "$domain" ]] || return 0
    local what="${BASH_REMATCH[2]} ${BASH_REMATCH[4]}"
    case "${BASH_REMATCH[2]}" in
      Started | Resumed | Suspended | PMSuspended) apply_set_action "event $what" ;;
      Stopped)
        domain_gone=true
        log info "domain stopped" "\"event\":$(json_str "$what")"
        ;;
    esac
  elif [[ "$line" =~ $re_qemu ]]; then
    [[ "${BASH_REMATCH[4]}" == "$domain" ]] || return 0
    local event="${BASH_REMATCH[1]}" secs="${BASH_REMATCH[2]}" micros="${BASH_REMATCH[3]}000"
    local details="${BASH_REMATCH[5]}" stamp
    stamp="$(printf '%(%Y-%m-%dT%H:%M:%S)T' "$secs").${micros:0:3}Z"
    record_qemu_event "$event" "$details" "$stamp"
    # After SHUTDOWN QEMU exits; after GUEST_PANICKED libvirt's on_crash (destroy, KubeVirt's and
    # libvirt's default) ends it, with no SHUTDOWN: either way look if no Stopped event comes.
    if [[ "$event" == SHUTDOWN || "$event" == GUEST_PANICKED ]] && ((shutdown_seen_at < 0)); then
      shutdown_seen_at=$SECONDS
    fi
  elif [[ "$line" == error:* ]]; then
    if [[ -z "$first_error" ]]; then first_error="$line"; fi
  fi
}

# Setup phase: connect (retrying while the daemon comes up) and wait for the domain.
# Running phase: record SHUTDOWN events until the domain stops or the launcher is gone.
started_at=$SECONDS
waiting_logged=false
while :; do
  if ((apply_attempts == 0)) && ((SECONDS - started_at >= deadline)); then
    log error "domain did not start within ${deadline}s; giving up" \
      "${first_error:+\"lastError\":$(json_str "$first_error")}"
    exit 0
  fi
  if [[ -z "$events_fd" ]]; then
    if ! socket_ready; then
      if ! $waiting_logged; then
        log info "waiting for the libvirt socket" "\"socket\":$(json_str "${sockets[*]}")"
        waiting_logged=true
      fi
      pause 0.1
      continue
    fi
    start_listeners
    armed_at=$SECONDS
    rechecked=false
    check_domain
  fi
  line=""
  if read -r -t 1 -u "$events_fd" line; then
    if ((reconnecting_since >= 0)) && [[ "$line" != error:* ]]; then
      reconnected
    fi
    handle_line "$line"
  else
    rc=$?
    # Listeners that stay up (virsh prints nothing until an event) mean libvirt is back.
    if ((rc > 128 && reconnecting_since >= 0 && SECONDS - armed_at >= 3)); then
      reconnected
    fi
    if ((rc <= 128)); then
      # Both listeners ended: the daemon went away or refused us.
      stop_listeners
      if $domain_gone; then
        log error "libvirt event stream ended" "${first_error:+\"lastError\":$(json_str "$first_error")}"
        exit 0
      fi
      if ((apply_attempts > 0)); then
        # The domain ran: libvirt restarting under it leaves QEMU (and set-action) in place, so
        # listen again while the launcher lives; a domain gone meanwhile ends the monitor.
        if ((reconnecting_since < 0)); then
          reconnecting_since=$SECONDS
          log error "libvirt event stream ended; reconnecting" \
            "${first_error:+\"lastError\":$(json_str "$first_error")}"
        elif ((SECONDS - reconnecting_since > RECONNECT_SECONDS)); then
          # '>': SECONDS counts whole wall-clock seconds, so a difference of N can be as little as
          # N-1 s elapsed; N+1 is more than N s.
          log error "libvirt did not come back within ${RECONNECT_SECONDS}s; giving up" \
            "${first_error:+\"lastError\":$(json_str "$first_error")}"
          exit 0
        fi
        if ! launcher_alive; then
          log info "launcher is gone; exiting"
          exit 0
        fi
        pause 1
        continue
      fi
      if [[ -n "$first_error" ]] && ! $waiting_logged; then
        log error "cannot listen to libvirt events yet; retrying" "\"lastError\":$(json_str "$first_error")"
      fi
      waiting_logged=true
      pause 1
      continue
    fi
    # A quiet second: one more look for a domain that appeared while the listeners connected.
    if ! $rechecked && ! $applied && ((apply_attempts == 0)) && ((SECONDS - armed_at >= 1)); then
      rechecked=true
      check_domain
    fi
    # QEMU is on its way out after SHUTDOWN or a panic; should the Stopped event not reach us (seen
    # once after a panic with libvirt 9.0), look.
    if ((shutdown_seen_at >= 0 && SECONDS - shutdown_seen_at >= 3 && SECONDS - last_state_check >= 3)); then
      last_state_check=$SECONDS
      out=""
      if ! virsh_run domstate "$domain" || [[ "$out" == "shut off"* ]]; then
        domain_gone=true
        log info "domain gone without a Stopped event" "\"state\":$(json_str "${out%%$'\n'*}")"
      fi
    fi
    if ! launcher_alive; then
      log info "launcher is gone; exiting"
      exit 0
    fi
  fi
  if $domain_gone; then
    # The SHUTDOWN events travel on the other connection: give them a moment.
    drain_until=$((SECONDS + 3))
    while ((SECONDS < drain_until)) && read -r -t 0.5 -u "$events_fd" line; do
      handle_line "$line"
    done
    exit 0
  fi
done
