package io.vmpower.controller;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.Optional;

/**
 * The {@code vmpower.io/last-power-event} annotation: which VMI the controller handled, why, what
 * it did and whether the action is complete. It is the dedup record: a VMI whose uid is recorded
 * with state {@code Done} is never acted on again, by this or any later leader.
 *
 * <p>A start is claimed first ({@code state: Starting}) and completed after virt-api accepted it
 * ({@code state: Done}); see README "Exactly once" for why.
 *
 * @param vmiUid uid of the VMI that ended (empty for a first start without a VMI)
 * @param reason {@code guest-reset}, {@code guest-shutdown}, {@code vmi-failed}, {@code pod-lost},
 *     {@code start-pending}, {@code unknown}, or another QEMU SHUTDOWN reason
 * @param action {@code Start} or {@code None}
 * @param state {@code Starting} while a start is claimed but not confirmed, then {@code Done}
 * @param time when the record was written (RFC 3339)
 */
record PowerEventRecord(String vmiUid, String reason, String action, State state, String time) {

  static final String START = "Start";
  static final String NONE = "None";

  /** Whether the action is complete. */
  enum State {
    /** A start is claimed but not confirmed. */
    STARTING("Starting"),
    DONE("Done");

    private final String value;

    State(String value) {
      this.value = value;
    }

    /**
     * As written; anything but {@code Done} counts as a start in flight, which the next decision
     * confirms or finishes rather than repeats.
     */
    static State parse(String value) {
      return DONE.value.equals(value) ? DONE : STARTING;
    }
  }

  private static final JsonMapper JSON = JsonMapper.builder().build();

  static PowerEventRecord starting(String vmiUid, String reason, Instant now) {
    return new PowerEventRecord(vmiUid, reason, START, State.STARTING, now.toString());
  }

  static PowerEventRecord done(String vmiUid, String reason, String action, Instant now) {
    return new PowerEventRecord(vmiUid, reason, action, State.DONE, now.toString());
  }

  boolean isDone() {
    return state == State.DONE;
  }

  boolean isFor(String uid) {
    return uid != null && uid.equals(vmiUid);
  }

  PowerEventRecord completed(Instant now) {
    return new PowerEventRecord(vmiUid, reason, action, State.DONE, now.toString());
  }

  String toJson() {
    ObjectNode node = JSON.createObjectNode();
    node.put("vmiUid", vmiUid);
    node.put("reason", reason);
    node.put("action", action);
    node.put("state", state.value);
    node.put("time", time);
    return node.toString();
  }

  /** Parses the annotation; anything unreadable counts as no record. */
  static Optional<PowerEventRecord> parse(String text) {
    if (text == null || text.isBlank()) {
      return Optional.empty();
    }
    try {
      JsonNode node = JSON.readTree(text);
      if (node == null || !node.isObject() || !node.path("vmiUid").isTextual()) {
        return Optional.empty();
      }
      return Optional.of(
          new PowerEventRecord(
              node.path("vmiUid").asText(),
              node.path("reason").asText(""),
              node.path("action").asText(""),
              State.parse(node.path("state").asText(State.DONE.value)),
              node.path("time").asText("")));
    } catch (Exception e) {
      return Optional.empty();
    }
  }
}
