package io.vmpower.admission;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.Iterator;
import java.util.Map;

/**
 * The JSON patch (RFC 6902) from the object as submitted to the object as it should be stored.
 *
 * <p>Objects are compared key by key; any other value that differs, arrays included, is replaced
 * whole. That keeps the cost linear in the size of the object: a general array diff (longest common
 * subsequence, as zjsonpatch does) is quadratic, and a pod with a compute command of some ten
 * thousand elements kept a request thread busy for seconds (RELIABILITY.md, finding 1). Our
 * mutators only ever change short arrays, so nothing is lost by replacing them.
 */
public final class JsonPatches {
  private JsonPatches() {}

  public static ArrayNode diff(JsonNode before, JsonNode after) {
    ArrayNode operations = JsonNodeFactory.instance.arrayNode();
    if (before != after) {
      diff("", before, after, operations);
    }
    return operations;
  }

  private static void diff(String path, JsonNode before, JsonNode after, ArrayNode operations) {
    if (before == after) {
      return; // shared by a copy-on-write edit (TreeEdit): nothing below can differ
    }
    if (before.isObject() && after.isObject()) {
      for (Iterator<String> names = before.fieldNames(); names.hasNext(); ) {
        String name = names.next();
        if (!after.has(name)) {
          operations.addObject().put("op", "remove").put("path", path + "/" + escape(name));
        }
      }
      for (Iterator<Map.Entry<String, JsonNode>> fields = after.fields(); fields.hasNext(); ) {
        Map.Entry<String, JsonNode> field = fields.next();
        String child = path + "/" + escape(field.getKey());
        JsonNode old = before.get(field.getKey());
        if (old == null) {
          operations.addObject().put("op", "add").put("path", child).set("value", field.getValue());
        } else {
          diff(child, old, field.getValue(), operations);
        }
      }
    } else if (!before.equals(after)) {
      operations.addObject().put("op", "replace").put("path", path).set("value", after);
    }
  }

  /** JSON pointer escaping (RFC 6901): {@code ~} first, then {@code /}. */
  static String escape(String name) {
    return name.replace("~", "~0").replace("/", "~1");
  }
}
