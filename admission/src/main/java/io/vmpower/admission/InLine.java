package io.vmpower.admission;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmpower.api.Keys;
import io.vmpower.api.admission.AdmissionInput;
import io.vmpower.api.admission.Mutator;
import io.vmpower.api.admission.Operation;
import io.vmpower.api.admission.TreeEdit;
import io.vmpower.api.admission.Verdict;
import java.util.ArrayList;
import java.util.List;

/**
 * Whether a stored VM is as the VM webhook would have stored it, and the JSON patch that makes it
 * so: the controller's way of bringing VMs in line that the webhook never saw (annotated before
 * their namespace was enabled or vmpower installed, or before their namespace got a default), with
 * the webhook's own rules, not a copy of them.
 *
 * <p>The stored VM is reviewed as an UPDATE from the VM as the webhook last saw it. The witness of
 * that is the template label {@code vmpower.io/run-policy}, which the webhook sets on every VM it
 * manages: a VM whose label differs from its policy (or lacks it) is reviewed as switching into its
 * policy, exactly what the webhook would have done had it seen the annotation being set (so an
 * AlwaysOnUnlessStoppedManually VM gets its first start); a VM whose label agrees is reviewed as an
 * update that keeps its policy (so a runStrategy that drifted is put back, and maintenance and
 * KubeVirt's migration targets are left alone, as on any update).
 */
public final class InLine {
  private InLine() {}

  /** What the check found. */
  public sealed interface Result {}

  /** The VM is as the webhook would store it. */
  public record Consistent() implements Result {}

  /**
   * The VM is not.
   *
   * @param patch the JSON patch from the stored VM to {@code desired}
   * @param changes one readable line per patch operation
   * @param onlyLabels every change is to {@code metadata.labels} (the VM's own policy label): no
   *     behaviour changes with it
   */
  public record Misaligned(
      JsonNode desired,
      ArrayNode patch,
      List<String> changes,
      List<String> warnings,
      boolean onlyLabels)
      implements Result {}

  /** The webhook would deny any write of the VM as it is (an invalid annotation value). */
  public record Refused(String message) implements Result {}

  public static Result check(Mutator vms, String namespace, String name, JsonNode stored) {
    JsonNode lastSeen = asTheWebhookLastSawIt(stored);
    Verdict verdict =
        vms.review(new AdmissionInput(Operation.UPDATE, namespace, name, stored, lastSeen, false));
    if (verdict instanceof Verdict.Deny deny) {
      return new Refused(deny.message());
    }
    Verdict.Allow allow = (Verdict.Allow) verdict;
    ArrayNode patch = JsonPatches.diff(stored, allow.object());
    if (patch.isEmpty()) {
      return new Consistent();
    }
    List<String> changes = new ArrayList<>();
    boolean onlyLabels = true;
    for (JsonNode op : patch) {
      changes.add(describe(op));
      onlyLabels &= op.path("path").asText().startsWith("/metadata/labels");
    }
    return new Misaligned(allow.object(), patch, changes, allow.warnings(), onlyLabels);
  }

  /** The stored VM with the policy annotation its template label says the webhook last saw. */
  private static JsonNode asTheWebhookLastSawIt(JsonNode stored) {
    JsonNode label = stored.path("spec").path("template").path("metadata").path("labels");
    String seen =
        label.path(Keys.RUN_POLICY).isTextual() ? label.get(Keys.RUN_POLICY).asText() : null;
    JsonNode annotations = stored.path("metadata").path("annotations");
    String current =
        annotations.path(Keys.RUN_POLICY).isTextual()
            ? annotations.get(Keys.RUN_POLICY).asText()
            : null;
    if (java.util.Objects.equals(seen, current)
        || !(stored instanceof ObjectNode root)
        || !stored.path("metadata").isObject()
        || !(annotations.isObject() || annotations.isMissingNode() || annotations.isNull())) {
      return stored;
    }
    TreeEdit edit = new TreeEdit(root);
    ObjectNode metadata = edit.object(edit.root(), "metadata");
    ObjectNode edited = edit.objectOrNew(metadata, "annotations");
    if (seen == null) {
      edited.remove(Keys.RUN_POLICY);
    } else {
      edited.put(Keys.RUN_POLICY, seen);
    }
    return edit.root();
  }

  /** {@code spec.runStrategy: Halted → Always}, {@code + metadata.labels {…}}, {@code − …}. */
  static String describe(JsonNode op) {
    String path = readable(op.path("path").asText());
    JsonNode value = op.get("value");
    String shown = value == null ? "" : value.isTextual() ? value.asText() : value.toString();
    return switch (op.path("op").asText()) {
      case "remove" -> path + " removed";
      case "add" -> path + " = " + shown;
      default -> path + " → " + shown;
    };
  }

  /** A JSON pointer as people write paths: {@code metadata.annotations[vmpower.io/x]}. */
  private static String readable(String pointer) {
    StringBuilder out = new StringBuilder();
    for (String raw : pointer.substring(pointer.isEmpty() ? 0 : 1).split("/", -1)) {
      String segment = raw.replace("~1", "/").replace("~0", "~");
      if (segment.contains("/") || segment.contains(".")) {
        out.append('[').append(segment).append(']');
      } else {
        out.append(out.length() == 0 ? "" : ".").append(segment);
      }
    }
    return out.toString();
  }
}
