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
    "AlwaysOnUnlessStoppedManually, Failed, guest-subsystem-reset, false, GuestStopped, subsystem-reset",
    "AlwaysOnUnlessStoppedManually, Succeeded, none, false, NoShutdownRecord, unknown",
    "AlwaysOnUnlessStoppedManually, Succeeded, lost, false, NoShutdownRecord, unknown",
    // A guest reset wins over the VMI phase.
    "Manual, Failed, guest-reset, true, RestartedAfterGuestReboot, guest-reset",
    // Issue 14's rows: reboots in all but name restart, each with its own Event ...
    "Manual, Succeeded, host-reset, true, RestartedAfterReset, host-reset",
    "AlwaysOnUnlessStoppedManually, Succeeded, host-reset, true, RestartedAfterReset, host-reset",
    "Manual, Succeeded, soft-reboot, true, RestartedAfterSoftReboot, soft-reboot",
    "AlwaysOnUnlessStoppedManually, Succeeded, soft-reboot, true, RestartedAfterSoftReboot, soft-reboot",
    "Manual, Succeeded, watchdog-reset, true, RestartedAfterWatchdog, watchdog",
    "AlwaysOnUnlessStoppedManually, Succeeded, watchdog-reset, true, RestartedAfterWatchdog, watchdog",
    // ... a guest panic stays stopped whatever the VMI's phase (a Failed VMI is not a failure of
    // the infrastructure here) ...
    "Manual, Failed, panic, false, GuestPanicked, guest-panic",
    "AlwaysOnUnlessStoppedManually, Failed, panic, false, GuestPanicked, guest-panic",
    "AlwaysOnUnlessStoppedManually, Succeeded, panic, false, GuestPanicked, guest-panic",
    // ... and a watchdog that powered the guest off is the guest's end too.
    "AlwaysOnUnlessStoppedManually, Succeeded, watchdog-poweroff, false, GuestStopped, watchdog",
    "Manual, Failed, watchdog-poweroff, false, GuestStopped, watchdog",
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
      case "guest-subsystem-reset" ->
          new PodEnd.Terminated(new ShutdownReason.Other("subsystem-reset", true));
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
