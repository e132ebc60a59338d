package io.vmpower.api.power;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The format of {@code vmpower.io/last-power-event}, and every way it can be unreadable. */
class LastPowerEventTest {
  private static final Instant T = Instant.parse("2026-11-29T10:00:00Z");

  @Test
  void roundTripsWithTheRestartLoop() {
    RestartLoop loop =
        new RestartLoop(
            Map.of("guest-reset", 4L, "vmi-failed", 2L),
            3,
            List.of(T.minusSeconds(60), T),
            Optional.of(T.plusSeconds(40)),
            Optional.empty());
    LastPowerEvent e =
        new LastPowerEvent("uid-1", "vmi-failed", "Start", "Starting", T.toString(), loop);
    String json = e.toJson();
    assertThat(json)
        .isEqualTo(
            "{\"vmiUid\":\"uid-1\",\"reason\":\"vmi-failed\",\"action\":\"Start\","
                + "\"state\":\"Starting\",\"time\":\"2026-11-29T10:00:00Z\","
                + "\"restarts\":{\"guest-reset\":4,\"vmi-failed\":2},\"streak\":3,"
                + "\"recent\":[\"2026-11-29T09:59:00Z\",\"2026-11-29T10:00:00Z\"],"
                + "\"backoffUntil\":\"2026-11-29T10:00:40Z\"}");
    assertThat(LastPowerEvent.read(json)).isEqualTo(new LastPowerEvent.Reading.Read(e));
    assertThat(e.loop().total()).isEqualTo(6);
  }

  @Test
  void aRecordWithoutLoopFieldsHasNone() {
    // As written before the restart loop existed, and by the controller for a quiet VM.
    String old =
        "{\"vmiUid\":\"u\",\"reason\":\"guest-reset\",\"action\":\"Start\",\"state\":\"Done\","
            + "\"time\":\"2026-11-25T09:50:36Z\"}";
    LastPowerEvent e = LastPowerEvent.parse(old).orElseThrow();
    assertThat(e.loop()).isEqualTo(RestartLoop.NONE);
    assertThat(e.isDone()).isTrue();
    assertThat(e.toJson()).isEqualTo(old);
    // A missing state reads as Done, as records written before claims existed.
    assertThat(LastPowerEvent.parse("{\"vmiUid\":\"u\"}").orElseThrow().isDone()).isTrue();
  }

  @Test
  void aGiveUpIsShown() {
    LastPowerEvent e =
        new LastPowerEvent(
            "u", "vmi-failed", "None", "Done", T.toString(), RestartLoop.NONE.givenUp(T));
    assertThat(e.toJson()).contains("\"gaveUp\":\"2026-11-29T10:00:00Z\"");
    assertThat(LastPowerEvent.parse(e.toJson()).orElseThrow().loop().hasGivenUp()).isTrue();
  }

  @Test
  void absentIsNotUnreadable() {
    assertThat(LastPowerEvent.read(null)).isEqualTo(new LastPowerEvent.Reading.Absent());
    assertThat(LastPowerEvent.read("  ")).isEqualTo(new LastPowerEvent.Reading.Absent());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "not json",
        "[1,2]",
        "\"a string\"",
        "{\"reason\":\"x\"}",
        "{\"vmiUid\":7}",
        "{\"vmiUid\":\"u\",\"streak\":-1}",
        "{\"vmiUid\":\"u\",\"streak\":\"3\"}",
        "{\"vmiUid\":\"u\",\"streak\":1.5}",
        "{\"vmiUid\":\"u\",\"streak\":99999999999}",
        "{\"vmiUid\":\"u\",\"restarts\":[]}",
        "{\"vmiUid\":\"u\",\"restarts\":{\"guest-reset\":-1}}",
        "{\"vmiUid\":\"u\",\"restarts\":{\"guest-reset\":\"1\"}}",
        "{\"vmiUid\":\"u\",\"restarts\":{\"\":1}}",
        "{\"vmiUid\":\"u\",\"recent\":\"2026-11-29T10:00:00Z\"}",
        "{\"vmiUid\":\"u\",\"recent\":[\"yesterday\"]}",
        "{\"vmiUid\":\"u\",\"recent\":[1]}",
        "{\"vmiUid\":\"u\",\"backoffUntil\":\"soon\"}",
        "{\"vmiUid\":\"u\",\"backoffUntil\":12}",
        "{\"vmiUid\":\"u\",\"gaveUp\":true}",
        "{\"vmiUid\":\"u\"",
        "{\"vmiUid\":\"u\"}}}"
      })
  void garbageIsUnreadableAndSaysWhy(String text) {
    LastPowerEvent.Reading r = LastPowerEvent.read(text);
    assertThat(r).isInstanceOf(LastPowerEvent.Reading.Unreadable.class);
    assertThat(((LastPowerEvent.Reading.Unreadable) r).why()).isNotBlank().hasSizeLessThan(120);
    assertThat(LastPowerEvent.parse(text)).isEmpty();
  }

  @Test
  void oversizedAndDeeplyNestedInputIsUnreadable() {
    assertThat(LastPowerEvent.read("{\"vmiUid\":\"" + "u".repeat(20_000) + "\"}"))
        .isInstanceOf(LastPowerEvent.Reading.Unreadable.class);
    assertThat(LastPowerEvent.read("[".repeat(5_000)))
        .isInstanceOf(LastPowerEvent.Reading.Unreadable.class);
    StringBuilder many = new StringBuilder("{\"vmiUid\":\"u\",\"recent\":[");
    for (int i = 0; i < RestartLoop.MAX_RECENT + 1; i++) {
      many.append(i == 0 ? "" : ",").append('"').append(T).append('"');
    }
    assertThat(LastPowerEvent.read(many + "]}"))
        .isInstanceOf(LastPowerEvent.Reading.Unreadable.class);
  }

  @Test
  void timesInTheFutureAreReadAsWritten() {
    // What they mean is the controller's decision (it does not wait for a backoff further ahead
    // than its longest, and takes a future restart time as now).
    LastPowerEvent e =
        LastPowerEvent.parse(
                "{\"vmiUid\":\"u\",\"state\":\"Starting\",\"backoffUntil\":\"3000-01-01T00:00:00Z\","
                    + "\"recent\":[\"3000-01-01T00:00:00Z\"]}")
            .orElseThrow();
    assertThat(e.loop().backoffUntil()).contains(Instant.parse("3000-01-01T00:00:00Z"));
    assertThat(e.isDone()).isFalse();
  }
}
