package io.vmpower.controller;

/**
 * What the controller does about one final VMI: start the VM again or leave it stopped, with the
 * Kubernetes Event that tells the user why.
 *
 * @param start whether to start the VM again
 * @param reason the short reason recorded in {@code vmpower.io/last-power-event} (for example
 *     {@code guest-reset}, {@code guest-shutdown}, {@code vmi-failed}, {@code pod-lost})
 * @param eventReason the Event reason users see in {@code kubectl describe vm}
 * @param message the Event message
 */
record Outcome(boolean start, String reason, EventReason eventReason, String message) {

  /** The Event reasons the controller emits on VMs, with their Event type. */
  enum EventReason {
    /** The guest rebooted; vmpower started the VM again with a new virt-launcher pod. */
    RestartedAfterGuestReboot("Normal"),
    /** {@code virtctl reset} (QMP system_reset); vmpower started the VM again. */
    RestartedAfterReset("Normal"),
    /** {@code virtctl soft-reboot} without the guest agent (ACPI); vmpower started it again. */
    RestartedAfterSoftReboot("Normal"),
    /** The guest's watchdog fired and reset it; vmpower started the VM again. */
    RestartedAfterWatchdog("Warning"),
    /** The VMI failed or its pod was lost; vmpower started the VM again. */
    RestartedAfterFailure("Warning"),
    /** First start of an AlwaysOnUnlessStoppedManually VM ({@code vmpower.io/start-pending}). */
    StartedFirstTime("Normal"),
    /** The guest powered itself off; the VM stays stopped. */
    GuestPoweredOff("Normal"),
    /** The guest kernel panicked (its panic device said so); the VM stays stopped. */
    GuestPanicked("Warning"),
    /** The guest ended with another guest-initiated reason (a watchdog that powered it off). */
    GuestStopped("Warning"),
    /** The VMI failed or its pod was lost, and the policy does not restart after failures. */
    NotRestartedAfterFailure("Warning"),
    /** The VMI ended without a shutdown record the controller can read; the VM stays stopped. */
    NoShutdownRecord("Warning"),
    /** A restart waits: the VM restarted repeatedly without running long (restart backoff). */
    RestartBackOff("Warning"),
    /** Too many restarts within the window: the VM stays stopped until a user starts it. */
    GaveUpRestarting("Warning"),
    /** A user started a VM the controller had given up on: it restarts the VM again. */
    RestartLoopCleared("Normal"),
    /** A start or stop by someone else came first: the restart the controller waited for is off. */
    RestartSuperseded("Normal"),
    /** The VM's {@code vmpower.io/last-power-event} was unreadable: stays stopped, rewritten. */
    UnreadablePowerRecord("Warning"),
    /** The start request failed; the controller keeps retrying. */
    StartFailed("Warning"),
    /** A running virt-launcher pod of a managed VM carries no domain monitor. */
    PodNotInjected("Warning");

    private final String type;

    EventReason(String type) {
      this.type = type;
    }

    /** The Event type, Normal or Warning. */
    String type() {
      return type;
    }
  }

  static Outcome start(String reason, EventReason eventReason, String message) {
    return new Outcome(true, reason, eventReason, message);
  }

  static Outcome stay(String reason, EventReason eventReason, String message) {
    return new Outcome(false, reason, eventReason, message);
  }
}
