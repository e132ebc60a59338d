package io.vmpower.admission;

import static io.vmpower.admission.testing.Manifests.vm;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmpower.api.KubeVirtAccounts;
import io.vmpower.api.NamespaceDefault;
import io.vmpower.api.admission.AdmissionInput;
import io.vmpower.api.admission.Operation;
import io.vmpower.api.admission.RequestUser;
import io.vmpower.api.admission.Verdict;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 15's rules of the VM webhook: namespace defaults, maintenance, KubeVirt's own runStrategy
 * writes, the VM's own policy label.
 */
class VmMutatorFleetTest {
  static final String LABEL = "/spec/template/metadata/labels/vmpower.io~1run-policy";
  static final String VM_LABEL = "/metadata/labels/vmpower.io~1run-policy";
  static final String POLICY = "/metadata/annotations/vmpower.io~1run-policy";
  static final String PENDING = "/metadata/annotations/vmpower.io~1start-pending";
  static final String MAINTENANCE = "/metadata/annotations/vmpower.io~1maintenance";
  static final String REASON = "/metadata/annotations/vmpower.io~1maintenance-reason";
  static final String RESTORE = "/metadata/annotations/kubevirt.io~1restore-run-strategy";

  static final KubeVirtAccounts KUBEVIRT = new KubeVirtAccounts("openshift-cnv");
  static final RequestUser CONTROLLER =
      new RequestUser(KUBEVIRT.controller(), List.of("system:serviceaccounts"));
  static final RequestUser VIRT_API =
      new RequestUser(KUBEVIRT.apiServer(), List.of("system:serviceaccounts"));
  static final RequestUser USER = new RequestUser("alice", List.of("system:authenticated"));

  /** Defaults: team-a AlwaysOn, team-c invalid; a restore stops team-a/restored. */
  static final ClusterView CLUSTER =
      new ClusterView() {
        @Override
        public NamespaceDefault namespaceDefault(String namespace) {
          return NamespaceDefault.of(
              Map.of("team-a", "AlwaysOn", "team-c", "Sometimes").get(namespace));
        }

        @Override
        public boolean restoreStopsVm(String namespace, String name) {
          return namespace.equals("team-a") && name.equals("restored");
        }
      };

  final VmMutator mutator = new VmMutator(CLUSTER, KUBEVIRT, RebootPolicyGate.CLOSED);

  Verdict create(String namespace, JsonNode vm) {
    return mutator.review(
        new AdmissionInput(Operation.CREATE, namespace, "db", vm, null, false, USER));
  }

  Verdict update(String namespace, JsonNode old, JsonNode vm, RequestUser user) {
    String name = vm.path("metadata").path("name").asText();
    return mutator.review(
        new AdmissionInput(Operation.UPDATE, namespace, name, vm, old, false, user));
  }

  static Verdict.Allow allowed(Verdict verdict) {
    assertThat(verdict).isInstanceOf(Verdict.Allow.class);
    return (Verdict.Allow) verdict;
  }

  static Verdict.Deny denied(Verdict verdict) {
    assertThat(verdict).isInstanceOf(Verdict.Deny.class);
    return (Verdict.Deny) verdict;
  }

  static String text(JsonNode node, String pointer) {
    JsonNode value = node.at(pointer);
    return value.isMissingNode() ? null : value.asText();
  }

  /** The VM as the webhook stored it on CREATE in team-b (no default), start-pending consumed. */
  ObjectNode stored(String name, String policy) {
    ObjectNode vm = allowed(create("team-b", vm(name, policy, ""))).object().deepCopy();
    ((ObjectNode) vm.at("/metadata/annotations")).remove("vmpower.io/start-pending");
    return vm;
  }

  static ObjectNode with(ObjectNode vm, String annotation, String value) {
    ObjectNode copy = vm.deepCopy();
    ObjectNode annotations = copy.withObject("/metadata/annotations");
    if (value == null) {
      annotations.remove(annotation);
    } else {
      annotations.put(annotation, value);
    }
    return copy;
  }

  static ObjectNode withStrategy(ObjectNode vm, String strategy) {
    ObjectNode copy = vm.deepCopy();
    ((ObjectNode) copy.get("spec")).put("runStrategy", strategy);
    return copy;
  }

  @Nested
  class NamespaceDefaults {
    @Test
    void createWithoutOwnPolicyGetsTheDefaultAsIfWritten() {
      Verdict.Allow allow = allowed(create("team-a", vm("db", null, "running: false")));
      assertThat(text(allow.object(), POLICY)).isEqualTo("AlwaysOn");
      assertThat(text(allow.object(), "/spec/runStrategy")).isEqualTo("Always");
      assertThat(text(allow.object(), LABEL)).isEqualTo("AlwaysOn");
      assertThat(text(allow.object(), VM_LABEL)).isEqualTo("AlwaysOn");
      assertThat(allow.warnings())
          .contains("vmpower.io/run-policy=AlwaysOn: the default of namespace team-a");
      assertThat(allow.warnings()).allSatisfy(w -> assertThat(w).hasSizeLessThan(120));
    }

    @Test
    void updateOfAnUnannotatedVmGetsTheDefault() {
      ObjectNode old = vm("db", null, "runStrategy: Halted");
      ObjectNode changed = old.deepCopy();
      ((ObjectNode) changed.at("/spec/template/spec/domain/cpu")).put("cores", 4);
      Verdict.Allow allow = allowed(update("team-a", old, changed, USER));
      assertThat(text(allow.object(), POLICY)).isEqualTo("AlwaysOn");
      assertThat(text(allow.object(), "/spec/runStrategy")).isEqualTo("Always");
      assertThat(text(allow.object(), "/spec/template/spec/domain/cpu/cores")).isEqualTo("4");
    }

    @Test
    void theVmsOwnPolicyWins() {
      Verdict.Allow allow = allowed(create("team-a", vm("db", "AlwaysOff", "")));
      assertThat(text(allow.object(), POLICY)).isEqualTo("AlwaysOff");
      assertThat(text(allow.object(), "/spec/runStrategy")).isEqualTo("Halted");
      assertThat(allow.warnings()).noneMatch(w -> w.contains("default"));
    }

    @Test
    void aDefaultOfUnlessStoppedManuallyOwesTheFirstStart() {
      Map<String, String> defaults = Map.of("team-a", "AlwaysOnUnlessStoppedManually");
      VmMutator m = new VmMutator(ClusterView.fixed(defaults), KUBEVIRT, RebootPolicyGate.CLOSED);
      Verdict.Allow allow =
          allowed(
              m.review(
                  new AdmissionInput(
                      Operation.CREATE, "team-a", "db", vm("db", null, ""), null, false)));
      assertThat(text(allow.object(), PENDING)).isEqualTo("true");
    }

    @Test
    void removingTheOwnPolicyFallsBackToTheDefault() {
      ObjectNode old = stored("db", "Manual");
      Verdict.Allow allow =
          allowed(update("team-a", old, with(old, "vmpower.io/run-policy", null), USER));
      assertThat(text(allow.object(), POLICY)).isEqualTo("AlwaysOn");
      assertThat(text(allow.object(), "/spec/runStrategy")).isEqualTo("Always");
    }

    @Test
    void anInvalidDefaultIsIgnoredWithAWarningAndNeverBlocksTheWrite() {
      ObjectNode vm = vm("db", null, "running: true");
      Verdict.Allow allow = allowed(create("team-c", vm));
      assertThat(allow.object()).isEqualTo(vm);
      assertThat(allow.decision()).isEqualTo("unmanaged");
      assertThat(allow.warnings())
          .containsExactly(
              "namespace team-c: vmpower.io/default-run-policy \"Sometimes\" is no run policy,"
                  + " ignored");
      // a VM with its own policy in that namespace is managed as usual, without the warning
      Verdict.Allow own = allowed(create("team-c", vm("db", "Manual", "")));
      assertThat(text(own.object(), "/spec/runStrategy")).isEqualTo("Manual");
      assertThat(own.warnings()).isEmpty();
    }

    @Test
    void withoutADefaultAnUnannotatedVmIsNotTouched() {
      ObjectNode vm = vm("db", null, "running: true");
      Verdict.Allow allow = allowed(create("team-b", vm));
      assertThat(allow.object()).isSameAs(vm);
      assertThat(allow.warnings()).isEmpty();
    }

    @Test
    void beforeTheNamespacesAreLoadedOnlyVmsWithoutOwnPolicyAreRefused() {
      ClusterView loading =
          new ClusterView() {
            @Override
            public NamespaceDefault namespaceDefault(String namespace) {
              return NamespaceDefault.NOT_LOADED;
            }

            @Override
            public boolean restoreStopsVm(String namespace, String name) {
              return false;
            }
          };
      VmMutator m = new VmMutator(loading, KUBEVIRT, RebootPolicyGate.CLOSED);
      Verdict.Deny deny =
          denied(
              m.review(
                  new AdmissionInput(
                      Operation.CREATE, "team-a", "db", vm("db", null, ""), null, false)));
      assertThat(deny.code()).isEqualTo(503);
      assertThat(deny.cause()).isEqualTo("defaults-not-loaded");
      assertThat(deny.message()).contains("retry").contains("vmpower.io/run-policy");
      allowed(
          m.review(
              new AdmissionInput(
                  Operation.CREATE, "team-a", "db", vm("db", "Manual", ""), null, false)));
    }
  }

  @Nested
  class MaintenanceMode {
    @ParameterizedTest(name = "{0}: runStrategy {1} let through in maintenance")
    @CsvSource({
      "AlwaysOn, Halted",
      "AlwaysOff, Always",
      "Manual, Always",
      "AlwaysOnUnlessStoppedManually, Halted"
    })
    void anyRunStrategyPassesWhileInMaintenance(String policy, String strategy) {
      ObjectNode inMaintenance = with(stored("db", policy), "vmpower.io/maintenance", "true");
      Verdict.Allow allow =
          allowed(update("team-b", inMaintenance, withStrategy(inMaintenance, strategy), USER));
      assertThat(text(allow.object(), "/spec/runStrategy")).isEqualTo(strategy);
      assertThat(allow.decision()).isEqualTo("unchanged");
    }

    @ParameterizedTest(name = "{0}: setting maintenance and stopping in one write")
    @CsvSource({"AlwaysOn, Halted", "AlwaysOff, Always"})
    void maintenanceAndThePowerChangeInOneWrite(String policy, String strategy) {
      ObjectNode old = stored("db", policy);
      ObjectNode changed = withStrategy(with(old, "vmpower.io/maintenance", "true"), strategy);
      assertThat(text(allowed(update("team-b", old, changed, USER)).object(), "/spec/runStrategy"))
          .isEqualTo(strategy);
    }

    @ParameterizedTest(name = "{0}: maintenance removed → runStrategy {1} again")
    @CsvSource({
      "AlwaysOn, Always, Halted",
      "AlwaysOff, Halted, Always",
      "Manual, Manual, Always",
      "AlwaysOnUnlessStoppedManually, Manual, Halted"
    })
    void removingMaintenanceRestoresThePolicysRunStrategy(
        String policy, String strategy, String during) {
      ObjectNode inMaintenance =
          withStrategy(
              with(
                  with(stored("db", policy), "vmpower.io/maintenance", "true"),
                  "vmpower.io/maintenance-reason",
                  "disk swap"),
              during);
      Verdict.Allow allow =
          allowed(
              update(
                  "team-b",
                  inMaintenance,
                  with(inMaintenance, "vmpower.io/maintenance", null),
                  USER));
      assertThat(text(allow.object(), "/spec/runStrategy")).isEqualTo(strategy);
      assertThat(text(allow.object(), REASON)).isNull();
      assertThat(allow.warnings())
          .contains(
              "vmpower.io/maintenance ended: spec.runStrategy is "
                  + strategy
                  + " again (run policy "
                  + policy
                  + ")");
      // "false" ends it the same way
      Verdict.Allow off =
          allowed(
              update(
                  "team-b",
                  inMaintenance,
                  with(inMaintenance, "vmpower.io/maintenance", "false"),
                  USER));
      assertThat(text(off.object(), "/spec/runStrategy")).isEqualTo(strategy);
    }

    @Test
    void anInvalidMaintenanceValueIsDenied() {
      ObjectNode old = stored("db", "AlwaysOn");
      Verdict.Deny deny =
          denied(update("team-b", old, with(old, "vmpower.io/maintenance", "yes"), USER));
      assertThat(deny.code()).isEqualTo(422);
      assertThat(deny.cause()).isEqualTo("invalid-maintenance");
      assertThat(deny.message())
          .isEqualTo(
              "metadata.annotations[vmpower.io/maintenance]: Unsupported value: \"yes\":"
                  + " supported values: \"true\", \"false\"");
    }

    @Test
    void labelsAreKeptUpInMaintenance() {
      ObjectNode vm =
          with(vm("db", "AlwaysOn", "runStrategy: Halted"), "vmpower.io/maintenance", "true");
      Verdict.Allow allow = allowed(create("team-b", vm));
      assertThat(text(allow.object(), "/spec/runStrategy")).isEqualTo("Halted");
      assertThat(text(allow.object(), LABEL)).isEqualTo("AlwaysOn");
      assertThat(text(allow.object(), VM_LABEL)).isEqualTo("AlwaysOn");
    }
  }

  @Nested
  class KubeVirtWrites {
    @Test
    void virtControllerHaltingAMigratedSourcePutsItIntoMaintenance() {
      ObjectNode old = stored("db", "AlwaysOn");
      Verdict.Allow allow = allowed(update("team-b", old, withStrategy(old, "Halted"), CONTROLLER));
      assertThat(text(allow.object(), "/spec/runStrategy")).isEqualTo("Halted");
      assertThat(text(allow.object(), MAINTENANCE)).isEqualTo("true");
      assertThat(text(allow.object(), REASON)).isEqualTo(RunStrategyRules.MIGRATED_AWAY);
      assertThat(allow.warnings())
          .containsExactly("vmpower.io/maintenance=true set: " + RunStrategyRules.MIGRATED_AWAY);
      assertThat(allow.warnings()).allSatisfy(w -> assertThat(w).hasSizeLessThan(120));
      // and a later write of the VM keeps it halted
      ObjectNode halted = (ObjectNode) allow.object();
      ObjectNode later = halted.deepCopy();
      ((ObjectNode) later.at("/metadata")).putArray("finalizers");
      assertThat(
              text(
                  allowed(update("team-b", halted, later, CONTROLLER)).object(),
                  "/spec/runStrategy"))
          .isEqualTo("Halted");
    }

    @Test
    void theSameWriteByAnotherUserIsRefused() {
      ObjectNode old = stored("db", "AlwaysOn");
      // KubeVirt of another namespace than the configured one is nobody special
      RequestUser upstream =
          new RequestUser(KubeVirtAccounts.DEFAULT.controller(), List.of("system:serviceaccounts"));
      for (RequestUser user : List.of(USER, upstream)) {
        assertThat(denied(update("team-b", old, withStrategy(old, "Halted"), user)).cause())
            .isEqualTo("power-change");
      }
    }

    @Test
    void virtApisStopForARestoreIsLetThroughIntoMaintenance() {
      ObjectNode old = stored("restored", "AlwaysOn");
      Verdict.Allow allow = allowed(update("team-a", old, withStrategy(old, "Halted"), VIRT_API));
      assertThat(text(allow.object(), "/spec/runStrategy")).isEqualTo("Halted");
      assertThat(text(allow.object(), MAINTENANCE)).isEqualTo("true");
      assertThat(text(allow.object(), REASON)).isEqualTo(RunStrategyRules.RESTORE_STOP);
    }

    @Test
    void virtApisStopWithoutARestoreIsAUsersVirtctlStopAndRefused() {
      ObjectNode old = stored("db", "AlwaysOn");
      Verdict.Deny deny = denied(update("team-a", old, withStrategy(old, "Halted"), VIRT_API));
      assertThat(deny.message()).contains("vmpower.io/maintenance=true");
    }

    @Test
    void virtApisStartOfAnAlwaysOffVmIsRefusedNamingMaintenance() {
      ObjectNode old = stored("db", "AlwaysOff");
      Verdict.Deny deny = denied(update("team-b", old, withStrategy(old, "Always"), VIRT_API));
      assertThat(deny.message())
          .contains("refusing spec.runStrategy: Always")
          .contains("kubectl annotate vm NAME vmpower.io/maintenance=true");
    }

    @Test
    void virtControllersPausedStartOfAnAlwaysOffVmIsRefusedLikeVirtctlStart() {
      ObjectNode old = stored("db", "AlwaysOff");
      Verdict.Deny deny = denied(update("team-b", old, withStrategy(old, "Always"), CONTROLLER));
      assertThat(deny.message()).contains("To start it").contains("vmpower.io/maintenance=true");
    }

    @Test
    void aVmARestoreCreatesStoppedStaysStoppedInMaintenance() {
      ObjectNode restored =
          with(
              vm("copy", "AlwaysOn", "runStrategy: Halted"),
              "restore.kubevirt.io/lastRestoreUID",
              "r-1");
      Verdict.Allow allow =
          allowed(
              mutator.review(
                  new AdmissionInput(
                      Operation.CREATE, "team-b", "copy", restored, null, false, CONTROLLER)));
      assertThat(text(allow.object(), "/spec/runStrategy")).isEqualTo("Halted");
      assertThat(text(allow.object(), MAINTENANCE)).isEqualTo("true");
      assertThat(text(allow.object(), REASON)).isEqualTo(RunStrategyRules.RESTORED_STOPPED);
      // a user's create of the same VM, or KubeVirt's without a restore, follows the policy
      assertThat(text(allowed(create("team-b", restored)).object(), "/spec/runStrategy"))
          .isEqualTo("Always");
      ObjectNode pooled = vm("copy", "AlwaysOn", "runStrategy: Halted");
      assertThat(
              text(
                  allowed(
                          mutator.review(
                              new AdmissionInput(
                                  Operation.CREATE,
                                  "team-b",
                                  "copy",
                                  pooled,
                                  null,
                                  false,
                                  CONTROLLER)))
                      .object(),
                  "/spec/runStrategy"))
          .isEqualTo("Always");
    }

    @ParameterizedTest(name = "{0}: created as a migration target")
    @CsvSource({
      "AlwaysOn, Always",
      "AlwaysOff, Halted",
      "Manual, Manual",
      "AlwaysOnUnlessStoppedManually, Manual"
    })
    void aMigrationTargetKeepsWaitAsReceiverAndWillRestoreThePolicys(
        String policy, String strategy) {
      Verdict.Allow allow =
          allowed(create("team-b", vm("db", policy, "runStrategy: WaitAsReceiver")));
      assertThat(text(allow.object(), "/spec/runStrategy")).isEqualTo("WaitAsReceiver");
      assertThat(text(allow.object(), RESTORE)).isEqualTo(strategy);
      assertThat(text(allow.object(), LABEL)).isEqualTo(policy);
      assertThat(text(allow.object(), PENDING)).isNull();
    }

    @Test
    void aRestoreRunStrategyOtherThanThePolicysIsReplacedWithAWarning() {
      ObjectNode vm =
          with(
              vm("db", "Manual", "runStrategy: WaitAsReceiver"),
              "kubevirt.io/restore-run-strategy",
              "Always");
      Verdict.Allow allow = allowed(create("team-b", vm));
      assertThat(text(allow.object(), RESTORE)).isEqualTo("Manual");
      assertThat(allow.warnings())
          .containsExactly(
              "kubevirt.io/restore-run-strategy set to Manual, the runStrategy of run policy"
                  + " Manual");
    }

    @Test
    void writesWhileReceivingKeepWaitAsReceiver() {
      ObjectNode receiving =
          (ObjectNode)
              allowed(create("team-b", vm("db", "AlwaysOn", "runStrategy: WaitAsReceiver")))
                  .object();
      ObjectNode later = receiving.deepCopy();
      ((ObjectNode) later.at("/metadata"))
          .putArray("finalizers")
          .add("kubevirt.io/virtualMachineControllerFinalize");
      Verdict.Allow allow = allowed(update("team-b", receiving, later, CONTROLLER));
      assertThat(text(allow.object(), "/spec/runStrategy")).isEqualTo("WaitAsReceiver");
      assertThat(allow.decision()).isEqualTo("unchanged");
    }

    @Test
    void theRunStrategyRestoredAfterReceivingIsThePolicys() {
      ObjectNode receiving =
          (ObjectNode)
              allowed(create("team-b", vm("db", "Manual", "runStrategy: WaitAsReceiver"))).object();
      // as virt-controller restores it from the annotation
      Verdict.Allow same =
          allowed(update("team-b", receiving, withStrategy(receiving, "Manual"), CONTROLLER));
      assertThat(same.decision()).isEqualTo("unchanged");
      // whatever the restored value, leaving WaitAsReceiver lands on the policy's
      Verdict.Allow other =
          allowed(update("team-b", receiving, withStrategy(receiving, "Always"), CONTROLLER));
      assertThat(text(other.object(), "/spec/runStrategy")).isEqualTo("Manual");
    }

    @Test
    void movingAnExistingVmIntoWaitAsReceiverIsAPowerChange() {
      ObjectNode old = stored("db", "Manual");
      assertThat(denied(update("team-b", old, withStrategy(old, "WaitAsReceiver"), USER)).message())
          .contains("refusing spec.runStrategy: WaitAsReceiver");
    }
  }

  @Nested
  class Labels {
    @Test
    void unmanagingRemovesTheVmLabelToo() {
      ObjectNode old = stored("db", "Manual");
      assertThat(text(old, VM_LABEL)).isEqualTo("Manual");
      Verdict.Allow allow =
          allowed(update("team-b", old, with(old, "vmpower.io/run-policy", null), USER));
      assertThat(text(allow.object(), VM_LABEL)).isNull();
      assertThat(text(allow.object(), "/metadata/labels/app")).isEqualTo("database");
    }

    @Test
    void changingThePolicyMovesTheVmLabel() {
      ObjectNode old = stored("db", "Manual");
      Verdict.Allow allow =
          allowed(update("team-b", old, with(old, "vmpower.io/run-policy", "AlwaysOff"), USER));
      assertThat(text(allow.object(), VM_LABEL)).isEqualTo("AlwaysOff");
    }

    @Test
    void vmLabelsThatAreNotAnObjectAreMalformed() {
      ObjectNode vm = vm("db", "AlwaysOn", "");
      ((ObjectNode) vm.get("metadata")).put("labels", "x");
      Verdict.Deny deny = denied(create("team-b", vm));
      assertThat(deny.code()).isEqualTo(400);
      assertThat(deny.message()).isEqualTo("metadata.labels must be an object, got string");
    }
  }
}
