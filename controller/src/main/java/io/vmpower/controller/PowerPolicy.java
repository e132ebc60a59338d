package io.vmpower.controller;

import static io.vmpower.controller.PowerEventReason.POD_LOST;
import static io.vmpower.controller.PowerEventReason.START_PENDING;
import static io.vmpower.controller.PowerEventReason.UNKNOWN;
import static io.vmpower.controller.PowerEventReason.VMI_FAILED;

import io.vmpower.api.RunPolicy;
import io.vmpower.api.termination.ShutdownReason;
import io.vmpower.controller.Outcome.EventReason;
import java.util.List;
import java.util.Optional;

/**
 * The policy table (README "Choosing a policy", DESIGN.md section 2, issue 14's rows): for a VMI
 * that has ended (Succeeded or Failed) and is not being deleted by a user, what the policy says,
 * from how the pod that ran it last ended. Pure: no I/O, no clock. Only Manual and
 * AlwaysOnUnlessStoppedManually get here; AlwaysOn/AlwaysOff are KubeVirt's.
 *
 * <ol>
 *   <li>a reboot in all but name — the guest's ({@code guest-reset}), {@code virtctl reset} ({@code
 *       host-reset}), {@code virtctl soft-reboot} through ACPI ({@code soft-reboot}), a watchdog
 *       reset ({@code watchdog}) — restarts, each with its own Event;
 *   <li>a guest power-off ({@code guest-shutdown}, also {@code virtctl stop}) stays stopped;
 *   <li>a guest panic ({@code guest-panic}) stays stopped, whatever the VMI's phase: the guest's
 *       doing, kept for inspection;
 *   <li>other guest-initiated ends (a watchdog that powered the guest off, QEMU reasons without a
 *       row) stay stopped;
 *   <li>no guest reason: a Failed VMI or a lost pod restarts for AlwaysOnUnlessStoppedManually
 *       only; a Succeeded VMI without a readable record stays stopped (it may have been a
 *       deliberate power-off).
 * </ol>
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

  /** A way of stopping that is a reboot in all but name: restarted, with its own Event. */
  private record Reboot(ShutdownReason reason, EventReason event, String what) {}

  private static final List<Reboot> REBOOTS =
      List.of(
          new Reboot(
              ShutdownReason.GUEST_RESET,
              EventReason.RestartedAfterGuestReboot,
              "The guest rebooted"),
          new Reboot(
              ShutdownReason.HOST_RESET,
              EventReason.RestartedAfterReset,
              "The VM was reset (virtctl reset)"),
          new Reboot(
              ShutdownReason.SOFT_REBOOT,
              EventReason.RestartedAfterSoftReboot,
              "The VM was soft-rebooted through ACPI (virtctl soft-reboot without the guest agent)"),
          new Reboot(
              ShutdownReason.WATCHDOG_RESET,
              EventReason.RestartedAfterWatchdog,
              "The guest's watchdog fired and reset it (the guest had stopped responding)"));

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
    Optional<Reboot> reboot = REBOOTS.stream().filter(r -> r.reason().equals(reason)).findFirst();
    if (reboot.isPresent()) {
      Reboot r = reboot.get();
      return policy.restartsOnGuestReset()
          ? restarted(r, p)
          : Outcome.stay(
              reason.recordReason(),
              EventReason.GuestStopped,
              r.what() + "; run policy " + p + " does not restart it.");
    }
    if (reason instanceof ShutdownReason.GuestShutdown) {
      return Outcome.stay(
          reason.recordReason(),
          EventReason.GuestPoweredOff,
          "The guest powered off (or was stopped gracefully); the VM stays stopped (run policy "
              + p
              + "). Start it with virtctl start.");
    }
    if (reason instanceof ShutdownReason.GuestPanic) {
      return Outcome.stay(
          reason.recordReason(),
          EventReason.GuestPanicked,
          "The guest kernel panicked (its panic device reported it); the VM stays stopped (run"
              + " policy "
              + p
              + "), a crash of the guest's own making. Start it with virtctl start.");
    }
    if (reason instanceof ShutdownReason.Watchdog w) {
      return Outcome.stay(
          reason.recordReason(),
          EventReason.GuestStopped,
          "The guest's watchdog fired with action "
              + w.action().qemuName()
              + " and stopped it; the VM stays stopped (run policy "
              + p
              + "). Start it with virtctl start.");
    }
    if (reason instanceof ShutdownReason.Other o && o.guest()) {
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

  private static Outcome restarted(Reboot r, String policy) {
    return Outcome.start(
        r.reason().recordReason(),
        r.event(),
        r.what()
            + "; started the VM again with a new virt-launcher pod (run policy "
            + policy
            + ").");
  }

  /**
   * The Event for a start recorded in {@code vmpower.io/last-power-event} by an earlier attempt
   * (before a restart or a leader change), when the original decision is no longer at hand.
   */
  static Outcome recordedStart(RunPolicy policy, String reason) {
    String p = policy.value();
    Optional<Reboot> reboot =
        REBOOTS.stream().filter(r -> r.reason().recordReason().equals(reason)).findFirst();
    if (reboot.isPresent()) {
      return restarted(reboot.get(), p);
    }
    if (START_PENDING.code().equals(reason)) {
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
