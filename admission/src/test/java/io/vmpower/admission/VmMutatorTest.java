package io.vmpower.admission;

import static io.vmpower.admission.testing.Manifests.vm;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmpower.api.admission.AdmissionInput;
import io.vmpower.api.admission.Operation;
import io.vmpower.api.admission.Verdict;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class VmMutatorTest {
  private final VmMutator mutator = new VmMutator();

  private Verdict create(JsonNode vm) {
    return mutator.review(new AdmissionInput(Operation.CREATE, "team-a", "db", vm, null, false));
  }

  private Verdict update(JsonNode oldVm, JsonNode newVm) {
    return mutator.review(
        new AdmissionInput(Operation.UPDATE, "team-a", "db", newVm, oldVm, false));
  }

  private static Verdict.Allow allowed(Verdict verdict) {
    assertThat(verdict).isInstanceOf(Verdict.Allow.class);
    return (Verdict.Allow) verdict;
  }

  private static Verdict.Deny denied(Verdict verdict) {
    assertThat(verdict).isInstanceOf(Verdict.Deny.class);
    return (Verdict.Deny) verdict;
  }

  private static String text(JsonNode node, String pointer) {
    JsonNode value = node.at(pointer);
    return value.isMissingNode() ? null : value.asText();
  }

  private static final String LABEL = "/spec/template/metadata/labels/vmpower.io~1run-policy";
  private static final String PENDING = "/metadata/annotations/vmpower.io~1start-pending";
  private static final String POLICY = "/metadata/annotations/vmpower.io~1run-policy";

  @Nested
  class Create {
    @ParameterizedTest(name = "{0} -> runStrategy {1}, start-pending {2}")
    @CsvSource({
      "AlwaysOn, Always, ",
      "AlwaysOff, Halted, ",
      "Manual, Manual, ",
      "AlwaysOnUnlessStoppedManually, Manual, true"
    })
    void everyPolicyRow(String policy, String strategy, String pending) {
      Verdict.Allow allow = allowed(create(vm("db", policy, "running: true")));
      assertThat(text(allow.object(), "/spec/runStrategy")).isEqualTo(strategy);
      assertThat(allow.object().at("/spec/running").isMissingNode()).isTrue();
      assertThat(text(allow.object(), LABEL)).isEqualTo(policy);
      assertThat(text(allow.object(), PENDING)).isEqualTo(pending);
      assertThat(allow.decision()).isEqualTo("mutated");
      assertThat(allow.warnings()).singleElement().asString().startsWith("spec.running removed");
    }

    @Test
    void keepsEverythingElse() {
      ObjectNode vm = vm("db", "AlwaysOn", "runStrategy: Halted");
      Verdict.Allow allow = allowed(create(vm));
      ObjectNode expected = vm.deepCopy();
      ((ObjectNode) expected.get("spec")).put("runStrategy", "Always");
      ((ObjectNode) expected.at("/spec/template/metadata/labels"))
          .put("vmpower.io/run-policy", "AlwaysOn");
      // issue 15: the VM itself carries the policy label too
      ((ObjectNode) expected.at("/metadata/labels")).put("vmpower.io/run-policy", "AlwaysOn");
      assertThat(allow.object()).isEqualTo(expected);
      assertThat(allow.warnings()).isEmpty();
    }

    @Test
    void consistentVmIsUnchanged() {
      ObjectNode vm = vm("db", "Manual", "runStrategy: Manual");
      ((ObjectNode) vm.at("/spec/template/metadata/labels")).put("vmpower.io/run-policy", "Manual");
      ((ObjectNode) vm.at("/metadata/labels")).put("vmpower.io/run-policy", "Manual");
      Verdict.Allow allow = allowed(create(vm));
      assertThat(allow.object()).isEqualTo(vm);
      assertThat(allow.decision()).isEqualTo("unchanged");
    }

    @Test
    void unmanagedVmIsNotTouched() {
      ObjectNode vm = vm("db", null, "running: true");
      Verdict.Allow allow = allowed(create(vm));
      assertThat(allow.object()).isEqualTo(vm);
      assertThat(allow.decision()).isEqualTo("unmanaged");
    }

    @Test
    void aliasIsNormalizedWithAWarning() {
      Verdict.Allow allow = allowed(create(vm("db", "AlwaysOnUntilStoppedManually", "")));
      assertThat(text(allow.object(), POLICY)).isEqualTo("AlwaysOnUnlessStoppedManually");
      assertThat(text(allow.object(), "/spec/runStrategy")).isEqualTo("Manual");
      assertThat(text(allow.object(), PENDING)).isEqualTo("true");
      assertThat(allow.warnings())
          .containsExactly(
              "vmpower.io/run-policy: AlwaysOnUntilStoppedManually is deprecated, stored as"
                  + " AlwaysOnUnlessStoppedManually");
      assertThat(allow.warnings()).allSatisfy(w -> assertThat(w).hasSizeLessThan(120));
    }

    @Test
    void unknownPolicyIsDeniedListingValidValues() {
      Verdict.Deny deny = denied(create(vm("db", "Sometimes", "")));
      assertThat(deny.code()).isEqualTo(422);
      assertThat(deny.reason()).isEqualTo("Invalid");
      assertThat(deny.message())
          .isEqualTo(
              "metadata.annotations[vmpower.io/run-policy]: Unsupported value: \"Sometimes\":"
                  + " supported values: \"AlwaysOn\", \"AlwaysOff\", \"Manual\","
                  + " \"AlwaysOnUnlessStoppedManually\"");
    }

    @Test
    void policyValuesAreCaseSensitive() {
      assertThat(denied(create(vm("db", "alwayson", ""))).code()).isEqualTo(422);
    }

    @Test
    void createsTemplateLabelsWhenAbsent() {
      ObjectNode vm = vm("db", "AlwaysOn", "");
      ((ObjectNode) vm.at("/spec/template")).remove("metadata");
      Verdict.Allow allow = allowed(create(vm));
      assertThat(text(allow.object(), LABEL)).isEqualTo("AlwaysOn");
    }

    @Test
    void dryRunGetsTheSameAnswer() {
      ObjectNode vm = vm("db", "AlwaysOn", "running: false");
      Verdict real = create(vm);
      Verdict dry =
          mutator.review(new AdmissionInput(Operation.CREATE, "team-a", "db", vm, null, true));
      assertThat(dry).isEqualTo(real);
    }

    @Test
    void doesNotModifyTheSubmittedTree() {
      ObjectNode vm = vm("db", "AlwaysOn", "running: false");
      ObjectNode before = vm.deepCopy();
      create(vm);
      assertThat(vm).isEqualTo(before);
    }
  }

  @Nested
  class Update {
    private ObjectNode stored(String policy) {
      JsonNode created = allowed(create(vm("db", policy, ""))).object();
      ObjectNode stored = created.deepCopy();
      if (stored.at("/metadata/annotations").isObject()) {
        ((ObjectNode) stored.at("/metadata/annotations")).remove("vmpower.io/start-pending");
      }
      return stored;
    }

    private static ObjectNode withStrategy(ObjectNode vm, String field, Object value) {
      ObjectNode copy = vm.deepCopy();
      ObjectNode spec = (ObjectNode) copy.get("spec");
      spec.remove("runStrategy");
      spec.remove("running");
      if (value instanceof Boolean b) {
        spec.put(field, b);
      } else if (value != null) {
        spec.put(field, value.toString());
      }
      return copy;
    }

    private static ObjectNode withPolicy(ObjectNode vm, String policy) {
      ObjectNode copy = vm.deepCopy();
      ObjectNode annotations = copy.withObject("/metadata/annotations");
      if (policy == null) {
        annotations.remove("vmpower.io/run-policy");
      } else {
        annotations.put("vmpower.io/run-policy", policy);
      }
      return copy;
    }

    @Test
    void stopOfAnAlwaysOnVmIsDenied() {
      ObjectNode old = stored("AlwaysOn");
      Verdict.Deny deny = denied(update(old, withStrategy(old, "runStrategy", "Halted")));
      assertThat(deny.code()).isEqualTo(403);
      assertThat(deny.reason()).isEqualTo("Forbidden");
      assertThat(deny.message())
          .isEqualTo(
              "VirtualMachine team-a/db has run policy AlwaysOn, which keeps spec.runStrategy:"
                  + " Always; refusing spec.runStrategy: Halted. To stop it, change its policy"
                  + " first, e.g. kubectl annotate vm NAME --overwrite vmpower.io/run-policy=Manual;"
                  + " or suspend vmpower for it (maintenance): kubectl annotate vm NAME"
                  + " vmpower.io/maintenance=true");
    }

    @Test
    void startOfAnAlwaysOffVmIsDenied() {
      ObjectNode old = stored("AlwaysOff");
      Verdict.Deny deny = denied(update(old, withStrategy(old, "runStrategy", "Always")));
      assertThat(deny.message())
          .contains("has run policy AlwaysOff")
          .contains("refusing spec.runStrategy: Always")
          .contains("vmpower.io/run-policy=AlwaysOn");
    }

    @Test
    void changingRunningAwayFromThePolicyIsDenied() {
      ObjectNode old = withStrategy(stored("AlwaysOn"), "running", true);
      Verdict.Deny deny = denied(update(old, withStrategy(old, "running", false)));
      assertThat(deny.message()).contains("refusing spec.running: false");
    }

    @Test
    void reappliedManifestWithRunningIsStrippedNotDenied() {
      // kubectl apply of a manifest with running: true, a second time: vmpower removed it the first
      // time, apply puts it back.
      ObjectNode old = stored("Manual");
      ObjectNode reapplied = old.deepCopy();
      ((ObjectNode) reapplied.get("spec")).put("running", true);
      Verdict.Allow allow = allowed(update(old, reapplied));
      assertThat(allow.object()).isEqualTo(old);
      assertThat(allow.warnings()).singleElement().asString().startsWith("spec.running removed");
    }

    @Test
    void runningThatAgreesWithThePolicyIsConvertedNotDenied() {
      ObjectNode old = stored("AlwaysOn");
      Verdict.Allow allow = allowed(update(old, withStrategy(old, "running", true)));
      assertThat(text(allow.object(), "/spec/runStrategy")).isEqualTo("Always");
      assertThat(allow.object().at("/spec/running").isMissingNode()).isTrue();
      assertThat(allow.warnings()).singleElement().asString().startsWith("spec.running removed");
    }

    @Test
    void removingRunStrategyPutsItBack() {
      ObjectNode old = stored("Manual");
      Verdict.Allow allow = allowed(update(old, withStrategy(old, "runStrategy", null)));
      assertThat(text(allow.object(), "/spec/runStrategy")).isEqualTo("Manual");
    }

    @Test
    void unrelatedUpdateOfAConsistentVmIsUnchanged() {
      ObjectNode old = stored("AlwaysOn");
      ObjectNode changed = old.deepCopy();
      ((ObjectNode) changed.at("/spec/template/spec/domain/cpu")).put("cores", 4);
      Verdict.Allow allow = allowed(update(old, changed));
      assertThat(allow.object()).isEqualTo(changed);
      assertThat(allow.decision()).isEqualTo("unchanged");
    }

    @Test
    void unrelatedUpdateOfAnInconsistentVmRepairsIt() {
      ObjectNode old = withStrategy(stored("AlwaysOn"), "runStrategy", "Halted");
      Verdict.Allow allow = allowed(update(old, old.deepCopy()));
      assertThat(text(allow.object(), "/spec/runStrategy")).isEqualTo("Always");
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
      "AlwaysOn, AlwaysOff, Halted",
      "AlwaysOff, AlwaysOn, Always",
      "AlwaysOn, Manual, Manual",
      "Manual, AlwaysOn, Always"
    })
    void changingThePolicyMovesRunStrategyWithIt(String from, String to, String strategy) {
      ObjectNode old = stored(from);
      Verdict.Allow allow = allowed(update(old, withPolicy(old, to)));
      assertThat(text(allow.object(), "/spec/runStrategy")).isEqualTo(strategy);
      assertThat(text(allow.object(), LABEL)).isEqualTo(to);
      assertThat(text(allow.object(), PENDING)).isNull();
    }

    @Test
    void changingPolicyAndRunStrategyTogetherIsAllowed() {
      ObjectNode old = stored("AlwaysOn");
      ObjectNode changed = withStrategy(withPolicy(old, "AlwaysOff"), "runStrategy", "Halted");
      Verdict.Allow allow = allowed(update(old, changed));
      assertThat(text(allow.object(), "/spec/runStrategy")).isEqualTo("Halted");
    }

    @Test
    void switchingIntoUnlessStoppedManuallySetsStartPending() {
      ObjectNode old = stored("Manual");
      Verdict.Allow allow = allowed(update(old, withPolicy(old, "AlwaysOnUnlessStoppedManually")));
      assertThat(text(allow.object(), PENDING)).isEqualTo("true");
    }

    @Test
    void managingAnUnmanagedVmAsUnlessStoppedManuallySetsStartPending() {
      ObjectNode old = vm("db", null, "runStrategy: Halted");
      Verdict.Allow allow = allowed(update(old, withPolicy(old, "AlwaysOnUnlessStoppedManually")));
      assertThat(text(allow.object(), PENDING)).isEqualTo("true");
    }

    @Test
    void stayingInUnlessStoppedManuallyDoesNotSetStartPendingAgain() {
      ObjectNode old = stored("AlwaysOnUnlessStoppedManually");
      Verdict.Allow allow = allowed(update(old, old.deepCopy()));
      assertThat(text(allow.object(), PENDING)).isNull();
      assertThat(allow.decision()).isEqualTo("unchanged");
    }

    @Test
    void switchingOutOfUnlessStoppedManuallyDropsStartPending() {
      ObjectNode old =
          allowed(create(vm("db", "AlwaysOnUnlessStoppedManually", ""))).object().deepCopy();
      Verdict.Allow allow = allowed(update(old, withPolicy(old, "Manual")));
      assertThat(text(allow.object(), PENDING)).isNull();
    }

    @Test
    void removingThePolicyUnmanagesTheVm() {
      ObjectNode old =
          allowed(create(vm("db", "AlwaysOnUnlessStoppedManually", ""))).object().deepCopy();
      Verdict.Allow allow = allowed(update(old, withPolicy(old, null)));
      assertThat(text(allow.object(), LABEL)).isNull();
      assertThat(text(allow.object(), PENDING)).isNull();
      assertThat(text(allow.object(), "/spec/runStrategy")).isEqualTo("Manual");
      assertThat(text(allow.object(), "/spec/template/metadata/labels/kubevirt.io~1domain"))
          .isEqualTo("db");
    }

    @Test
    void statusUpdatesAreNotForTheMutator() {
      ObjectNode old = stored("AlwaysOn");
      Verdict.Allow allow =
          allowed(
              mutator.review(
                  new AdmissionInput(Operation.DELETE, "team-a", "db", null, old, false)));
      assertThat(allow.decision()).isEqualTo("ignored");
    }
  }

  @Nested
  class Malformed {
    @Test
    void annotationThatIsNotAString() {
      ObjectNode vm = vm("db", null, "");
      ((ObjectNode) vm.get("metadata")).putObject("annotations").put("vmpower.io/run-policy", 5);
      Verdict.Deny deny = denied(create(vm));
      assertThat(deny.code()).isEqualTo(400);
      assertThat(deny.message())
          .isEqualTo("metadata.annotations[vmpower.io/run-policy] must be a string");
    }

    @Test
    void annotationsThatAreNotAnObject() {
      ObjectNode vm = vm("db", null, "");
      ((ObjectNode) vm.get("metadata")).putArray("annotations");
      assertThat(denied(create(vm)).message()).isEqualTo("metadata.annotations must be an object");
    }

    @Test
    void specThatIsNotAnObject() {
      ObjectNode vm = vm("db", "AlwaysOn", "");
      vm.put("spec", "running");
      assertThat(denied(create(vm)).message()).isEqualTo("spec must be an object, got string");
    }

    @Test
    void templateLabelsThatAreNotAnObject() {
      ObjectNode vm = vm("db", "AlwaysOn", "");
      ((ObjectNode) vm.at("/spec/template/metadata")).putArray("labels");
      assertThat(denied(create(vm)).message())
          .isEqualTo("spec.template.metadata.labels must be an object, got array");
    }
  }
}
