package io.vmpower.controller;

import static io.vmpower.controller.PowerEventReason.GUEST_RESET;
import static io.vmpower.controller.PowerEventReason.GUEST_SHUTDOWN;
import static io.vmpower.controller.PowerEventReason.POD_LOST;
import static io.vmpower.controller.PowerEventReason.START_PENDING;
import static io.vmpower.controller.PowerEventReason.UNKNOWN;
import static io.vmpower.controller.PowerEventReason.VMI_FAILED;

import io.vmpower.api.RunPolicy;
import io.vmpower.api.termination.ShutdownReason;
import io.vmpower.controller.Outcome.EventReason;
import java.util.Set;

/**
 * The policy table of DESIGN.md section 2, for a VMI that has ended (Succeeded or Failed) and is
 * not being deleted by a user. Pure: no I/O, no clock.
 */
final class PowerPolicy {
  private PowerPolicy() {}

  /** How the pod that ran the VMI last ended, as far as the API shows it. */
  sealed interface PodEnd {
    /** No pod owned by the VMI exists any more (node lost, pod deleted or evicted). */
    record Lost() implements PodEnd {}

    /** The compute container has terminated; {@code reason} was parsed from its message. */
    record Terminated(ShutdownReason reason) implements PodEnd {}

    /**
     * The compute container of {@code pod} has not terminated within the wait for its termination
     * message: decided on without it, like a message that says nothing.
     */
    record Unterminated(String pod) implements PodEnd {}
  }

  /** True for the two final VMI phases. */
  static boolean isFinal(String vmiPhase) {
    return "Succeeded".equals(vmiPhase) || "Failed".equals(vmiPhase);
  }

  /**
   * True when the controller, not KubeVirt, may have to act for this policy: Manual and
   * AlwaysOnUnlessStoppedManually run with runStrategy Manual. AlwaysOn/AlwaysOff are left to
   * KubeVirt's runStrategy.
   */
  static boolean controllerActs(RunPolicy policy) {
    return policy.restartsOnGuestReset() || policy.restartsOnInfrastructureFailure();
  }

  /** Decides for a final VMI, from how the pod that ran it last ended. */
  static Outcome decide(RunPolicy policy, String vmiPhase, PodEnd pod) {
    String p = policy.value();
    ShutdownReason reason = pod instanceof PodEnd.Terminated t ? t.reason() : ShutdownReason.NONE;
    // Reboots in all but name (issue 14): restarted like a guest reboot, recorded as what they
    // were. TODO(issue 14, controller half): their own Event reasons, restart backoff.
    String rebooted = rebootDescription(reason);
    if (rebooted != null) {
      return policy.restartsOnGuestReset()
          ? Outcome.start(
              reason.recordReason(),
              EventReason.RestartedAfterGuestReboot,
              rebooted
                  + "; started the VM again with a new virt-launcher pod (run policy "
                  + p
                  + ").")
          : Outcome.stay(
              reason.recordReason(),
              EventReason.GuestStopped,
              rebooted + "; run policy " + p + " does not restart it.");
    }
    if (reason instanceof ShutdownReason.GuestShutdown) {
      return Outcome.stay(
          GUEST_SHUTDOWN.code(),
          EventReason.GuestPoweredOff,
          "The guest powered off (or was stopped gracefully); the VM stays stopped (run policy "
              + p
              + "). Start it with virtctl start.");
    }
    if (reason instanceof ShutdownReason.GuestPanic
        || reason instanceof ShutdownReason.Watchdog
        || reason instanceof ShutdownReason.Other o && o.guest()) {
      // Guest-side crashes (a panic, a watchdog that powered the guest off) are the guest's
      // doing, not the infrastructure's.
      return Outcome.stay(
          reason.recordReason(),
          EventReason.GuestStopped,
          "The guest stopped with reason "
              + reason.recordReason()
              + "; the VM stays stopped (run policy "
              + p
              + "). Start it with virtctl start.");
    }
    // No guest-initiated reason: host-side events only, an empty or foreign message, or no pod.
    boolean lost = pod instanceof PodEnd.Lost;
    if (!"Failed".equals(vmiPhase)) {
      // Succeeded without a record, e.g. a guest poweroff in a pod the injector did not reach.
      // Starting could undo a deliberate poweroff, so stay stopped and say why.
      return Outcome.stay(
          UNKNOWN.code(),
          EventReason.NoShutdownRecord,
          "The VMI ended without a vmpower shutdown record"
              + (lost
                  ? " and its virt-launcher pod is gone"
                  : " (was the virt-launcher pod injected?)")
              + "; the VM stays stopped. Start it with virtctl start.");
    }
    String what =
        lost ? "its virt-launcher pod was lost" : "the VMI failed without a guest shutdown";
    String code = (lost ? POD_LOST : VMI_FAILED).code();
    return policy.restartsOnInfrastructureFailure()
        ? Outcome.start(
            code,
            EventReason.RestartedAfterFailure,
            "The VM stopped because " + what + "; started it again (run policy " + p + ").")
        : Outcome.stay(
            code,
            EventReason.NotRestartedAfterFailure,
            "The VM stopped because "
                + what
                + "; run policy "
                + p
                + " does not restart after failures. Start it with virtctl start.");
  }

  /**
   * What happened, for the reasons that end a VMI the way a reboot does: a guest reboot, a host
   * reset ({@code virtctl reset}), a soft reboot without the guest agent, a watchdog reset; null
   * for every other reason.
   */
  private static String rebootDescription(ShutdownReason reason) {
    if (reason instanceof ShutdownReason.GuestReset) {
      return "The guest rebooted";
    }
    if (reason instanceof ShutdownReason.HostReset) {
      return "The VM was reset (virtctl reset)";
    }
    if (reason instanceof ShutdownReason.SoftReboot) {
      return "The VM was soft-rebooted through ACPI (virtctl soft-reboot without the guest agent)";
    }
    if (reason instanceof ShutdownReason.Watchdog w
        && w.action() == ShutdownReason.WatchdogAction.RESET) {
      return "The guest's watchdog reset it";
    }
    return null;
  }

  /** Recorded reasons of reboots in all but name (see {@link #rebootDescription}). */
  private static final Set<String> REBOOT_LIKE =
      Set.of(
          ShutdownReason.HOST_RESET.recordReason(),
          ShutdownReason.SOFT_REBOOT.recordReason(),
          ShutdownReason.WATCHDOG_RESET.recordReason());

  /**
   * The Event for a start recorded in {@code vmpower.io/last-power-event} by an earlier attempt
   * (before a restart or a leader change), when the original decision is no longer at hand.
   */
  static Outcome recordedStart(RunPolicy policy, String reason) {
    String p = policy.value();
    PowerEventReason known = PowerEventReason.of(reason).orElse(null);
    if (known == GUEST_RESET) {
      return Outcome.start(
          reason,
          EventReason.RestartedAfterGuestReboot,
          "The guest rebooted; started the VM again with a new virt-launcher pod (run policy "
              + p
              + ").");
    }
    if (REBOOT_LIKE.contains(reason)) {
      return Outcome.start(
          reason,
          EventReason.RestartedAfterGuestReboot,
          "The VM rebooted ("
              + reason
              + "); started it again with a new virt-launcher pod (run policy "
              + p
              + ").");
    }
    if (known == START_PENDING) {
      return Outcome.start(
          reason,
          EventReason.StartedFirstTime,
          "Started the VM for the first time (run policy " + p + ").");
    }
    return Outcome.start(
        reason,
        EventReason.RestartedAfterFailure,
        "The VM stopped (" + reason + "); started it again (run policy " + p + ").");
  }
}
