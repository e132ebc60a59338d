package io.vmpower.admission;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmpower.api.Keys;
import io.vmpower.api.admission.TreeEdit;
import java.util.List;

/**
 * KubeVirt's native reboot policy on managed VMs (issue 14; README "Native reboot policy"): {@code
 * spec.template.spec.domain.rebootPolicy: Terminate} makes libvirt start QEMU with its reboot
 * action set to shutdown before the guest's first instruction, so a guest reboot always ends the
 * VMI (no start-up window, BENCHMARKS.md section 4); the domain monitor then only records why.
 * Pure.
 *
 * <ul>
 *   <li>Used (the setting asks for it and KubeVirt's {@code RebootPolicy} gate is on): a managed VM
 *       without the field gets {@code Terminate}, marked as vmpower's ({@link
 *       Keys#NATIVE_REBOOT_POLICY}).
 *   <li>A user's own {@code rebootPolicy} (no mark, or a value other than the one vmpower set) is
 *       kept as it is, and the mark dropped: {@code Reboot} is how a VM opts out (its soft reboots
 *       then stay reboots; the monitor's set-action still turns guest reboots into restarts).
 *   <li>Not used (gate off, unknown, or the setting off), or the VM leaves vmpower: vmpower's own
 *       {@code Terminate} is taken back — KubeVirt rejects a VM carrying the field while the gate
 *       is off, and an unmanaged VM would stay off after every reboot.
 * </ul>
 */
final class NativeRebootPolicy {
  static final String FIELD = "rebootPolicy";
  static final String TERMINATE = "Terminate";

  private NativeRebootPolicy() {}

  /** For a VM vmpower manages; {@code use}: the native policy is wanted and accepted now. */
  static void managed(TreeEdit edit, boolean use, List<String> warnings) {
    ObjectNode root = edit.root();
    JsonNode current = domain(root).get(FIELD);
    boolean ours = marked(root);
    boolean absent = current == null || current.isNull();
    if (use) {
      if (absent) {
        ObjectNode domain = domainForEdit(edit);
        if (domain != null) {
          domain.put(FIELD, TERMINATE);
          annotations(edit).put(Keys.NATIVE_REBOOT_POLICY, TERMINATE);
        }
      } else if (ours && !TERMINATE.equals(current.asText())) {
        removeMark(edit); // the user changed it: theirs now
      } else if (!ours) {
        removeMark(edit);
      }
      return;
    }
    takeBack(edit, warnings, "KubeVirt's RebootPolicy feature gate is not on");
  }

  /** For a VM that leaves vmpower: its own {@code Terminate} goes with it. */
  static void unmanaged(TreeEdit edit, List<String> warnings) {
    takeBack(edit, warnings, "the VM has no run policy any more");
  }

  private static void takeBack(TreeEdit edit, List<String> warnings, String why) {
    ObjectNode root = edit.root();
    if (!marked(root)) {
      removeMark(edit);
      return;
    }
    JsonNode current = domain(root).get(FIELD);
    if (current != null && TERMINATE.equals(current.asText())) {
      ObjectNode domain = domainForEdit(edit);
      if (domain != null) {
        domain.remove(FIELD);
        warnings.add(
            "spec.template.spec.domain.rebootPolicy: Terminate removed (set by vmpower): " + why);
      }
    }
    removeMark(edit);
  }

  private static JsonNode domain(JsonNode vm) {
    return vm.path("spec").path("template").path("spec").path("domain");
  }

  private static boolean marked(JsonNode vm) {
    return TERMINATE.equals(
        vm.path("metadata").path("annotations").path(Keys.NATIVE_REBOOT_POLICY).asText(null));
  }

  /** spec.template.spec.domain as the editor's copy, created where absent; null if malformed. */
  private static ObjectNode domainForEdit(TreeEdit edit) {
    ObjectNode node = edit.root();
    for (String field : new String[] {"spec", "template", "spec", "domain"}) {
      node = edit.objectOrNew(node, field);
      if (node == null) {
        return null; // a shape no KubeVirt VM has: KubeVirt refuses it, nothing to add
      }
    }
    return node;
  }

  private static ObjectNode annotations(TreeEdit edit) {
    return edit.objectOrNew(edit.objectOrNew(edit.root(), "metadata"), "annotations");
  }

  private static void removeMark(TreeEdit edit) {
    if (edit.root().path("metadata").path("annotations").has(Keys.NATIVE_REBOOT_POLICY)) {
      edit.object(edit.object(edit.root(), "metadata"), "annotations")
          .remove(Keys.NATIVE_REBOOT_POLICY);
    }
  }
}
