package io.vmpower.admission;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * Structure-aware fuzzing of review handling: a valid review of either endpoint, then a few edits
 * chosen by the fuzzer, each putting a fuzzed value of a fuzzed type (or nothing) at one of the
 * paths the code reads. Byte-level mutation rarely keeps JSON valid; this reaches the mutators.
 */
class ReviewTreeFuzzTest {
  private static final JsonMapper JSON = new JsonMapper();

  private static final String VM =
      """
      {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1",
      "kind":{"group":"kubevirt.io","version":"v1","kind":"VirtualMachine"},"operation":"CREATE",
      "namespace":"team-a","name":"db","object":{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachine",
      "metadata":{"name":"db","namespace":"team-a","annotations":{"vmpower.io/run-policy":"AlwaysOn"}},
      "spec":{"running":false,"template":{"metadata":{"labels":{"kubevirt.io/domain":"db"}},
      "spec":{"domain":{"devices":{}}}}}},"oldObject":{"apiVersion":"kubevirt.io/v1",
      "kind":"VirtualMachine","metadata":{"name":"db","annotations":{"vmpower.io/run-policy":"Manual"}},
      "spec":{"runStrategy":"Manual","template":{"metadata":{"labels":{"vmpower.io/run-policy":"Manual"}}}}},
      "dryRun":false}}
      """;

  private static final String POD =
      """
      {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"p1",
      "kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"team-a",
      "object":{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"virt-launcher-db-",
      "labels":{"kubevirt.io":"virt-launcher","vmpower.io/run-policy":"Manual"},"annotations":{}},
      "spec":{"containers":[{"name":"compute","image":"virt-launcher",
      "command":["/usr/bin/virt-launcher-monitor","--qemu-timeout","321s"],
      "args":["--name","db","--namespace","team-a"]},{"name":"sidecar","image":"x"}]}}}}
      """;

  private static final List<String> REQUEST_PATHS =
      List.of(
          "/request/uid",
          "/request/operation",
          "/request/kind",
          "/request/kind/kind",
          "/request/kind/group",
          "/request/namespace",
          "/request/name",
          "/request/dryRun",
          "/request/subResource",
          "/request/object",
          "/request/object/kind",
          "/request/object/apiVersion",
          "/request/oldObject",
          "/request/oldObject/kind");

  private static final List<String> VM_PATHS =
      List.of(
          "/request/object/metadata",
          "/request/object/metadata/name",
          "/request/object/metadata/generateName",
          "/request/object/metadata/annotations",
          "/request/object/metadata/annotations/vmpower.io~1run-policy",
          "/request/object/metadata/annotations/vmpower.io~1start-pending",
          "/request/object/spec",
          "/request/object/spec/running",
          "/request/object/spec/runStrategy",
          "/request/object/spec/template",
          "/request/object/spec/template/metadata",
          "/request/object/spec/template/metadata/labels",
          "/request/object/spec/template/metadata/labels/vmpower.io~1run-policy",
          "/request/oldObject/metadata/annotations/vmpower.io~1run-policy",
          "/request/oldObject/metadata/annotations",
          "/request/oldObject/spec",
          "/request/oldObject/spec/runStrategy",
          "/request/oldObject/spec/running");

  private static final List<String> POD_PATHS =
      List.of(
          "/request/object/metadata",
          "/request/object/metadata/labels",
          "/request/object/metadata/labels/kubevirt.io",
          "/request/object/metadata/labels/vmpower.io~1run-policy",
          "/request/object/metadata/annotations",
          "/request/object/metadata/annotations/vmpower.io~1injection-status",
          "/request/object/metadata/annotations/kubevirt.io~1ephemeral-provisioning",
          "/request/object/spec",
          "/request/object/spec/containers",
          "/request/object/spec/containers/0",
          "/request/object/spec/containers/0/name",
          "/request/object/spec/containers/0/command",
          "/request/object/spec/containers/0/command/0",
          "/request/object/spec/containers/0/args",
          "/request/object/spec/containers/0/args/0",
          "/request/object/spec/containers/0/lifecycle",
          "/request/object/spec/containers/0/lifecycle/postStart",
          "/request/object/spec/containers/0/lifecycle/preStop",
          "/request/object/spec/containers/0/terminationMessagePath",
          "/request/object/spec/containers/1/name",
          "/request/object/spec/containers/1/command");

  private static final List<String> WORDS =
      List.of(
          "AlwaysOn",
          "AlwaysOff",
          "Manual",
          "AlwaysOnUnlessStoppedManually",
          "AlwaysOnUntilStoppedManually",
          "Always",
          "Halted",
          "RerunOnFailure",
          "Once",
          "CREATE",
          "UPDATE",
          "DELETE",
          "CONNECT",
          "VirtualMachine",
          "Pod",
          "kubevirt.io",
          "kubevirt.io/v1",
          "v1",
          "virt-launcher",
          "compute",
          "true",
          "");

  @FuzzTest(maxDuration = "10s")
  void editedReviewsGetWellFormedAnswers(FuzzedDataProvider data) throws Exception {
    boolean vm = data.consumeBoolean();
    ObjectNode review = (ObjectNode) JSON.readTree(vm ? VM : POD);
    int edits = data.consumeInt(0, 6);
    for (int i = 0; i < edits; i++) {
      List<String> paths = data.consumeBoolean() ? REQUEST_PATHS : (vm ? VM_PATHS : POD_PATHS);
      String path = data.pickValue(paths);
      put(review, JsonPointer.compile(path), value(data));
    }
    ReviewProperties.check(vm, JSON.writeValueAsBytes(review));
  }

  /** A fuzzed value of a fuzzed type; null means: remove the field. */
  private static JsonNode value(FuzzedDataProvider data) {
    var nodes = JSON.getNodeFactory();
    return switch (data.consumeInt(0, 9)) {
      case 0 -> null;
      case 1 -> nodes.nullNode();
      case 2 -> nodes.booleanNode(data.consumeBoolean());
      case 3 -> nodes.numberNode(data.consumeLong());
      case 4 -> nodes.numberNode(data.consumeDouble());
      case 5 -> nodes.textNode(data.pickValue(WORDS));
      case 6 -> nodes.objectNode();
      case 7 -> {
        ArrayNode array = nodes.arrayNode();
        int n = data.consumeInt(0, 4);
        for (int i = 0; i < n; i++) {
          if (data.consumeBoolean()) {
            array.add(data.consumeString(20));
          } else {
            array.add(data.consumeInt());
          }
        }
        yield array;
      }
      default -> nodes.textNode(data.consumeString(80));
    };
  }

  /** Sets (or removes) the value at {@code pointer}, creating missing parent objects. */
  private static void put(ObjectNode root, JsonPointer pointer, JsonNode value) {
    JsonNode parent = root;
    JsonPointer rest = pointer;
    while (!rest.tail().matches()) {
      String name = rest.getMatchingProperty();
      JsonNode child;
      if (parent instanceof ObjectNode object) {
        child = object.get(name);
        if (child == null || child.isNull()) {
          child = object.putObject(name);
        }
      } else if (parent instanceof ArrayNode array && rest.getMatchingIndex() >= 0) {
        child = array.get(rest.getMatchingIndex());
        if (child == null) {
          child = array.addObject();
        }
      } else {
        return; // a scalar on the way: nothing to edit
      }
      parent = child;
      rest = rest.tail();
    }
    String last = rest.getMatchingProperty();
    if (parent instanceof ObjectNode object) {
      if (value == null) {
        object.remove(last);
      } else {
        object.set(last, value);
      }
    } else if (parent instanceof ArrayNode array && rest.getMatchingIndex() >= 0) {
      int index = rest.getMatchingIndex();
      if (value == null) {
        if (index < array.size()) {
          array.remove(index);
        }
      } else if (index < array.size()) {
        array.set(index, value);
      } else {
        array.add(value);
      }
    }
  }
}
