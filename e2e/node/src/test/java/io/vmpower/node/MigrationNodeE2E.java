package io.vmpower.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Live migration on a single node: KubeVirt gives the migration target pod a required pod
 * anti-affinity on the node's hostname against the VMI's own pods ({@code
 * createMigrationPodAntiAffinityRule} in {@code pkg/virt-controller/watch/migration/migration.go},
 * v1.8.4), so the target cannot be scheduled next to the source and the VMI stays where it is. The
 * scheduler reports the first filter that fails, here the target's node selector (the host-model
 * CPU labels KubeVirt asks of a migration target, printed by the test); the anti-affinity refuses
 * the only node in any case.
 */
@ExtendWith(Node.class)
@Order(3)
class MigrationNodeE2E {
  private static final String NS = "node-migration";

  @Test
  void theTargetPodCannotBeScheduledOnTheOnlyNode() {
    Node.Env env = Node.env();
    KubernetesClient client = env.client;
    Guests.enabledNamespace(client, NS);
    String vm = "migrates";
    env.kubectlApply(Guests.vm(NS, vm, "AlwaysOn", "wait", 0, "m"));
    GenericKubernetesResource vmi = Guests.awaitRunning(client, NS, vm, "");
    env.virtctl("migrate", vm, "-n", NS);
    Pod target =
        await()
            .atMost(Duration.ofMinutes(2))
            .until(
                () ->
                    client
                        .pods()
                        .inNamespace(NS)
                        .withLabel("kubevirt.io/created-by", vmi.getMetadata().getUid())
                        .withLabel("kubevirt.io/migrationJobUID")
                        .list()
                        .getItems()
                        .stream()
                        .filter(p -> unschedulable(p).isPresent())
                        .findFirst(),
                Optional::isPresent)
            .orElseThrow();
    Node.say(
        "migration target %s unschedulable: %s; node selector %s, node affinity %s",
        target.getMetadata().getName(),
        unschedulable(target).orElseThrow(),
        target.getSpec().getNodeSelector(),
        target.getSpec().getAffinity().getNodeAffinity());
    // KubeVirt's rule: never next to the VMI's own pods on the same host.
    assertThat(
            target
                .getSpec()
                .getAffinity()
                .getPodAntiAffinity()
                .getRequiredDuringSchedulingIgnoredDuringExecution())
        .anySatisfy(
            term -> {
              assertThat(term.getTopologyKey()).isEqualTo("kubernetes.io/hostname");
              assertThat(term.getLabelSelector().getMatchLabels())
                  .containsEntry("kubevirt.io/created-by", vmi.getMetadata().getUid());
            });
    assertThat(Guests.phase(Guests.vmi(client, NS, vm))).isEqualTo("Running");
    env.kubectl("delete", "vmim", "--all", "-n", NS, "--wait=true");
    env.kubectl("delete", "vm", vm, "-n", NS, "--wait=true");
  }

  private static Optional<String> unschedulable(Pod pod) {
    if (pod.getStatus() == null || pod.getStatus().getConditions() == null) {
      return Optional.empty();
    }
    return pod.getStatus().getConditions().stream()
        .filter(c -> "PodScheduled".equals(c.getType()) && "False".equals(c.getStatus()))
        .map(PodCondition::getMessage)
        .findFirst();
  }
}
