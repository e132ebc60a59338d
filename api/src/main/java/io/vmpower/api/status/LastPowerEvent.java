package io.vmpower.api.status;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmpower.api.Keys;
import java.util.Optional;

/**
 * The JSON of the VM annotation {@link Keys#LAST_POWER_EVENT}, read by the controller (its dedup
 * record) and by {@code vmpower status}; the one place of its format.
 *
 * @param vmiUid uid of the VMI that ended (empty for a first start without a VMI)
 * @param reason e.g. {@code guest-reset}, {@code guest-shutdown}, {@code vmi-failed}
 * @param action {@code Start} or {@code None}
 * @param state {@code Starting} while a start is claimed, then {@code Done}
 * @param time when it was written (RFC 3339)
 */
public record LastPowerEvent(
    String vmiUid, String reason, String action, String state, String time) {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  public String toJson() {
    ObjectNode node = JSON.createObjectNode();
    node.put("vmiUid", vmiUid);
    node.put("reason", reason);
    node.put("action", action);
    node.put("state", state);
    node.put("time", time);
    return node.toString();
  }

  /**
   * Parses the annotation; anything unreadable counts as no record. A missing {@code state} reads
   * as {@code Done} (records written before claims existed).
   */
  public static Optional<LastPowerEvent> parse(String text) {
    if (text == null || text.isBlank()) {
      return Optional.empty();
    }
    try {
      JsonNode node = JSON.readTree(text);
      if (node == null || !node.isObject() || !node.path("vmiUid").isTextual()) {
        return Optional.empty();
      }
      return Optional.of(
          new LastPowerEvent(
              node.path("vmiUid").asText(),
              node.path("reason").asText(""),
              node.path("action").asText(""),
              node.path("state").asText("Done"),
              node.path("time").asText("")));
    } catch (Exception e) {
      return Optional.empty();
    }
  }
}
