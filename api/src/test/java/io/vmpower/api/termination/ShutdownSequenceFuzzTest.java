package io.vmpower.api.termination;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vmpower.api.termination.ShutdownSequenceTest.Step;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Structure-aware fuzzing of the sequence rules: the fuzzer picks a sequence of well-formed events
 * (the kinds, reasons and actions QEMU uses, plus a few it does not), writes each in a format of
 * its choice with log lines and garbage between them, and checks properties that must hold for any
 * sequence:
 *
 * <ul>
 *   <li>parsing never throws and is a function of the text;
 *   <li>the format does not matter: the same events in today's lines, older {@code details} records
 *       or raw virsh output give the same answer, and so do lines that are not records;
 *   <li>every answer is backed by the events it names (a panic by a panic event, a soft reboot by a
 *       guest-shutdown and a host system reset, no restart-worthy answer from nothing).
 * </ul>
 *
 * Byte-level fuzzing ({@link TerminationMessagesFuzzTest}) rarely builds valid records; this does.
 */
class ShutdownSequenceFuzzTest {
  private static final String[] REASONS = {
    "guest-reset",
    "guest-shutdown",
    "guest-panic",
    "host-signal",
    "host-qmp-system-reset",
    "host-qmp-quit",
    "subsystem-reset",
    "snapshot-load",
    "x"
  };
  private static final String[] WATCHDOG_ACTIONS = {
    "reset", "shutdown", "poweroff", "pause", "debug", "none", "inject-nmi", "y"
  };
  private static final String[] PANIC_ACTIONS = {"pause", "poweroff", "run"};
  private static final String[] NOISE = {
    "",
    "panic: runtime error",
    "{\"component\":\"virt-launcher\",\"level\":\"error\",\"msg\":\"SHUTDOWN guest-reset\"}",
    "{\"event\":\"SHUTDOWN\"}",
    "{\"event\":\"WATCHDOG\",\"action\":7}",
    "{\"event\":\"RESET\",\"guest\":true,\"reason\":\"guest-reset\"}",
    "event SHUTDOWN at 1 for domain 'x': <null>",
    "{\"source\":\"vmpower\",\"event\":\"SHUTDOWN\",\"guest\":true,\"reason\":\"guest-reset\"",
  };

  private static final List<Function<Step, String>> FORMATS =
      List.of(Step::current, Step::olderDetailsString, Step::olderDetailsObject, Step::virsh);

  @FuzzTest(maxDuration = "10s")
  void anySequenceGivesAnAnswerItsEventsBackUp(FuzzedDataProvider data) {
    List<Step> steps = new ArrayList<>();
    int n = data.consumeInt(0, 8);
    for (int i = 0; i < n; i++) {
      switch (data.consumeInt(0, 2)) {
        case 0 -> steps.add(new Step("SHUTDOWN", data.consumeBoolean(), data.pickValue(REASONS)));
        case 1 -> steps.add(new Step("WATCHDOG", false, data.pickValue(WATCHDOG_ACTIONS)));
        default -> steps.add(new Step("GUEST_PANICKED", false, data.pickValue(PANIC_ACTIONS)));
      }
    }
    StringBuilder mixed = new StringBuilder();
    StringBuilder plain = new StringBuilder();
    for (Step s : steps) {
      if (data.consumeBoolean()) {
        mixed.append(data.pickValue(NOISE)).append('\n');
      }
      mixed.append(data.pickValue(FORMATS).apply(s)).append(data.consumeBoolean() ? "\r\n" : "\n");
      plain.append(s.current()).append('\n');
    }
    String message = mixed.toString();
    ShutdownReason reason = TerminationMessages.parse(message);

    assertThat(reason).isNotNull();
    assertThat(TerminationMessages.parse(message)).isEqualTo(reason);
    assertThat(TerminationMessages.parse(plain.toString())).as(message).isEqualTo(reason);
    for (Function<Step, String> format : FORMATS) {
      StringBuilder one = new StringBuilder();
      steps.forEach(s -> one.append(format.apply(s)).append('\n'));
      assertThat(TerminationMessages.parse(one.toString())).as(message).isEqualTo(reason);
    }

    assertThat(reason.recordReason()).isNotEmpty().hasSizeLessThanOrEqualTo(64);
    boolean panic =
        steps.stream()
            .anyMatch(
                s ->
                    s.event().equals("GUEST_PANICKED")
                        || s.event().equals("SHUTDOWN")
                            && s.guest()
                            && s.value().equals("guest-panic"));
    assertThat(reason instanceof ShutdownReason.GuestPanic).as(message).isEqualTo(panic);
    if (reason instanceof ShutdownReason.GuestReset) {
      assertThat(steps).as(message).contains(new Step("SHUTDOWN", true, "guest-reset"));
    } else if (reason instanceof ShutdownReason.Watchdog w) {
      assertThat(steps).as(message).contains(new Step("WATCHDOG", false, w.action().qemuName()));
    } else if (reason instanceof ShutdownReason.SoftReboot) {
      int off = steps.indexOf(new Step("SHUTDOWN", true, "guest-shutdown"));
      assertThat(off).as(message).isNotNegative();
      assertThat(steps.subList(off, steps.size()))
          .as(message)
          .contains(new Step("SHUTDOWN", false, "host-qmp-system-reset"));
    } else if (reason instanceof ShutdownReason.HostReset) {
      assertThat(steps).as(message).noneMatch(s -> s.event().equals("SHUTDOWN") && s.guest());
      assertThat(steps).as(message).contains(new Step("SHUTDOWN", false, "host-qmp-system-reset"));
    } else if (reason instanceof ShutdownReason.GuestShutdown) {
      assertThat(steps).as(message).contains(new Step("SHUTDOWN", true, "guest-shutdown"));
    } else if (reason instanceof ShutdownReason.Other other) {
      assertThat(steps).as(message).contains(new Step("SHUTDOWN", other.guest(), other.reason()));
    } else if (reason instanceof ShutdownReason.None) {
      assertThat(steps)
          .as(message)
          .noneMatch(s -> s.event().equals("SHUTDOWN") || s.event().equals("GUEST_PANICKED"));
    }
  }
}
