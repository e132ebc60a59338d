package io.vmpower.api.power;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The VM annotation {@code vmpower.io/last-power-event}, the one place of its format: the last
 * power event the controller handled (which VMI, why, what it did, whether that is complete) and
 * the VM's restart-loop state ({@link RestartLoop}). The controller's dedup record; {@code vmpower
 * status} and users ({@code kubectl get vm -o yaml}) read it.
 *
 * <pre>{@code
 * {"vmiUid":"5f0c…","reason":"vmi-failed","action":"Start","state":"Starting","time":"2026-11-29T10:00:00Z",
 *  "restarts":{"guest-reset":4,"vmi-failed":2},"streak":3,"recent":["…","…","…"],
 *  "backoffUntil":"2026-11-29T10:00:40Z"}
 * }</pre>
 *
 * <p>The loop fields are left out while empty, so a record without them (written before they
 * existed) reads as {@link RestartLoop#NONE}.
 *
 * @param vmiUid uid of the VMI that ended (empty for a record not about a VMI)
 * @param reason why it ended: a {@code ShutdownReason.recordReason()} ({@code guest-reset}, {@code
 *     host-reset}, {@code soft-reboot}, {@code guest-shutdown}, {@code guest-panic}, {@code
 *     watchdog}, or QEMU's own) or what the controller found ({@code vmi-failed}, {@code pod-lost},
 *     {@code unknown}, {@code start-pending}, {@code unreadable-record})
 * @param action {@code Start} or {@code None}
 * @param state {@code Starting} while a start is claimed and not confirmed, then {@code Done}
 * @param time when the record was written (RFC 3339); information only
 * @param loop the restart-loop state
 */
public record LastPowerEvent(
    String vmiUid, String reason, String action, String state, String time, RestartLoop loop) {

  public static final String START = "Start";
  public static final String NONE = "None";
  public static final String STARTING = "Starting";
  public static final String DONE = "Done";

  /** The annotation is small; anything near this is not ours. */
  private static final int MAX_LENGTH = 16 * 1024;

  private static final JsonMapper JSON =
      JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

  static {
    JSON.getFactory()
        .setStreamReadConstraints(
            StreamReadConstraints.builder().maxNestingDepth(8).maxStringLength(MAX_LENGTH).build());
  }

  public LastPowerEvent {
    loop = loop == null ? RestartLoop.NONE : loop;
  }

  /** What reading the annotation found. */
  public sealed interface Reading {
    /** No annotation (or an empty one). */
    record Absent() implements Reading {}

    /** An annotation that is not a record vmpower writes; {@code why} says what is wrong. */
    record Unreadable(String why) implements Reading {}

    record Read(LastPowerEvent record) implements Reading {}
  }

  /** Whether the action is complete; anything but {@code Done} is a start in flight. */
  public boolean isDone() {
    return DONE.equals(state);
  }

  public String toJson() {
    ObjectNode node = JSON.createObjectNode();
    node.put("vmiUid", vmiUid);
    node.put("reason", reason);
    node.put("action", action);
    node.put("state", state);
    node.put("time", time);
    if (!loop.restarts().isEmpty()) {
      ObjectNode counts = node.putObject("restarts");
      loop.restarts().forEach(counts::put);
    }
    if (loop.streak() > 0) {
      node.put("streak", loop.streak());
    }
    if (!loop.recent().isEmpty()) {
      ArrayNode recent = node.putArray("recent");
      loop.recent().forEach(t -> recent.add(t.toString()));
    }
    loop.backoffUntil().ifPresent(t -> node.put("backoffUntil", t.toString()));
    loop.gaveUp().ifPresent(t -> node.put("gaveUp", t.toString()));
    return node.toString();
  }

  /** The record, or empty when the annotation is absent or unreadable. */
  public static Optional<LastPowerEvent> parse(String text) {
    return read(text) instanceof Reading.Read r ? Optional.of(r.record()) : Optional.empty();
  }

  /**
   * Reads the annotation; never throws. Unreadable: not a JSON object, no textual {@code vmiUid},
   * or a restart-loop field of the wrong type or out of bounds (counts ≥ 0, at most {@link
   * RestartLoop#MAX_REASONS} reasons and {@link RestartLoop#MAX_RECENT} times, RFC 3339 times). The
   * other fields are taken as they are (a missing {@code state} reads as {@code Done}, as records
   * written before claims existed). Times in the future are read as written: what they mean is the
   * controller's decision.
   */
  public static Reading read(String text) {
    if (text == null || text.isBlank()) {
      return new Reading.Absent();
    }
    if (text.length() > MAX_LENGTH) {
      return new Reading.Unreadable("longer than " + MAX_LENGTH + " characters");
    }
    JsonNode node;
    try {
      node = JSON.readTree(text);
    } catch (Exception e) {
      return new Reading.Unreadable("not JSON");
    }
    if (node == null || !node.isObject()) {
      return new Reading.Unreadable("not a JSON object");
    }
    if (!node.path("vmiUid").isTextual()) {
      return new Reading.Unreadable("no vmiUid");
    }
    try {
      return new Reading.Read(
          new LastPowerEvent(
              node.path("vmiUid").asText(),
              node.path("reason").asText(""),
              node.path("action").asText(""),
              node.path("state").asText(DONE),
              node.path("time").asText(""),
              loop(node)));
    } catch (BadField e) {
      return new Reading.Unreadable(e.getMessage());
    }
  }

  private static RestartLoop loop(JsonNode node) throws BadField {
    Map<String, Long> restarts = new TreeMap<>();
    JsonNode counts = node.get("restarts");
    if (counts != null) {
      if (!counts.isObject() || counts.size() > RestartLoop.MAX_REASONS) {
        throw new BadField("restarts: not an object of at most " + RestartLoop.MAX_REASONS);
      }
      for (var field : counts.properties()) {
        JsonNode n = field.getValue();
        if (!n.isIntegralNumber() || !n.canConvertToLong() || n.longValue() < 0) {
          throw new BadField("restarts." + shorten(field.getKey()) + ": not a count");
        }
        if (field.getKey().isEmpty() || field.getKey().length() > 64) {
          throw new BadField("restarts: reason of " + field.getKey().length() + " characters");
        }
        restarts.put(field.getKey(), n.longValue());
      }
    }
    int streak = 0;
    JsonNode s = node.get("streak");
    if (s != null) {
      if (!s.isIntegralNumber() || !s.canConvertToInt() || s.intValue() < 0) {
        throw new BadField("streak: not a count");
      }
      streak = Math.min(s.intValue(), RestartLoop.MAX_STREAK);
    }
    List<Instant> recent = new ArrayList<>();
    JsonNode times = node.get("recent");
    if (times != null) {
      if (!times.isArray() || times.size() > RestartLoop.MAX_RECENT) {
        throw new BadField("recent: not a list of at most " + RestartLoop.MAX_RECENT + " times");
      }
      for (JsonNode t : times) {
        recent.add(instant(t, "recent"));
      }
      recent.sort(null);
    }
    return new RestartLoop(
        restarts,
        streak,
        recent,
        optionalInstant(node.get("backoffUntil"), "backoffUntil"),
        optionalInstant(node.get("gaveUp"), "gaveUp"));
  }

  private static Optional<Instant> optionalInstant(JsonNode value, String field) throws BadField {
    return value == null || value.isNull() ? Optional.empty() : Optional.of(instant(value, field));
  }

  private static Instant instant(JsonNode value, String field) throws BadField {
    if (!value.isTextual()) {
      throw new BadField(field + ": not a time");
    }
    try {
      return Instant.parse(value.asText());
    } catch (DateTimeParseException e) {
      throw new BadField(field + ": not an RFC 3339 time: " + shorten(value.asText()));
    }
  }

  private static String shorten(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "…" : s;
  }

  /** A field that makes the record unreadable. */
  private static final class BadField extends Exception {
    private static final long serialVersionUID = 1L;

    BadField(String message) {
      super(message, null, false, false);
    }
  }
}
