package io.vmpower.api.termination;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * Coverage-guided fuzzing of the termination-message parser (RELIABILITY.md). Without {@code
 * JAZZER_FUZZ} this runs the seeds in {@code TerminationMessagesFuzzTestInputs} (and any crash
 * Jazzer saved there) as a regression test; the {@code fuzz} surefire execution fuzzes it.
 */
class TerminationMessagesFuzzTest {

  @FuzzTest(maxDuration = "10s")
  @DictionaryEntries({
    "{\"source\":\"vmpower\",\"event\":\"SHUTDOWN\",\"guest\":true,\"reason\":\"guest-reset\"}",
    "\"event\":\"SHUTDOWN\"",
    "\"guest\":true",
    "\"guest\":false",
    "\"reason\":\"guest-shutdown\"",
    "\"reason\":\"host-signal\"",
    "\"details\":",
    "event 'SHUTDOWN' at 1795599736.260076 for domain 'ns_vm': ",
    "{\"source\":\"vmpower\",\"event\":\"WATCHDOG\",\"action\":\"reset\"}",
    "{\"source\":\"vmpower\",\"event\":\"GUEST_PANICKED\",\"action\":\"pause\"}",
    "\"reason\":\"host-qmp-system-reset\"",
    "\"action\":\"reset\"",
    "event WATCHDOG at 1795928745.385357 for domain 'ns_vm': "
  })
  void parseNeverFailsAndAgreesWithTheText(byte[] data) {
    String message = new String(data, StandardCharsets.UTF_8);
    ShutdownReason reason = TerminationMessages.parse(message);
    assertThat(reason).isNotNull();
    // A decision can only come from what is in the text.
    if (reason == ShutdownReason.GUEST_RESET) {
      assertThat(message).contains("guest-reset").contains("SHUTDOWN");
    } else if (reason == ShutdownReason.GUEST_SHUTDOWN) {
      assertThat(message).contains("guest-shutdown").contains("SHUTDOWN");
    } else if (reason instanceof ShutdownReason.Other other) {
      assertThat(other.reason()).isNotEmpty().hasSizeLessThanOrEqualTo(64);
      assertThat(message).contains("SHUTDOWN");
    } else if (reason instanceof ShutdownReason.SoftReboot) {
      assertThat(message).contains("guest-shutdown", "host-qmp-system-reset", "SHUTDOWN");
    } else if (reason instanceof ShutdownReason.HostReset) {
      assertThat(message).contains("host-qmp-system-reset", "SHUTDOWN");
    } else if (reason instanceof ShutdownReason.Watchdog watchdog) {
      assertThat(message).contains("WATCHDOG", watchdog.action().qemuName());
    } else if (reason instanceof ShutdownReason.GuestPanic) {
      assertThat(message.contains("GUEST_PANICKED") || message.contains("guest-panic")).isTrue();
    } else {
      assertThat(reason).isEqualTo(ShutdownReason.NONE);
    }
    // Parsing is a pure function of the text.
    assertThat(TerminationMessages.parse(message)).isEqualTo(reason);
  }
}
