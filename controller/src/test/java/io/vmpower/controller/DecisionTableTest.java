package io.vmpower.controller;

import static io.vmpower.controller.Snapshots.ended;
import static org.assertj.core.api.Assertions.assertThat;

import io.vmpower.controller.VmSnapshot.LauncherPod;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 14's table, every way a VM stops × every policy, through the whole decision: the
 * termination message as the domain monitor writes it for that way of stopping (measured,
 * injector/README.md "What each way of stopping records"), the VMI phase KubeVirt gives it, and the
 * step {@link PowerDecision} takes. Manual and AlwaysOnUnlessStoppedManually are vmpower's;
 * AlwaysOn and AlwaysOff are left to KubeVirt's runStrategy ({@code Nothing}).
 */
class DecisionTableTest {

  private static final String RESET = shutdown(true, "guest-reset");
  private static final String HOST_SIGNAL = shutdown(false, "host-signal");
  private static final String SYSTEM_RESET = shutdown(false, "host-qmp-system-reset");
  private static final String POWEROFF = shutdown(true, "guest-shutdown");

  private static String shutdown(boolean guest, String reason) {
    return "{\"source\":\"vmpower\",\"event\":\"SHUTDOWN\",\"guest\":"
        + guest
        + ",\"reason\":\""
        + reason
        + "\",\"timestamp\":\"2026-11-29T05:05:45.385Z\"}";
  }

  private static String event(String name, String action) {
    return "{\"source\":\"vmpower\",\"event\":\""
        + name
        + "\",\"action\":\""
        + action
        + "\",\"timestamp\":\"2026-11-29T05:05:45.380Z\"}";
  }

  /** The termination message of each way of stopping, lines in the monitor's order. */
  private static String message(String how) {
    return switch (how) {
      case "reboot", "soft-reboot-agent", "reboot-terminate" -> RESET + "\n" + HOST_SIGNAL;
      case "reset" -> SYSTEM_RESET + "\n" + HOST_SIGNAL;
      case "soft-reboot-acpi" -> POWEROFF + "\n" + SYSTEM_RESET + "\n" + HOST_SIGNAL;
      case "poweroff", "soft-reboot-terminate" -> POWEROFF + "\n" + HOST_SIGNAL;
      case "panic" -> event("GUEST_PANICKED", "pause");
      case "panic-poweroff" ->
          event("GUEST_PANICKED", "poweroff") + "\n" + shutdown(true, "guest-panic");
      case "watchdog-reset" -> event("WATCHDOG", "reset") + "\n" + RESET + "\n" + HOST_SIGNAL;
      case "watchdog-shutdown" ->
          event("WATCHDOG", "shutdown") + "\n" + POWEROFF + "\n" + HOST_SIGNAL;
      case "watchdog-poweroff" -> event("WATCHDOG", "poweroff");
      case "grace-kill" -> HOST_SIGNAL;
      case "none" -> "";
      case "garbled" ->
          "{\"source\":\"vmpower\",\"event\":\"SHUT" + "\u0000\u00ff" + "panic: runtime error";
      case "huge" -> "x".repeat(1 << 20) + RESET;
      default -> throw new IllegalArgumentException(how);
    };
  }

  @ParameterizedTest(name = "{0}: {3} / {4} / {5} / {6}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          # how it stopped (VMI phase)           | message               | phase     | Manual                                      | AlwaysOnUnlessStoppedManually               | AlwaysOn | AlwaysOff
          reboot in the guest                    | reboot                | Succeeded | Claim RestartedAfterGuestReboot guest-reset | Claim RestartedAfterGuestReboot guest-reset | Nothing  | Nothing
          virtctl reset                          | reset                 | Succeeded | Claim RestartedAfterReset host-reset        | Claim RestartedAfterReset host-reset        | Nothing  | Nothing
          virtctl soft-reboot, guest agent       | soft-reboot-agent     | Succeeded | Claim RestartedAfterGuestReboot guest-reset | Claim RestartedAfterGuestReboot guest-reset | Nothing  | Nothing
          virtctl soft-reboot, ACPI (no agent)   | soft-reboot-acpi      | Succeeded | Claim RestartedAfterSoftReboot soft-reboot  | Claim RestartedAfterSoftReboot soft-reboot  | Nothing  | Nothing
          guest power-off                        | poweroff              | Succeeded | Stay GuestPoweredOff guest-shutdown         | Stay GuestPoweredOff guest-shutdown         | Nothing  | Nothing
          guest panic (pvpanic, on_crash destroy)| panic                 | Failed    | Stay GuestPanicked guest-panic              | Stay GuestPanicked guest-panic              | Nothing  | Nothing
          guest panic, panic action poweroff     | panic-poweroff        | Succeeded | Stay GuestPanicked guest-panic              | Stay GuestPanicked guest-panic              | Nothing  | Nothing
          watchdog, action reset                 | watchdog-reset        | Succeeded | Claim RestartedAfterWatchdog watchdog       | Claim RestartedAfterWatchdog watchdog       | Nothing  | Nothing
          watchdog, action shutdown              | watchdog-shutdown     | Succeeded | Stay GuestStopped watchdog                  | Stay GuestStopped watchdog                  | Nothing  | Nothing
          watchdog, action poweroff              | watchdog-poweroff     | Succeeded | Stay GuestStopped watchdog                  | Stay GuestStopped watchdog                  | Nothing  | Nothing
          QEMU failure, no record                | none                  | Failed    | Stay NotRestartedAfterFailure vmi-failed    | Claim RestartedAfterFailure vmi-failed      | Nothing  | Nothing
          grace-period kill (host-signal only)   | grace-kill            | Failed    | Stay NotRestartedAfterFailure vmi-failed    | Claim RestartedAfterFailure vmi-failed      | Nothing  | Nothing
          node failure, pod lost                 | lost                  | Failed    | Stay NotRestartedAfterFailure pod-lost      | Claim RestartedAfterFailure pod-lost        | Nothing  | Nothing
          ended without a record                 | none                  | Succeeded | Stay NoShutdownRecord unknown               | Stay NoShutdownRecord unknown               | Nothing  | Nothing
          a garbled record                       | garbled               | Succeeded | Stay NoShutdownRecord unknown               | Stay NoShutdownRecord unknown               | Nothing  | Nothing
          a garbled record, VMI Failed           | garbled               | Failed    | Stay NotRestartedAfterFailure vmi-failed    | Claim RestartedAfterFailure vmi-failed      | Nothing  | Nothing
          a message of 1 MiB                     | huge                  | Succeeded | Stay NoShutdownRecord unknown               | Stay NoShutdownRecord unknown               | Nothing  | Nothing
          rebootPolicy Terminate: guest reboot   | reboot-terminate      | Succeeded | Claim RestartedAfterGuestReboot guest-reset | Claim RestartedAfterGuestReboot guest-reset | Nothing  | Nothing
          rebootPolicy Terminate: soft-reboot    | soft-reboot-terminate | Succeeded | Stay GuestPoweredOff guest-shutdown         | Stay GuestPoweredOff guest-shutdown         | Nothing  | Nothing
          """)
  void everyWayOfStoppingUnderEveryPolicy(
      String how,
      String message,
      String phase,
      String manual,
      String unlessStopped,
      String alwaysOn,
      String alwaysOff) {
    String[][] cells = {
      {"Manual", manual},
      {"AlwaysOnUnlessStoppedManually", unlessStopped},
      {"AlwaysOn", alwaysOn},
      {"AlwaysOff", alwaysOff}
    };
    for (String[] cell : cells) {
      Snapshots.Builder b = Snapshots.vm(cell[0]).vmi("A " + phase);
      if (message.equals("lost")) {
        b.podsFresh(); // no pod left, as the API server lists it
      } else {
        b.pods(ended("a", 1, message(message)));
      }
      Step step = b.decide();
      String[] expected = cell[1].split(" ");
      assertThat(step.getClass().getSimpleName()).as(how + " / " + cell[0]).isEqualTo(expected[0]);
      Outcome outcome =
          step instanceof Step.Claim c
              ? c.outcome()
              : step instanceof Step.Stay st ? st.outcome() : null;
      if (outcome != null) {
        assertThat(outcome.eventReason().name()).as(how + " / " + cell[0]).isEqualTo(expected[1]);
        assertThat(outcome.reason()).as(how + " / " + cell[0]).isEqualTo(expected[2]);
        assertThat(outcome.start()).isEqualTo(step instanceof Step.Claim);
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"Manual", "AlwaysOnUnlessStoppedManually"})
  void virtctlStopIsNeverAReasonToStart(String policy) {
    // virtctl stop presses the power button: a guest-shutdown record, while the stop request is
    // pending and the VMI is being deleted.
    LauncherPod pod = ended("a", 1, message("poweroff"));
    assertThat(Snapshots.vm(policy).stateChangeRequests(true).vmi("A Succeeded").pods(pod).decide())
        .isInstanceOf(Step.Nothing.class);
    assertThat(Snapshots.vm(policy).vmi("A Succeeded deleting").pods(pod).decide())
        .isInstanceOf(Step.Nothing.class);
  }
}
