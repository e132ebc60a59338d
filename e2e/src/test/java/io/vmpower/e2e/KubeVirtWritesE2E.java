package io.vmpower.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.vmpower.e2e.TestCluster.Kubectl;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * KubeVirt's own writes of {@code spec.runStrategy} and what vmpower's VM webhook answers them.
 * Both scenarios assert today's behaviour, which is a deliberate refusal by the webhook's rules (a
 * change of runStrategy against the policy is denied, whoever asks); the product decision on
 * KubeVirt's own writes belongs to issue 15, and e2e/README.md ("Findings") says how to get around
 * it.
 */
@Order(7)
@ExtendWith(Suite.class)
class KubeVirtWritesE2E {
  static final String NS = Suite.ENABLED_NS;
  static final String CONTROLLER = "system:serviceaccount:kubevirt:kubevirt-controller";
  static final String VIRT_API = "system:serviceaccount:kubevirt:kubevirt-apiserver";

  static List<AuditLog.Entry> vmWrites(String vm, String user) {
    return Suite.env().cluster.audit().requests(NS, vm, "virtualmachines", null).stream()
        .filter(e -> user.equals(e.user()))
        .toList();
  }

  /**
   * {@code virtctl start --paused} on a Halted VM: virt-api records a paused start request, and
   * virt-controller then sets runStrategy Always itself (vm.go, syncRunStrategy, RunStrategyHalted
   * with a start request). vmpower denies that write for an AlwaysOff VM, so the request stays
   * pending and virt-controller retries it for as long as the request is there.
   */
  @Test
  void virtControllersRunStrategyWriteForAPausedStartIsDenied() {
    Vms.create(NS, "paused-start", "AlwaysOff", "");
    VirtctlE2E.awaitNoVmi("paused-start");
    Kubectl start = Suite.env().kubevirt.virtctl("start", "paused-start", "--paused", "-n", NS);
    assertThat(start.exit()).as("virt-api accepts the request: " + start).isZero();
    Suite.await(
        "virt-controller's update of runStrategy, denied",
        Duration.ofSeconds(30),
        () ->
            vmWrites("paused-start", CONTROLLER).stream()
                .anyMatch(e -> "update".equals(e.verb()) && e.code() == 403));
    GenericKubernetesResource vm = Suite.env().vm(NS, "paused-start");
    assertThat(Vms.spec(vm, "runStrategy")).isEqualTo("Halted");
    assertThat(nonEmpty(vm.get("status", "stateChangeRequests")))
        .as("the start request stays pending")
        .isTrue();
    assertThat(Suite.env().vmi(NS, "paused-start")).isNull();
    // the way around: change the policy, then KubeVirt's write is the policy's own
    Kubectl annotate =
        Suite.env()
            .cluster
            .kubectl(
                null,
                "annotate",
                "vm",
                "paused-start",
                "-n",
                NS,
                "--overwrite",
                "vmpower.io/run-policy=AlwaysOn");
    assertThat(annotate.exit()).as(annotate.toString()).isZero();
    Vms.awaitRunning(NS, "paused-start");
  }

  /**
   * A VirtualMachineRestore with {@code targetReadinessPolicy: StopTarget}: virt-controller's
   * restore controller calls the VM's stop subresource, virt-api patches runStrategy Halted on its
   * behalf, and vmpower denies it for an AlwaysOn VM: virt-api answers 500 and the restore waits.
   * Changing the policy to Manual first lets the restore stop and restore the VM.
   */
  @Test
  void restoreThatStopsItsTargetIsDeniedForAnAlwaysOnVm() {
    GenericKubernetesResource vmi = ControllerE2E.running("restored", "AlwaysOn");
    apply(
        """
        apiVersion: snapshot.kubevirt.io/v1beta1
        kind: VirtualMachineSnapshot
        metadata:
          name: restored-snapshot
          namespace: %s
        spec:
          source:
            apiGroup: kubevirt.io
            kind: VirtualMachine
            name: restored
        """
            .formatted(NS));
    Suite.await(
        "snapshot ready",
        Duration.ofSeconds(60),
        () -> Boolean.TRUE.equals(snapshot().get("status", "readyToUse")));
    apply(
        """
        apiVersion: snapshot.kubevirt.io/v1beta1
        kind: VirtualMachineRestore
        metadata:
          name: restored-restore
          namespace: %s
        spec:
          target:
            apiGroup: kubevirt.io
            kind: VirtualMachine
            name: restored
          virtualMachineSnapshotName: restored-snapshot
          targetReadinessPolicy: StopTarget
        """
            .formatted(NS));
    Suite.await(
        "virt-api's runStrategy patch for the restore, denied",
        Duration.ofSeconds(60),
        () ->
            vmWrites("restored", VIRT_API).stream()
                .anyMatch(e -> "patch".equals(e.verb()) && e.code() == 403));
    assertThat(Suite.env().cluster.audit().requests(NS, "restored", "virtualmachines", "stop"))
        .as("the restore controller's stop, answered 500 by virt-api")
        .anyMatch(e -> CONTROLLER.equals(e.user()) && e.code() == 500);
    assertThat(Suite.env().vmi(NS, "restored").getMetadata().getUid())
        .isEqualTo(vmi.getMetadata().getUid());
    assertThat(restore().<Object>get("status", "complete")).isNotEqualTo(true);

    // the way around: a policy whose runStrategy the stop request does not change
    Kubectl annotate =
        Suite.env()
            .cluster
            .kubectl(
                null,
                "annotate",
                "vm",
                "restored",
                "-n",
                NS,
                "--overwrite",
                "vmpower.io/run-policy=Manual");
    assertThat(annotate.exit()).as(annotate.toString()).isZero();
    Suite.await(
        "restore complete",
        Duration.ofSeconds(90),
        () -> Boolean.TRUE.equals(restore().get("status", "complete")));
    GenericKubernetesResource vm = Suite.env().vm(NS, "restored");
    assertThat(Vms.spec(vm, "runStrategy")).isEqualTo("Manual");
    assertThat(Vms.templateLabel(vm, "vmpower.io/run-policy")).isEqualTo("Manual");
    VirtctlE2E.vmpowerStoodBack("restored");
  }

  private static void apply(String yaml) {
    Kubectl r = Suite.env().cluster.kubectl(yaml, "create", "-f", "-");
    assertThat(r.exit()).as(r.toString()).isZero();
  }

  private static GenericKubernetesResource snapshot() {
    return Suite.env()
        .client
        .genericKubernetesResources(KubeVirtKinds.SNAPSHOT)
        .inNamespace(NS)
        .withName("restored-snapshot")
        .get();
  }

  private static GenericKubernetesResource restore() {
    return Suite.env()
        .client
        .genericKubernetesResources(KubeVirtKinds.RESTORE)
        .inNamespace(NS)
        .withName("restored-restore")
        .get();
  }

  private static boolean nonEmpty(Object o) {
    return o instanceof Collection<?> c && !c.isEmpty();
  }
}
