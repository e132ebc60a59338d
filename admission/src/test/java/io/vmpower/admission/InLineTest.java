package io.vmpower.admission;

import static io.vmpower.admission.testing.Manifests.vm;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.fge.jsonpatch.JsonPatch;
import io.vmpower.api.KubeVirtAccounts;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The controller's check of stored VMs, with the webhook's rules. */
class InLineTest {
  static final ClusterView CLUSTER = ClusterView.fixed(Map.of("team-d", "AlwaysOff"));

  /** What the controller checks stored VMs with. */
  final VmMutator vms = VmMutator.forStoredVms(CLUSTER, KubeVirtAccounts.DEFAULT);

  InLine.Result check(String namespace, ObjectNode vm) {
    return InLine.check(vms, namespace, "db", vm);
  }

  InLine.Misaligned misaligned(String namespace, ObjectNode vm) throws Exception {
    InLine.Result r = check(namespace, vm);
    assertThat(r).isInstanceOf(InLine.Misaligned.class);
    InLine.Misaligned m = (InLine.Misaligned) r;
    // the patch turns the stored VM into the desired one
    assertThat(JsonPatch.fromJson(m.patch()).apply(vm)).isEqualTo(m.desired());
    return m;
  }

  static String text(com.fasterxml.jackson.databind.JsonNode node, String pointer) {
    var value = node.at(pointer);
    return value.isMissingNode() ? null : value.asText();
  }

  @Test
  void aVmTheWebhookStoredIsInLine() throws Exception {
    ObjectNode stored =
        (ObjectNode)
            ((io.vmpower.api.admission.Verdict.Allow)
                    vms.review(
                        new io.vmpower.api.admission.AdmissionInput(
                            io.vmpower.api.admission.Operation.CREATE,
                            "team-b",
                            "db",
                            vm("db", "Manual", "running: true"),
                            null,
                            false)))
                .object();
    assertThat(check("team-b", stored)).isInstanceOf(InLine.Consistent.class);
  }

  @Test
  void theNativeRebootPolicyIsLeftToTheVmsOwnNextWrite() {
    // stored by the webhook while KubeVirt's RebootPolicy gate was open
    VmMutator openGate = new VmMutator(CLUSTER, KubeVirtAccounts.DEFAULT, () -> true);
    ObjectNode stored =
        (ObjectNode)
            ((io.vmpower.api.admission.Verdict.Allow)
                    openGate.review(
                        new io.vmpower.api.admission.AdmissionInput(
                            io.vmpower.api.admission.Operation.CREATE,
                            "team-b",
                            "db",
                            vm("db", "Manual", "runStrategy: Manual"),
                            null,
                            false)))
                .object();
    assertThat(text(stored, "/spec/template/spec/domain/rebootPolicy")).isEqualTo("Terminate");
    // the gate closed since: the webhook takes vmpower's Terminate back on the VM's next write...
    VmMutator closedGate =
        new VmMutator(CLUSTER, KubeVirtAccounts.DEFAULT, RebootPolicyGate.CLOSED);
    assertThat(InLine.check(closedGate, "team-b", "db", stored))
        .isInstanceOf(InLine.Misaligned.class);
    // ...but the controller does not patch every stored VM for it
    assertThat(check("team-b", stored)).isInstanceOf(InLine.Consistent.class);
    // nor adds it to a VM stored while the gate was closed
    ObjectNode without = stored.deepCopy();
    ((ObjectNode) without.at("/spec/template/spec/domain")).remove("rebootPolicy");
    ((ObjectNode) without.at("/metadata/annotations")).remove("vmpower.io/native-reboot-policy");
    assertThat(check("team-b", without)).isInstanceOf(InLine.Consistent.class);
  }

  @Test
  void aVmAnnotatedBehindTheWebhooksBackIsTreatedAsSwitchingIntoItsPolicy() throws Exception {
    // annotated while the namespace was not enabled: no label, the user's runStrategy
    ObjectNode stored = vm("db", "AlwaysOnUnlessStoppedManually", "runStrategy: Halted");
    InLine.Misaligned m = misaligned("team-b", stored);
    assertThat(text(m.desired(), "/spec/runStrategy")).isEqualTo("Manual");
    assertThat(text(m.desired(), "/metadata/annotations/vmpower.io~1start-pending"))
        .isEqualTo("true");
    assertThat(text(m.desired(), "/spec/template/metadata/labels/vmpower.io~1run-policy"))
        .isEqualTo("AlwaysOnUnlessStoppedManually");
    assertThat(m.onlyLabels()).isFalse();
    assertThat(m.changes())
        .contains(
            "spec.runStrategy → Manual",
            "metadata.annotations[vmpower.io/start-pending] = true",
            "spec.template.metadata.labels[vmpower.io/run-policy] = AlwaysOnUnlessStoppedManually");
  }

  @Test
  void aDriftedRunStrategyIsPutBackWithoutAFirstStart() throws Exception {
    ObjectNode stored = vm("db", "AlwaysOnUnlessStoppedManually", "runStrategy: Always");
    ((ObjectNode) stored.at("/spec/template/metadata/labels"))
        .put("vmpower.io/run-policy", "AlwaysOnUnlessStoppedManually");
    ((ObjectNode) stored.at("/metadata/labels"))
        .put("vmpower.io/run-policy", "AlwaysOnUnlessStoppedManually");
    InLine.Misaligned m = misaligned("team-b", stored);
    assertThat(m.changes()).containsExactly("spec.runStrategy → Manual");
  }

  @Test
  void onlyTheVmLabelMissingIsALabelOnlyChange() throws Exception {
    ObjectNode stored = vm("db", "Manual", "runStrategy: Manual");
    ((ObjectNode) stored.at("/spec/template/metadata/labels"))
        .put("vmpower.io/run-policy", "Manual");
    InLine.Misaligned m = misaligned("team-b", stored);
    assertThat(m.onlyLabels()).isTrue();
    assertThat(m.changes()).containsExactly("metadata.labels[vmpower.io/run-policy] = Manual");
  }

  @Test
  void aNamespaceDefaultSetAfterTheVmExistedIsStamped() throws Exception {
    ObjectNode stored = vm("db", null, "runStrategy: Always");
    InLine.Misaligned m = misaligned("team-d", stored);
    assertThat(text(m.desired(), "/metadata/annotations/vmpower.io~1run-policy"))
        .isEqualTo("AlwaysOff");
    assertThat(text(m.desired(), "/spec/runStrategy")).isEqualTo("Halted");
    assertThat(m.warnings())
        .contains("vmpower.io/run-policy=AlwaysOff: the default of namespace team-d");
  }

  @Test
  void aVmInMaintenanceKeepsItsRunStrategy() throws Exception {
    ObjectNode stored = vm("db", "AlwaysOn", "runStrategy: Halted");
    stored.withObject("/metadata/annotations").put("vmpower.io/maintenance", "true");
    InLine.Misaligned m = misaligned("team-b", stored);
    assertThat(text(m.desired(), "/spec/runStrategy")).isEqualTo("Halted");
    assertThat(m.changes()).noneMatch(c -> c.startsWith("spec.runStrategy"));
  }

  @Test
  void anUnannotatedVmOutsideADefaultedNamespaceIsNotOurs() throws Exception {
    assertThat(check("team-b", vm("db", null, "runStrategy: Always")))
        .isInstanceOf(InLine.Consistent.class);
  }

  @Test
  void aStaleLabelOfAnUnmanagedVmIsRemoved() throws Exception {
    ObjectNode stored = vm("db", null, "runStrategy: Always");
    ((ObjectNode) stored.at("/spec/template/metadata/labels"))
        .put("vmpower.io/run-policy", "Manual");
    InLine.Misaligned m = misaligned("team-b", stored);
    assertThat(text(m.desired(), "/spec/template/metadata/labels/vmpower.io~1run-policy")).isNull();
    assertThat(text(m.desired(), "/spec/runStrategy")).isEqualTo("Always");
  }

  @Test
  void anInvalidPolicyOnAStoredVmIsRefusedWithTheWebhooksMessage() throws Exception {
    InLine.Result r = check("team-b", vm("db", "Sometimes", "runStrategy: Always"));
    assertThat(r).isInstanceOf(InLine.Refused.class);
    assertThat(((InLine.Refused) r).message()).contains("Unsupported value: \"Sometimes\"");
  }
}
