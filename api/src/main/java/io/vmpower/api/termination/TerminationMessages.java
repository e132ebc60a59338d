package io.vmpower.api.termination;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Reads the records the domain monitor leaves in a container's termination message: one QEMU event
 * per line, {@code SHUTDOWN}, {@code WATCHDOG} and {@code GUEST_PANICKED}, and tells from their
 * sequence why QEMU ended ({@link ShutdownReason}; the rules are in {@link ShutdownSequence}).
 *
 * <p>Accepted, one per line:
 *
 * <ul>
 *   <li>the current lines: {@code
 *       {"source":"vmpower","event":"SHUTDOWN","guest":true,"reason":"guest-reset",...}}, {@code
 *       {"source":"vmpower","event":"WATCHDOG","action":"reset",...}}, {@code
 *       {"source":"vmpower","event":"GUEST_PANICKED","action":"pause",...}}
 *   <li>older monitors: {@code
 *       {"event":"SHUTDOWN","details":"{\"guest\":true,\"reason\":\"guest-reset\"}"}} ({@code
 *       details} as a string or an object; the same for the other two events)
 *   <li>raw virsh output: {@code event SHUTDOWN at ... for domain 'ns_vm':
 *       {"guest":true,"reason":"guest-reset"}} (also {@code event 'SHUTDOWN'})
 * </ul>
 *
 * Other lines are ignored: with {@code FallbackToLogsOnError} the kubelet may put log lines there.
 * Garbled or unknown records give {@link ShutdownReason#NONE} or {@link ShutdownReason.Other},
 * never a restart-worthy reason, and never an exception.
 */
public final class TerminationMessages {
  private TerminationMessages() {}

  /** Kubernetes caps termination messages at 4096 bytes; anything longer is not ours. */
  private static final int MAX_LENGTH = 16 * 1024;

  /** QEMU's reasons and actions are short identifiers; a longer value is not a record. */
  private static final int MAX_VALUE_LENGTH = 64;

  private static final JsonMapper JSON =
      JsonMapper.builder().disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

  static {
    JSON.getFactory()
        .setStreamReadConstraints(
            StreamReadConstraints.builder()
                .maxNestingDepth(16)
                .maxStringLength(MAX_LENGTH)
                .build());
  }

  /** The head of a virsh line up to its JSON data; linear, so a hostile line costs little. */
  private static final Pattern VIRSH_LINE =
      Pattern.compile("event\\s+'?(SHUTDOWN|WATCHDOG|GUEST_PANICKED)'?\\s[^{]*");

  /** Parses a termination message; never throws. */
  public static ShutdownReason parse(String message) {
    return ShutdownSequence.classify(events(message));
  }

  /** The recognized events of a message, in order. */
  static List<RecordedEvent> events(String message) {
    List<RecordedEvent> events = new ArrayList<>();
    if (message == null || message.isBlank()) {
      return events;
    }
    String text = message.length() > MAX_LENGTH ? message.substring(0, MAX_LENGTH) : message;
    for (String line : text.split("\\R")) {
      parseLine(line.strip()).ifPresent(events::add);
    }
    return events;
  }

  private static Optional<RecordedEvent> parseLine(String line) {
    if (line.startsWith("{")) {
      return readJson(line).flatMap(TerminationMessages::fromRecord);
    }
    var virsh = VIRSH_LINE.matcher(line);
    if (virsh.find() && line.endsWith("}")) {
      String event = virsh.group(1);
      return readJson(line.substring(virsh.end())).flatMap(details -> fromDetails(event, details));
    }
    return Optional.empty();
  }

  /** A record with {@code "event"}: details inline (current) or under {@code details} (older). */
  private static Optional<RecordedEvent> fromRecord(JsonNode node) {
    String event = node.path("event").asText(null);
    if (event == null) {
      return Optional.empty();
    }
    JsonNode details = node.get("details");
    if (details == null) {
      return fromDetails(event, node);
    }
    if (details.isTextual()) {
      return readJson(details.asText()).flatMap(d -> fromDetails(event, d));
    }
    return fromDetails(event, details);
  }

  /**
   * QEMU's event data: SHUTDOWN {@code {"guest":bool,"reason":string}}, WATCHDOG {@code
   * {"action":string}}, GUEST_PANICKED {@code {"action":string,...}} (a panic counts even without a
   * readable action: staying stopped is the safe answer).
   */
  private static Optional<RecordedEvent> fromDetails(String event, JsonNode node) {
    if (!node.isObject()) {
      return Optional.empty();
    }
    return switch (event) {
      case "SHUTDOWN" -> {
        JsonNode guest = node.get("guest");
        String reason = shortText(node.get("reason"));
        yield guest != null && guest.isBoolean() && reason != null
            ? Optional.of(new RecordedEvent.Shutdown(guest.booleanValue(), reason))
            : Optional.empty();
      }
      case "WATCHDOG" ->
          Optional.ofNullable(shortText(node.get("action"))).map(RecordedEvent.Watchdog::new);
      case "GUEST_PANICKED" -> {
        String action = shortText(node.get("action"));
        yield Optional.of(new RecordedEvent.GuestPanicked(action == null ? "" : action));
      }
      default -> Optional.empty();
    };
  }

  private static String shortText(JsonNode value) {
    if (value == null || !value.isTextual()) {
      return null;
    }
    String text = value.asText();
    return text.isEmpty() || text.length() > MAX_VALUE_LENGTH ? null : text;
  }

  private static Optional<JsonNode> readJson(String text) {
    try {
      JsonNode node = JSON.readTree(text);
      return node != null && node.isObject() ? Optional.of(node) : Optional.empty();
    } catch (JsonProcessingException | RuntimeException e) {
      return Optional.empty();
    }
  }
}
