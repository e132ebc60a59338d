package io.vmpower.api.status;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmpower.api.Keys;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The controller's restarts of one VM by reason, the VM annotation {@link Keys#RESTARTS}: {@code
 * {"guest-reset":3,"vmi-failed":1}}. Kept small on purpose: one counter per reason that ever
 * occurred (a handful), no history.
 *
 * @param byReason restarts per recorded reason, sorted by reason
 */
public record Restarts(Map<String, Long> byReason) {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  public static final Restarts NONE = new Restarts(Map.of());

  public Restarts {
    byReason = Collections.unmodifiableMap(new TreeMap<>(byReason));
  }

  public long total() {
    return byReason.values().stream().mapToLong(Long::longValue).sum();
  }

  /** One more restart for {@code reason}. */
  public Restarts plus(String reason) {
    Map<String, Long> next = new TreeMap<>(byReason);
    next.merge(reason, 1L, Long::sum);
    return new Restarts(next);
  }

  public String toJson() {
    ObjectNode node = JSON.createObjectNode();
    byReason.forEach(node::put);
    return node.toString();
  }

  /** Parses the annotation; anything unreadable (or a negative count) counts as none. */
  public static Restarts parse(String text) {
    if (text == null || text.isBlank()) {
      return NONE;
    }
    try {
      JsonNode node = JSON.readTree(text);
      if (node == null || !node.isObject()) {
        return NONE;
      }
      Map<String, Long> counts = new TreeMap<>();
      for (var field : node.properties()) {
        JsonNode value = field.getValue();
        if (!value.canConvertToLong() || !value.isIntegralNumber() || value.longValue() < 0) {
          return NONE;
        }
        counts.put(field.getKey(), value.longValue());
      }
      return new Restarts(counts);
    } catch (Exception e) {
      return NONE;
    }
  }
}
