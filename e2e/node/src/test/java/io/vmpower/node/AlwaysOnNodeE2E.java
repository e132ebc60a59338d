package io.vmpower.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * AlwaysOn on a real node: KubeVirt itself starts a new VMI when the guest reboots (the monitor
 * made QEMU exit instead of resetting in place); with vmpower's pods gone, a launcher pod is
 * created without the monitor (the pod webhook fails open) and, once vmpower is back, reported.
 */
@ExtendWith(Node.class)
@Order(4)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AlwaysOnNodeE2E {
  private static final String NS = "node-always-on";

  @BeforeAll
  static void namespace() {
    Guests.enabledNamespace(Node.env().client, NS);
  }

  @Test
  @Order(1)
  void guestRebootIsANewVmiStartedByKubeVirt() {
    Node.Env env = Node.env();
    KubernetesClient client = env.client;
    String vm = "always-on";
    env.kubectlApply(Guests.vm(NS, vm, "AlwaysOn", "reboot", 15, "a"));
    GenericKubernetesResource first = Guests.awaitRunning(client, NS, vm, "");
    Pod firstPod = Guests.launcherPod(client, NS, first.getMetadata().getUid());
    GenericKubernetesResource second =
        Guests.awaitRunning(client, NS, vm, first.getMetadata().getUid());
    Pod secondPod = Guests.launcherPod(client, NS, second.getMetadata().getUid());
    assertThat(secondPod.getMetadata().getName()).isNotEqualTo(firstPod.getMetadata().getName());
    Guests.awaitConsole(client, NS, secondPod.getMetadata().getName(), "vmpower-guest-up a");
    env.kubectl("delete", "vm", vm, "-n", NS, "--wait=true");
  }

  /** Last: stops vmpower's pods for a while. */
  @Test
  @Order(2)
  void withTheWebhookDownTheLauncherStartsUninjectedAndIsReported() {
    Node.Env env = Node.env();
    KubernetesClient client = env.client;
    String vm = "fail-open";
    env.kubectlApply(Guests.vm(NS, vm, "AlwaysOn", "wait", 0, "b"));
    GenericKubernetesResource first = Guests.awaitRunning(client, NS, vm, "");
    String deployment =
        env
            .client
            .apps()
            .deployments()
            .inNamespace(Node.RELEASE_NAMESPACE)
            .list()
            .getItems()
            .stream()
            .map(d -> d.getMetadata().getName())
            .filter(n -> n.contains(Node.RELEASE))
            .findFirst()
            .orElseThrow();
    String replicas =
        env.kubectl(
            "get",
            "deploy",
            deployment,
            "-n",
            Node.RELEASE_NAMESPACE,
            "-o",
            "jsonpath={.spec.replicas}");
    env.kubectl("scale", "deploy", deployment, "-n", Node.RELEASE_NAMESPACE, "--replicas=0");
    try {
      await()
          .atMost(Duration.ofMinutes(2))
          .until(
              () -> client.pods().inNamespace(Node.RELEASE_NAMESPACE).list().getItems().isEmpty());
      // KubeVirt replaces a deleted VMI of an Always VM; its pod meets no pod webhook.
      env.kubectl("delete", "vmi", vm, "-n", NS, "--wait=true");
      GenericKubernetesResource second =
          Guests.awaitRunning(client, NS, vm, first.getMetadata().getUid());
      Pod pod = Guests.launcherPod(client, NS, second.getMetadata().getUid());
      assertThat(pod.getMetadata().getAnnotations())
          .doesNotContainKey("vmpower.io/injection-status");
    } finally {
      env.kubectl(
          "scale", "deploy", deployment, "-n", Node.RELEASE_NAMESPACE, "--replicas=" + replicas);
    }
    await()
        .atMost(Duration.ofMinutes(3))
        .untilAsserted(
            () ->
                assertThat(Guests.vmEvents(client, NS, vm))
                    .extracting(Event::getReason)
                    .contains("PodNotInjected"));
    env.kubectl("delete", "vm", vm, "-n", NS, "--wait=true");
  }
}
