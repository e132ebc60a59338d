package io.vmpower.api.termination;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmpower.api.termination.ShutdownReason.WatchdogAction;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every way a VM stops (issue 14's table), as the event sequence the monitor records for it, in
 * each format the parser reads. Sequences marked "measured" are what DomainMonitorLibvirtIT sees on
 * libvirt 9.0 / QEMU 7.2; the others are QEMU's documented variants.
 */
class ShutdownSequenceTest {

  /**
   * A compact sequence: {@code +reason} a guest SHUTDOWN, {@code -reason} a host SHUTDOWN, {@code
   * W:action} a WATCHDOG, {@code P:action} a GUEST_PANICKED; space-separated.
   */
  record Step(String event, boolean guest, String value) {
    static List<Step> parse(String sequence) {
      List<Step> steps = new ArrayList<>();
      for (String s : sequence.trim().split("\\s+")) {
        if (s.isEmpty()) {
          continue;
        }
        if (s.startsWith("+") || s.startsWith("-")) {
          steps.add(new Step("SHUTDOWN", s.startsWith("+"), s.substring(1)));
        } else if (s.startsWith("W:")) {
          steps.add(new Step("WATCHDOG", false, s.substring(2)));
        } else if (s.startsWith("P:")) {
          steps.add(new Step("GUEST_PANICKED", false, s.substring(2)));
        } else {
          throw new IllegalArgumentException(s);
        }
      }
      return steps;
    }

    String data() {
      return event.equals("SHUTDOWN")
          ? "{\"guest\":" + guest + ",\"reason\":\"" + value + "\"}"
          : "{\"action\":\"" + value + "\"}";
    }

    /** The line today's monitor writes. */
    String current() {
      String fields =
          event.equals("SHUTDOWN")
              ? "\"guest\":" + guest + ",\"reason\":\"" + value + "\""
              : "\"action\":\"" + value + "\"";
      return "{\"source\":\"vmpower\",\"event\":\""
          + event
          + "\","
          + fields
          + ",\"timestamp\":\"2026-11-25T09:42:16.260Z\"}";
    }

    /** Older monitors: the data as a JSON string under {@code details}. */
    String olderDetailsString() {
      return "{\"event\":\"" + event + "\",\"details\":\"" + data().replace("\"", "\\\"") + "\"}";
    }

    /** Older monitors: the data as an object under {@code details}. */
    String olderDetailsObject() {
      return "{\"event\":\"" + event + "\",\"details\":" + data() + "}";
    }

    /** What {@code virsh qemu-monitor-event} prints. */
    String virsh() {
      return "event " + event + " at 1795928745.385357 for domain 'ns_vm': " + data();
    }
  }

  static String render(String sequence, Function<Step, String> format) {
    StringBuilder sb = new StringBuilder();
    for (Step s : Step.parse(sequence)) {
      sb.append(format.apply(s)).append('\n');
    }
    return sb.toString();
  }

  static ShutdownReason expected(String name) {
    return switch (name) {
      case "GuestReset" -> ShutdownReason.GUEST_RESET;
      case "HostReset" -> ShutdownReason.HOST_RESET;
      case "SoftReboot" -> ShutdownReason.SOFT_REBOOT;
      case "GuestShutdown" -> ShutdownReason.GUEST_SHUTDOWN;
      case "GuestPanic" -> ShutdownReason.GUEST_PANIC;
      case "WatchdogReset" -> ShutdownReason.WATCHDOG_RESET;
      case "WatchdogShutdown" -> new ShutdownReason.Watchdog(WatchdogAction.SHUTDOWN);
      case "WatchdogPoweroff" -> new ShutdownReason.Watchdog(WatchdogAction.POWEROFF);
      case "None" -> ShutdownReason.NONE;
      default -> {
        // Other:<reason>:<guest>
        String[] p = name.split(":");
        yield new ShutdownReason.Other(p[1], Boolean.parseBoolean(p[2]));
      }
    };
  }

  @ParameterizedTest(name = "{0}: {1} -> {2}")
  @CsvSource(
      delimiter = '|',
      value = {
        // how it stopped | recorded sequence | reason | recorded reason
        "reboot in the guest (measured) | +guest-reset -host-signal | GuestReset | guest-reset",
        "virtctl reset / virsh reset (measured) | -host-qmp-system-reset -host-signal | HostReset | host-reset",
        "soft reboot without agent, ACPI fake reboot (measured) | +guest-shutdown -host-qmp-system-reset -host-signal"
            + " | SoftReboot | soft-reboot",
        "fake reboot whose reset libvirt repeats | +guest-shutdown -host-qmp-system-reset -host-qmp-system-reset"
            + " -host-signal | SoftReboot | soft-reboot",
        "guest power-off, virtctl stop (measured) | +guest-shutdown -host-signal | GuestShutdown | guest-shutdown",
        "guest power-off, QEMU killed before libvirt's signal | +guest-shutdown | GuestShutdown | guest-shutdown",
        "ACPI reboot with on_reboot destroy (measured) | +guest-shutdown -host-signal | GuestShutdown | guest-shutdown",
        "reboot in the guest with on_reboot destroy (measured) | +guest-reset -host-signal | GuestReset | guest-reset",
        "guest panic, libvirt on_crash destroy (measured) | P:pause | GuestPanic | guest-panic",
        "guest panic, QEMU panic action shutdown | P:poweroff +guest-panic | GuestPanic | guest-panic",
        "guest panic, then killed | P:pause -host-signal | GuestPanic | guest-panic",
        "guest panic with action run, then the kernel reboots | P:run +guest-reset -host-signal | GuestPanic | guest-panic",
        "watchdog reset (measured) | W:reset +guest-reset -host-signal | WatchdogReset | watchdog",
        "watchdog shutdown: ACPI power button | W:shutdown +guest-shutdown -host-signal | WatchdogShutdown | watchdog",
        "watchdog poweroff: QEMU exits at once | W:poweroff | WatchdogPoweroff | watchdog",
        "watchdog that did not act, then a reboot | W:none W:debug +guest-reset -host-signal | GuestReset | guest-reset",
        "watchdog paused the VM, then it was killed | W:pause -host-signal | Other:host-signal:false | host-signal",
        "a watchdog reset long before a power-off | W:reset W:none +guest-shutdown -host-signal | GuestShutdown | guest-shutdown",
        "grace-period kill, virsh destroy | -host-signal | Other:host-signal:false | host-signal",
        "QMP quit | -host-qmp-quit | Other:host-qmp-quit:false | host-qmp-quit",
        "a guest event after host events still decides | -host-qmp-quit +guest-reset +guest-shutdown | GuestReset | guest-reset",
        "system reset after a guest event that is not a power-off | +guest-reset -host-qmp-system-reset | GuestReset | guest-reset",
        "guest reason without a row | +subsystem-reset -host-signal | Other:subsystem-reset:true | subsystem-reset",
        "QEMU or node failure, pod lost: no record | W:none | None | none",
      })
  void everyWayOfStopping(String how, String sequence, String reason, String recorded) {
    ShutdownReason want = expected(reason.trim());
    for (Function<Step, String> format :
        List.<Function<Step, String>>of(
            Step::current, Step::olderDetailsString, Step::olderDetailsObject, Step::virsh)) {
      String message = render(sequence, format);
      ShutdownReason got = TerminationMessages.parse(message);
      assertThat(got).as("%s:%n%s", how, message).isEqualTo(want);
      assertThat(got.recordReason()).isEqualTo(recorded.trim());
    }
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        // log lines around records change nothing (FallbackToLogsOnError)
        "+guest-shutdown -host-qmp-system-reset | SoftReboot",
        "W:reset +guest-reset | WatchdogReset",
        "P:pause | GuestPanic",
      })
  void unrelatedLinesBetweenRecordsChangeNothing(String sequence, String reason) {
    StringBuilder sb = new StringBuilder("{\"level\":\"info\",\"msg\":\"Domain started\"}\n");
    for (Step s : Step.parse(sequence)) {
      sb.append(s.current()).append("\nplain log line mentioning WATCHDOG and SHUTDOWN\n");
    }
    assertThat(TerminationMessages.parse(sb.toString())).isEqualTo(expected(reason.trim()));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        // garbled pieces of the new records are not records
        "{\"event\":\"WATCHDOG\"}",
        "{\"event\":\"WATCHDOG\",\"action\":42}",
        "{\"event\":\"WATCHDOG\",\"action\":\"\"}",
        "{\"event\":\"WATCHDOG\",\"details\":\"not json\"}",
        "{\"event\":\"RESET\",\"guest\":false,\"reason\":\"host-qmp-system-reset\"}",
        "{\"event\":\"SHUTDOWN\",\"guest\":false}",
        "event WATCHDOG at 1 for domain 'x': <null>",
        "event WATCHDOG at 1 for domain 'x': {\"action\":\"reset\"} trailing",
      })
  void garbledNewRecordsAreNotRecords(String line) {
    assertThat(TerminationMessages.parse(line)).isEqualTo(ShutdownReason.NONE);
  }

  /** A garbled GUEST_PANICKED still reads as a panic: staying stopped is the safe answer. */
  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "{\"event\":\"GUEST_PANICKED\"}",
        "{\"event\":\"GUEST_PANICKED\",\"action\":[1]}",
        "event GUEST_PANICKED at 1 for domain 'x': {\"action\":\"pause\",\"info\":{\"type\":\"hyper-v\"}}",
      })
  void anyPanicRecordIsAPanic(String line) {
    assertThat(TerminationMessages.parse(line)).isEqualTo(ShutdownReason.GUEST_PANIC);
  }

  @ParameterizedTest
  @CsvSource({
    "reset, RESET",
    "shutdown, SHUTDOWN",
    "poweroff, POWEROFF",
    "pause, PAUSE",
    "debug, DEBUG",
    "none, NONE",
    "inject-nmi, INJECT_NMI"
  })
  void watchdogActionsUseQemusNames(String qemu, WatchdogAction action) {
    assertThat(WatchdogAction.ofQemuName(qemu)).isEqualTo(action);
    assertThat(action.qemuName()).isEqualTo(qemu);
  }
}
