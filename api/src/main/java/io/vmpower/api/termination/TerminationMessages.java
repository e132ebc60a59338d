package io.vmpower.api.termination;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Reads the SHUTDOWN records the domain monitor leaves in a container's termination message.
 *
 * <p>Accepted, one per line:
 *
 * <ul>
 *   <li>the current line: {@code
 *       {"source":"vmpower","event":"SHUTDOWN","guest":true,"reason":"guest-reset",...}}
 *   <li>older monitors: {@code
 *       {"event":"SHUTDOWN","details":"{\"guest\":true,\"reason\":\"guest-reset\"}"}} ({@code
 *       details} as a string or an object)
 *   <li>raw virsh output: {@code event 'SHUTDOWN' at ... for domain 'ns_vm':
 *       {"guest":true,"reason":"guest-reset"}}
 * </ul>
 *
 * Other lines are ignored: with {@code FallbackToLogsOnError} the kubelet may put log lines there.
 * The first guest-initiated event decides; libvirt's follow-up {@code
 * {"guest":false,"reason":"host-signal"}} only counts when nothing guest-initiated was recorded.
 */
public final class TerminationMessages {
  private TerminationMessages() {}

  /** Kubernetes caps termination messages at 4096 bytes; anything longer is not ours. */
  private static final int MAX_LENGTH = 16 * 1024;

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

  private static final Pattern VIRSH_LINE =
      Pattern.compile("event\\s+'?SHUTDOWN'?\\b.*?(\\{.*\\})\\s*$");

  /** Parses a termination message; never throws. */
  public static ShutdownReason parse(String message) {
    if (message == null || message.isBlank()) {
      return ShutdownReason.NONE;
    }
    String text = message.length() > MAX_LENGTH ? message.substring(0, MAX_LENGTH) : message;
    ShutdownReason firstHostEvent = null;
    for (String line : text.split("\\R")) {
      Optional<Event> event = parseLine(line.strip());
      if (event.isEmpty()) {
        continue;
      }
      Event e = event.get();
      if (e.guest()) {
        return switch (e.reason()) {
          case "guest-reset" -> ShutdownReason.GUEST_RESET;
          case "guest-shutdown" -> ShutdownReason.GUEST_SHUTDOWN;
          default -> new ShutdownReason.Other(e.reason(), true);
        };
      }
      if (firstHostEvent == null) {
        firstHostEvent = new ShutdownReason.Other(e.reason(), false);
      }
    }
    return firstHostEvent != null ? firstHostEvent : ShutdownReason.NONE;
  }

  private record Event(boolean guest, String reason) {}

  private static Optional<Event> parseLine(String line) {
    if (line.startsWith("{")) {
      return readJson(line).flatMap(TerminationMessages::fromRecord);
    }
    var virsh = VIRSH_LINE.matcher(line);
    if (virsh.find()) {
      return readJson(virsh.group(1)).flatMap(TerminationMessages::fromDetails);
    }
    return Optional.empty();
  }

  /**
   * A record with {@code "event":"SHUTDOWN"}: details inline (current) or under {@code details}.
   */
  private static Optional<Event> fromRecord(JsonNode node) {
    if (!"SHUTDOWN".equals(node.path("event").asText(null))) {
      return Optional.empty();
    }
    JsonNode details = node.get("details");
    if (details == null) {
      return fromDetails(node);
    }
    if (details.isTextual()) {
      return readJson(details.asText()).flatMap(TerminationMessages::fromDetails);
    }
    return fromDetails(details);
  }

  /** QEMU's SHUTDOWN event data: {@code {"guest":bool,"reason":string}}. */
  private static Optional<Event> fromDetails(JsonNode node) {
    JsonNode guest = node.get("guest");
    JsonNode reason = node.get("reason");
    if (guest == null || !guest.isBoolean() || reason == null || !reason.isTextual()) {
      return Optional.empty();
    }
    String text = reason.asText();
    if (text.isEmpty() || text.length() > 64) {
      return Optional.empty();
    }
    return Optional.of(new Event(guest.booleanValue(), text));
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
