package io.vmpower.api.termination;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class TerminationMessagesTest {

  @Test
  void currentFormatGuestReset() {
    String message =
        """
        {"source":"vmpower","event":"SHUTDOWN","guest":true,"reason":"guest-reset","timestamp":"2026-11-25T10:00:00.123Z"}
        {"source":"vmpower","event":"SHUTDOWN","guest":false,"reason":"host-signal","timestamp":"2026-11-25T10:00:00.200Z"}
        """;
    assertThat(TerminationMessages.parse(message)).isEqualTo(ShutdownReason.GUEST_RESET);
  }

  @Test
  void currentFormatGuestShutdown() {
    assertThat(
            TerminationMessages.parse(
                "{\"source\":\"vmpower\",\"event\":\"SHUTDOWN\",\"guest\":true,\"reason\":\"guest-shutdown\"}"))
        .isEqualTo(ShutdownReason.GUEST_SHUTDOWN);
  }

  @Test
  void firstGuestEventDecidesEvenAfterAHostEvent() {
    String message =
        """
        {"event":"SHUTDOWN","guest":false,"reason":"host-signal"}
        {"event":"SHUTDOWN","guest":true,"reason":"guest-shutdown"}
        {"event":"SHUTDOWN","guest":true,"reason":"guest-reset"}
        """;
    assertThat(TerminationMessages.parse(message)).isEqualTo(ShutdownReason.GUEST_SHUTDOWN);
  }

  @Test
  void onlyHostEventsAreOther() {
    assertThat(
            TerminationMessages.parse(
                "{\"event\":\"SHUTDOWN\",\"guest\":false,\"reason\":\"host-signal\"}"))
        .isEqualTo(new ShutdownReason.Other("host-signal", false));
  }

  /** A SHUTDOWN guest-panic alone (older monitors recorded only SHUTDOWN) is a guest panic. */
  @Test
  void guestPanicShutdownIsAGuestPanic() {
    ShutdownReason reason =
        TerminationMessages.parse(
            "{\"event\":\"SHUTDOWN\",\"guest\":true,\"reason\":\"guest-panic\"}");
    assertThat(reason).isEqualTo(ShutdownReason.GUEST_PANIC);
    assertThat(reason.recordReason()).isEqualTo("guest-panic");
  }

  @Test
  void otherGuestReasonKeepsQemusReason() {
    assertThat(
            TerminationMessages.parse(
                "{\"event\":\"SHUTDOWN\",\"guest\":true,\"reason\":\"subsystem-reset\"}"))
        .isEqualTo(new ShutdownReason.Other("subsystem-reset", true));
  }

  @Test
  void olderFormatWithDetailsString() {
    String message =
        "{\"event\":\"SHUTDOWN\",\"details\":\"{\\\"guest\\\":true,\\\"reason\\\":\\\"guest-reset\\\"}\"}";
    assertThat(TerminationMessages.parse(message)).isEqualTo(ShutdownReason.GUEST_RESET);
  }

  @Test
  void olderFormatWithDetailsObject() {
    String message =
        "{\"event\":\"SHUTDOWN\",\"details\":{\"guest\":true,\"reason\":\"guest-shutdown\"}}";
    assertThat(TerminationMessages.parse(message)).isEqualTo(ShutdownReason.GUEST_SHUTDOWN);
  }

  @Test
  void virshEventLine() {
    String message =
        "event 'SHUTDOWN' at 1764064800.123456 for domain 'default_vm1': {\"guest\":true,\"reason\":\"guest-reset\"}\n"
            + "event 'SHUTDOWN' at 1764064800.200000 for domain 'default_vm1': {\"guest\":false,\"reason\":\"host-signal\"}";
    assertThat(TerminationMessages.parse(message)).isEqualTo(ShutdownReason.GUEST_RESET);
  }

  @Test
  void unrelatedLogLinesAroundARecordAreIgnored() {
    String message =
        """
        {"component":"virt-launcher","level":"info","msg":"Domain started"}
        some plain text log line mentioning guest-reset
        {"event":"SHUTDOWN","guest":true,"reason":"guest-shutdown"}
        """;
    assertThat(TerminationMessages.parse(message)).isEqualTo(ShutdownReason.GUEST_SHUTDOWN);
  }

  @ParameterizedTest
  @NullAndEmptySource
  @ValueSource(
      strings = {
        "   \n  ",
        "panic: runtime error",
        "{\"component\":\"virt-launcher\",\"level\":\"error\"}",
        "{\"event\":\"SHUTDOWN\"}",
        "{\"event\":\"SHUTDOWN\",\"guest\":\"true\",\"reason\":\"guest-reset\"}",
        "{\"event\":\"SHUTDOWN\",\"guest\":true,\"reason\":42}",
        "{\"event\":\"RESET\",\"guest\":true,\"reason\":\"guest-reset\"}",
        "{\"event\":\"SHUTDOWN\",\"guest\":true,\"reason\":\"guest-reset\"",
        "[{\"event\":\"SHUTDOWN\",\"guest\":true,\"reason\":\"guest-reset\"}]",
        "{\"event\":\"SHUTDOWN\",\"details\":\"not json\"}",
        "event 'SHUTDOWN' for domain 'x': not json"
      })
  void nothingRecognizableIsNone(String message) {
    assertThat(TerminationMessages.parse(message)).isEqualTo(ShutdownReason.NONE);
  }

  @Test
  void deeplyNestedOrHugeInputIsNoneNotAnError() {
    String deep = "{\"a\":".repeat(5000) + "1" + "}".repeat(5000);
    assertThat(TerminationMessages.parse(deep)).isEqualTo(ShutdownReason.NONE);
    String huge = "x".repeat(1_000_000);
    assertThat(TerminationMessages.parse(huge)).isEqualTo(ShutdownReason.NONE);
  }
}
