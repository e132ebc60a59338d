package io.vmpower.api.termination;

/**
 * Why QEMU ended, as read from the records the domain monitor leaves in the compute container's
 * termination message ({@link TerminationMessages#parse}). One case per way a VM stops that QEMU
 * and libvirt tell apart (issue 14's table; the event sequences are in injector/README.md, "What
 * each way of stopping records"). The parser only says what happened; what to do about it is the
 * controller's decision.
 *
 * <p>Every case carries {@link #recordReason()}, the short reason the controller records in {@code
 * vmpower.io/last-power-event}.
 */
public sealed interface ShutdownReason {

  /**
   * The short reason for {@code vmpower.io/last-power-event}: {@code guest-reset}, {@code
   * host-reset}, {@code soft-reboot}, {@code guest-shutdown}, {@code guest-panic}, {@code
   * watchdog}, QEMU's own reason for {@link Other}, and {@code none} for {@link None} (where the
   * controller records what it found instead, such as {@code vmi-failed} or {@code pod-lost}).
   */
  String recordReason();

  /**
   * The guest rebooted itself ({@code reboot} inside the guest; also {@code virtctl soft-reboot}
   * with the guest agent, which asks the guest to reboot): {@code SHUTDOWN guest:true guest-reset}.
   */
  record GuestReset() implements ShutdownReason {
    @Override
    public String recordReason() {
      return "guest-reset";
    }
  }

  /**
   * The host reset the VM: {@code virtctl reset} / {@code virsh reset}, QMP {@code system_reset},
   * which with {@code reboot=shutdown} ends QEMU with {@code SHUTDOWN guest:false
   * host-qmp-system-reset}, not preceded by a guest event. A reset asked for, not a power-off.
   */
  record HostReset() implements ShutdownReason {
    @Override
    public String recordReason() {
      return "host-reset";
    }
  }

  /**
   * {@code virtctl soft-reboot} without the guest agent ({@code virsh reboot --mode acpi}): libvirt
   * presses the ACPI power button and, once the guest has powered off ({@code SHUTDOWN guest:true
   * guest-shutdown}), resets it ("fake reboot"), which with {@code reboot=shutdown} ends QEMU
   * ({@code SHUTDOWN guest:false host-qmp-system-reset}). A reboot asked for, not a power-off.
   */
  record SoftReboot() implements ShutdownReason {
    @Override
    public String recordReason() {
      return "soft-reboot";
    }
  }

  /**
   * The guest powered itself off, or was asked to by the host ({@code virtctl stop} presses the
   * ACPI power button): {@code SHUTDOWN guest:true guest-shutdown}, then libvirt's {@code
   * host-signal}. Also what libvirt makes of an agent or ACPI reboot on a domain with {@code
   * <on_reboot>destroy</on_reboot>}: there it cannot be told from a power-off.
   */
  record GuestShutdown() implements ShutdownReason {
    @Override
    public String recordReason() {
      return "guest-shutdown";
    }
  }

  /**
   * The guest kernel panicked and told QEMU through a panic device (pvpanic, isa, hyperv): {@code
   * GUEST_PANICKED} (libvirt's default {@code on_crash} destroy then kills QEMU, with no SHUTDOWN
   * event), or {@code SHUTDOWN guest-panic} when QEMU's panic action powers off; whatever SHUTDOWN
   * follows.
   */
  record GuestPanic() implements ShutdownReason {
    @Override
    public String recordReason() {
      return "guest-panic";
    }
  }

  /**
   * The guest's watchdog device fired and its action ended the VM: {@code WATCHDOG action:reset}
   * followed by {@code SHUTDOWN guest:true guest-reset} (a restart, but not a reboot the user asked
   * for); {@code action:shutdown} (an ACPI power button press) followed by {@code guest-shutdown};
   * {@code action:poweroff} (QEMU exits at once, no SHUTDOWN).
   */
  record Watchdog(WatchdogAction action) implements ShutdownReason {
    public Watchdog {
      if (action == null) {
        throw new IllegalArgumentException("action");
      }
    }

    @Override
    public String recordReason() {
      return "watchdog";
    }
  }

  /**
   * A SHUTDOWN event this table has no row for: QEMU's {@code reason} and whether the guest caused
   * it. {@code guest:false} when nothing guest-initiated was recorded: {@code host-signal} alone (a
   * grace-period kill, {@code virsh destroy}), {@code host-qmp-quit}; {@code guest:true} for
   * reasons such as {@code subsystem-reset}. Reason: non-empty, at most 64 characters.
   */
  record Other(String reason, boolean guest) implements ShutdownReason {
    public Other {
      if (reason == null || reason.isEmpty()) {
        throw new IllegalArgumentException("reason");
      }
    }

    @Override
    public String recordReason() {
      return reason;
    }
  }

  /**
   * Nothing readable: no message, an empty one, only unrelated or garbled lines (with {@code
   * FallbackToLogsOnError} the kubelet may put log lines there), or only WATCHDOG events whose
   * action did not end the VM. Not a reason to restart.
   */
  record None() implements ShutdownReason {
    @Override
    public String recordReason() {
      return "none";
    }
  }

  /** QEMU's watchdog actions ({@code WatchdogAction} in QEMU's qapi/run-state.json). */
  enum WatchdogAction {
    RESET("reset"),
    SHUTDOWN("shutdown"),
    POWEROFF("poweroff"),
    PAUSE("pause"),
    DEBUG("debug"),
    NONE("none"),
    INJECT_NMI("inject-nmi");

    private final String qemuName;

    WatchdogAction(String qemuName) {
      this.qemuName = qemuName;
    }

    /** The name in QEMU's {@code WATCHDOG} event, e.g. {@code reset}. */
    public String qemuName() {
      return qemuName;
    }

    /** The action QEMU calls {@code name}, or null for a name QEMU does not use. */
    static WatchdogAction ofQemuName(String name) {
      for (WatchdogAction a : values()) {
        if (a.qemuName.equals(name)) {
          return a;
        }
      }
      return null;
    }
  }

  ShutdownReason GUEST_RESET = new GuestReset();
  ShutdownReason HOST_RESET = new HostReset();
  ShutdownReason SOFT_REBOOT = new SoftReboot();
  ShutdownReason GUEST_SHUTDOWN = new GuestShutdown();
  ShutdownReason GUEST_PANIC = new GuestPanic();
  ShutdownReason WATCHDOG_RESET = new Watchdog(WatchdogAction.RESET);
  ShutdownReason NONE = new None();
}
