package io.vmpower.api.power;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * Coverage-guided fuzzing of the record reader (RELIABILITY.md): a {@code
 * vmpower.io/last-power-event} edited to anything reads as a record, absent or unreadable, never an
 * exception, and a record that reads writes back to one that reads the same.
 */
class LastPowerEventFuzzTest {

  @FuzzTest(maxDuration = "10s")
  @DictionaryEntries({
    "{\"vmiUid\":\"u\",\"reason\":\"guest-reset\",\"action\":\"Start\",\"state\":\"Starting\"}",
    "\"restarts\":{\"guest-reset\":4}",
    "\"streak\":3",
    "\"recent\":[\"2026-11-29T10:00:00Z\"]",
    "\"backoffUntil\":\"2026-11-29T10:00:40Z\"",
    "\"gaveUp\":\"2026-11-29T10:00:00Z\""
  })
  void readNeverFails(byte[] data) {
    String text = new String(data, StandardCharsets.UTF_8);
    LastPowerEvent.Reading reading = LastPowerEvent.read(text);
    assertThat(reading).isNotNull();
    if (reading instanceof LastPowerEvent.Reading.Read r) {
      assertThat(LastPowerEvent.read(r.record().toJson())).isEqualTo(reading);
      assertThat(r.record().loop().restarts()).hasSizeLessThanOrEqualTo(RestartLoop.MAX_REASONS);
      assertThat(r.record().loop().recent()).hasSizeLessThanOrEqualTo(RestartLoop.MAX_RECENT);
    }
  }
}
