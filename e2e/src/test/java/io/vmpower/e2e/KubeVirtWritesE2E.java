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
 * KubeVirt's own writes of {@code spec.runStrategy} and what vmpower's VM webhook answers them, as
 * issue 15 decided (README, "KubeVirt's own runStrategy writes"): virt-api's stop of a restore
 * target is let through and the VM put into maintenance; virt-controller's runStrategy write for a
 * paused start of an AlwaysOff VM stays refused, like {@code virtctl start}, with the maintenance
 * annotation as the way around. The writes that need a second cluster (a decentralized live
 * migration) are made as KubeVirt's ServiceAccounts in {@code FleetE2E}.
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
   * with a start request). vmpower denies that write for an AlwaysOff VM, as it denies {@code
   * virtctl start}: the request stays pending and virt-controller retries it for as long as the
   * request is there; with the VM in maintenance the retry goes through.
   */
  @Test
  void virtControllersRunStrategyWriteForAPausedStartIsRefusedUntilMaintenance() {
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
    assertThat(Suite.env().reviews(NS, "paused-start"))
        .as("the denial's message names the way around")
        .anyMatch(
            l ->
                l.contains("\"decision\":\"denied\"")
                    && l.contains("kubectl annotate vm NAME vmpower.io/maintenance=true"));
    // the way around: maintenance, then virt-controller's retry goes through
    Kubectl annotate =
        Suite.env()
            .cluster
            .kubectl(
                null, "annotate", "vm", "paused-start", "-n", NS, "vmpower.io/maintenance=true");
    assertThat(annotate.exit()).as(annotate.toString()).isZero();
    Vms.awaitRunning(NS, "paused-start");
    assertThat(Vms.spec(Suite.env().vm(NS, "paused-start"), "runStrategy")).isEqualTo("Always");
  }

  /**
   * A VirtualMachineRestore with {@code targetReadinessPolicy: StopTarget}: virt-controller's
   * restore controller calls the VM's stop subresource and virt-api patches runStrategy Halted on
   * its behalf. For an AlwaysOn VM vmpower lets that through — it knows the restore from its cache
   * of VirtualMachineRestores — and puts the VM into maintenance, so the restore stops and restores
   * it; removing the annotation afterwards gives it runStrategy Always again and KubeVirt starts
   * it.
   */
  @Test
  void restoreThatStopsItsTargetIsLetThroughIntoMaintenance() {
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
        "restore complete",
        Duration.ofSeconds(90),
        () -> Boolean.TRUE.equals(restore().get("status", "complete")));
    assertThat(vmWrites("restored", VIRT_API))
        .as("virt-api's runStrategy patch for the restore, let through")
        .anyMatch(e -> "patch".equals(e.verb()) && e.code() == 200);
    GenericKubernetesResource vm = Suite.env().vm(NS, "restored");
    assertThat(Vms.spec(vm, "runStrategy")).isEqualTo("Halted");
    assertThat(Vms.annotation(vm, "vmpower.io/maintenance")).isEqualTo("true");
    assertThat(Vms.annotation(vm, "vmpower.io/maintenance-reason"))
        .isEqualTo("KubeVirt stopped the VM for a VirtualMachineRestore with StopTarget");
    assertThat(Vms.templateLabel(vm, "vmpower.io/run-policy")).isEqualTo("AlwaysOn");
    GenericKubernetesResource stopped = Suite.env().vmi(NS, "restored");
    assertThat(
            stopped == null || !stopped.getMetadata().getUid().equals(vmi.getMetadata().getUid()))
        .as("the restore stopped the VM")
        .isTrue();

    // a restore into a new VM: KubeVirt creates it Halted, and vmpower keeps it so
    apply(
        """
        apiVersion: snapshot.kubevirt.io/v1beta1
        kind: VirtualMachineRestore
        metadata:
          name: restored-copy-restore
          namespace: %s
        spec:
          target:
            apiGroup: kubevirt.io
            kind: VirtualMachine
            name: restored-copy
          virtualMachineSnapshotName: restored-snapshot
        """
            .formatted(NS));
    Suite.await(
        "the restore's new VM",
        Duration.ofSeconds(90),
        () -> Suite.env().vm(NS, "restored-copy") != null);
    GenericKubernetesResource copy = Suite.env().vm(NS, "restored-copy");
    assertThat(Vms.spec(copy, "runStrategy")).isEqualTo("Halted");
    // the reason is set only for a create by virt-controller carrying the restore's annotation
    assertThat(Vms.annotation(copy, "vmpower.io/maintenance-reason"))
        .isEqualTo("KubeVirt created the VM stopped, from a restore");
    assertThat(Suite.env().vmi(NS, "restored-copy")).isNull();

    // after the restore: out of maintenance, the policy's runStrategy again, KubeVirt starts it
    Kubectl over =
        Suite.env()
            .cluster
            .kubectl(null, "annotate", "vm", "restored", "-n", NS, "vmpower.io/maintenance-");
    assertThat(over.exit()).as(over.toString()).isZero();
    assertThat(Vms.spec(Suite.env().vm(NS, "restored"), "runStrategy")).isEqualTo("Always");
    Vms.awaitRunning(NS, "restored", vmi.getMetadata().getUid());
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
