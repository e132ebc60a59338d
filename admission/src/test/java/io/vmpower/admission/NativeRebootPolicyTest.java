package io.vmpower.admission;

import static io.vmpower.admission.testing.Manifests.vm;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmpower.api.admission.AdmissionInput;
import io.vmpower.api.admission.Operation;
import io.vmpower.api.admission.Verdict;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The native reboot policy on managed VMs: set where the gate is open, never where it is not, a
 * user's own value kept, vmpower's taken back when the gate closes or the VM leaves vmpower; and
 * the gate itself as KubeVirt 1.8 and 1.9 decide it.
 */
class NativeRebootPolicyTest {
  private static final String FIELD = "/spec/template/spec/domain/rebootPolicy";
  private static final String MARK = "/metadata/annotations/vmpower.io~1native-reboot-policy";

  private static Verdict.Allow review(boolean open, JsonNode oldVm, JsonNode vm) {
    Verdict v =
        new VmMutator(() -> open)
            .review(
                new AdmissionInput(
                    oldVm == null ? Operation.CREATE : Operation.UPDATE,
                    "team-a",
                    "db",
                    vm,
                    oldVm,
                    false));
    assertThat(v).isInstanceOf(Verdict.Allow.class);
    return (Verdict.Allow) v;
  }

  private static String at(JsonNode node, String pointer) {
    JsonNode value = node.at(pointer);
    return value.isMissingNode() ? null : value.asText();
  }

  private static ObjectNode withRebootPolicy(ObjectNode vm, String value, boolean marked) {
    ((ObjectNode) vm.at("/spec/template/spec/domain")).put("rebootPolicy", value);
    if (marked) {
      ((ObjectNode) vm.with("metadata").with("annotations"))
          .put("vmpower.io/native-reboot-policy", "Terminate");
    }
    return vm;
  }

  @ParameterizedTest(name = "{0}, gate open: Terminate set")
  @CsvSource({"AlwaysOn", "AlwaysOff", "Manual", "AlwaysOnUnlessStoppedManually"})
  void aManagedVmGetsTerminateWhereTheGateIsOpen(String policy) {
    Verdict.Allow allow = review(true, null, vm("db", policy, "runStrategy: Manual"));
    assertThat(at(allow.object(), FIELD)).isEqualTo("Terminate");
    assertThat(at(allow.object(), MARK)).isEqualTo("Terminate");
  }

  @Test
  void neverWhereTheGateIsClosedOrUnknown() {
    Verdict.Allow allow = review(false, null, vm("db", "Manual", "runStrategy: Manual"));
    assertThat(at(allow.object(), FIELD)).isNull();
    assertThat(at(allow.object(), MARK)).isNull();
  }

  @Test
  void anUnmanagedVmIsNotTouched() {
    ObjectNode vm = vm("db", null, "runStrategy: Manual");
    Verdict.Allow allow = review(true, null, vm);
    assertThat(allow.object()).isEqualTo(vm);
  }

  @ParameterizedTest(name = "the user's own {0} is kept")
  @CsvSource({"Reboot", "Terminate"})
  void aUsersOwnValueIsKept(String value) {
    ObjectNode vm = withRebootPolicy(vm("db", "Manual", "runStrategy: Manual"), value, false);
    Verdict.Allow open = review(true, null, vm.deepCopy());
    assertThat(at(open.object(), FIELD)).isEqualTo(value);
    assertThat(at(open.object(), MARK)).isNull();
    // ... also when the gate is closed: KubeVirt decides about a user's own field.
    Verdict.Allow closed = review(false, null, vm.deepCopy());
    assertThat(at(closed.object(), FIELD)).isEqualTo(value);
  }

  @Test
  void aUserWhoChangesVmpowersValueOwnsIt() {
    ObjectNode old = withRebootPolicy(vm("db", "Manual", "runStrategy: Manual"), "Terminate", true);
    ObjectNode changed = withRebootPolicy(old.deepCopy(), "Reboot", false);
    ((ObjectNode) changed.with("metadata").with("annotations"))
        .put("vmpower.io/native-reboot-policy", "Terminate");
    Verdict.Allow allow = review(true, old, changed);
    assertThat(at(allow.object(), FIELD)).isEqualTo("Reboot");
    assertThat(at(allow.object(), MARK)).isNull();
    // and it stays the user's when the gate closes later
    Verdict.Allow later = review(false, allow.object(), allow.object().deepCopy());
    assertThat(at(later.object(), FIELD)).isEqualTo("Reboot");
  }

  @Test
  void vmpowersOwnValueIsTakenBackWhenTheGateCloses() {
    ObjectNode set = withRebootPolicy(vm("db", "Manual", "runStrategy: Manual"), "Terminate", true);
    Verdict.Allow allow = review(false, set, set.deepCopy());
    assertThat(at(allow.object(), FIELD)).isNull();
    assertThat(at(allow.object(), MARK)).isNull();
    assertThat(allow.warnings()).singleElement().asString().contains("feature gate");
  }

  @Test
  void vmpowersOwnValueLeavesWithThePolicy() {
    ObjectNode set = withRebootPolicy(vm("db", "Manual", "runStrategy: Manual"), "Terminate", true);
    ObjectNode unmanaged = set.deepCopy();
    ((ObjectNode) unmanaged.get("metadata").get("annotations")).remove("vmpower.io/run-policy");
    Verdict.Allow allow = review(true, set, unmanaged);
    assertThat(at(allow.object(), FIELD)).isNull();
    assertThat(at(allow.object(), MARK)).isNull();
  }

  @Test
  void aVmAlreadyInLineIsUnchanged() {
    ObjectNode set = withRebootPolicy(vm("db", "Manual", "runStrategy: Manual"), "Terminate", true);
    ((ObjectNode) set.at("/spec/template/metadata/labels")).put("vmpower.io/run-policy", "Manual");
    Verdict.Allow allow = review(true, set, set.deepCopy());
    assertThat(allow.decision()).isEqualTo("unchanged");
  }

  @ParameterizedTest(name = "KubeVirt {0}, featureGates [{1}], disabled [{2}] -> {3}")
  @CsvSource(
      delimiter = '|',
      value = {
        "v1.7.2  |              |              | false",
        "v1.7.2  | RebootPolicy |              | false",
        "v1.8.4  |              |              | false",
        "v1.8.4  | RebootPolicy |              | true",
        "v1.8.0  | RebootPolicy | RebootPolicy | true",
        "v1.9.0  |              |              | true",
        "v1.9.0  |              | RebootPolicy | false",
        "v1.9.0  | RebootPolicy | RebootPolicy | true",
        "v1.10.1 |              |              | true",
        "v2.0.0  |              |              | true",
        "        |              |              | false",
        "garbage |              |              | false",
      })
  void theGateAsKubeVirtDecidesIt(String version, String gates, String disabled, boolean open) {
    RebootPolicyGate.KubeVirtCr cr =
        new RebootPolicyGate.KubeVirtCr(
            version,
            version,
            gates == null ? List.of() : List.of(gates),
            disabled == null ? List.of() : List.of(disabled));
    assertThat(RebootPolicyGate.open(List.of(cr))).isEqualTo(open);
  }

  @Test
  void duringAnUpgradeBothVersionsMustAgreeAndNoCrIsClosed() {
    var upgrading = new RebootPolicyGate.KubeVirtCr("v1.8.4", "v1.9.0", List.of(), List.of());
    assertThat(RebootPolicyGate.open(List.of(upgrading))).isFalse();
    var listed =
        new RebootPolicyGate.KubeVirtCr("v1.8.4", "v1.9.0", List.of("RebootPolicy"), List.of());
    assertThat(RebootPolicyGate.open(List.of(listed))).isTrue();
    assertThat(RebootPolicyGate.open(List.of())).isFalse();
  }
}
