package io.vmpower.controller;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmpower.api.RunPolicy;
import io.vmpower.api.termination.ShutdownReason;
import io.vmpower.controller.Outcome.EventReason;
import io.vmpower.controller.PowerPolicy.PodEnd;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every cell of DESIGN.md section 2's table that the controller owns, as a pure decision. */
class PowerPolicyTest {

  @ParameterizedTest(name = "{0} / {1} / {2} -> start={3} {4}")
  @CsvSource({
    // policy, VMI phase, pod end, start?, event reason, recorded reason
    "Manual, Succeeded, guest-reset, true, RestartedAfterGuestReboot, guest-reset",
    "AlwaysOnUnlessStoppedManually, Succeeded, guest-reset, true, RestartedAfterGuestReboot, guest-reset",
    "Manual, Succeeded, guest-shutdown, false, GuestPoweredOff, guest-shutdown",
    "AlwaysOnUnlessStoppedManually, Succeeded, guest-shutdown, false, GuestPoweredOff, guest-shutdown",
    "Manual, Failed, none, false, NotRestartedAfterFailure, vmi-failed",
    "AlwaysOnUnlessStoppedManually, Failed, none, true, RestartedAfterFailure, vmi-failed",
    "Manual, Failed, lost, false, NotRestartedAfterFailure, pod-lost",
    "AlwaysOnUnlessStoppedManually, Failed, lost, true, RestartedAfterFailure, pod-lost",
    "AlwaysOnUnlessStoppedManually, Failed, host-signal, true, RestartedAfterFailure, vmi-failed",
    "AlwaysOnUnlessStoppedManually, Failed, guest-panic, false, GuestStopped, guest-panic",
    "AlwaysOnUnlessStoppedManually, Succeeded, none, false, NoShutdownRecord, unknown",
    "AlwaysOnUnlessStoppedManually, Succeeded, lost, false, NoShutdownRecord, unknown",
    // A guest reset wins over the VMI phase.
    "Manual, Failed, guest-reset, true, RestartedAfterGuestReboot, guest-reset",
    // Issue 14's new reasons, as mapped until the controller half gives them their own rows:
    // the reboot-like ones restart like a guest reboot, recorded as what they were ...
    "Manual, Succeeded, host-reset, true, RestartedAfterGuestReboot, host-reset",
    "AlwaysOnUnlessStoppedManually, Succeeded, soft-reboot, true, RestartedAfterGuestReboot, soft-reboot",
    "Manual, Succeeded, watchdog-reset, true, RestartedAfterGuestReboot, watchdog",
    // ... guest-side crashes stay stopped.
    "AlwaysOnUnlessStoppedManually, Failed, panic, false, GuestStopped, guest-panic",
    "AlwaysOnUnlessStoppedManually, Succeeded, watchdog-poweroff, false, GuestStopped, watchdog",
  })
  void decides(
      String policy,
      String phase,
      String pod,
      boolean start,
      EventReason eventReason,
      String reason) {
    Outcome outcome =
        PowerPolicy.decide(RunPolicy.parse(policy).orElseThrow().policy(), phase, end(pod));
    assertThat(outcome.start()).isEqualTo(start);
    assertThat(outcome.eventReason()).isEqualTo(eventReason);
    assertThat(outcome.reason()).isEqualTo(reason);
    if (eventReason != EventReason.NoShutdownRecord) {
      assertThat(outcome.message()).contains("run policy " + policy);
    }
  }

  @ParameterizedTest
  @CsvSource({
    "AlwaysOn, false",
    "AlwaysOff, false",
    "Manual, true",
    "AlwaysOnUnlessStoppedManually, true"
  })
  void onlyManualStrategiesAreTheControllersJob(String policy, boolean acts) {
    assertThat(PowerPolicy.controllerActs(RunPolicy.parse(policy).orElseThrow().policy()))
        .isEqualTo(acts);
  }

  private static PodEnd end(String pod) {
    return switch (pod) {
      case "lost" -> new PodEnd.Lost();
      case "none" -> new PodEnd.Terminated(ShutdownReason.NONE);
      case "guest-reset" -> new PodEnd.Terminated(ShutdownReason.GUEST_RESET);
      case "guest-shutdown" -> new PodEnd.Terminated(ShutdownReason.GUEST_SHUTDOWN);
      case "host-signal" -> new PodEnd.Terminated(new ShutdownReason.Other("host-signal", false));
      case "guest-panic" -> new PodEnd.Terminated(new ShutdownReason.Other("guest-panic", true));
      case "panic" -> new PodEnd.Terminated(ShutdownReason.GUEST_PANIC);
      case "host-reset" -> new PodEnd.Terminated(ShutdownReason.HOST_RESET);
      case "soft-reboot" -> new PodEnd.Terminated(ShutdownReason.SOFT_REBOOT);
      case "watchdog-reset" -> new PodEnd.Terminated(ShutdownReason.WATCHDOG_RESET);
      case "watchdog-poweroff" ->
          new PodEnd.Terminated(
              new ShutdownReason.Watchdog(ShutdownReason.WatchdogAction.POWEROFF));
      default -> throw new IllegalArgumentException(pod);
    };
  }
}
