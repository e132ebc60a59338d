package io.vmpower.webhook.cluster;

import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.vmpower.api.ResourceType;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The webhook learns KubeVirt's RebootPolicy gate from the KubeVirt CR, and follows its changes.
 */
class KubeVirtRebootPolicyGateTest {
  private static final CustomResourceDefinitionContext KUBEVIRTS =
      new CustomResourceDefinitionContext.Builder()
          .withGroup(ResourceType.KUBEVIRT.group())
          .withVersion(ResourceType.KUBEVIRT.version())
          .withKind(ResourceType.KUBEVIRT.kind())
          .withPlural(ResourceType.KUBEVIRT.plural())
          .withScope("Namespaced")
          .build();

  private KubernetesMockServer server;
  private KubernetesClient client;

  @BeforeEach
  void server() {
    server =
        new KubernetesMockServer(
            new Context(),
            new MockWebServer(),
            new HashMap<>(),
            new KubernetesCrudDispatcher(List.of(KUBEVIRTS)),
            false);
    server.init();
    client = server.createClient();
  }

  @AfterEach
  void stop() {
    client.close();
    server.destroy();
  }

  private GenericKubernetesResource kubevirt(String version, List<String> gates) {
    return new GenericKubernetesResourceBuilder()
        .withApiVersion("kubevirt.io/v1")
        .withKind("KubeVirt")
        .withNewMetadata()
        .withNamespace("kubevirt")
        .withName("kubevirt")
        .endMetadata()
        .withAdditionalProperties(
            Map.of(
                "spec",
                Map.of(
                    "configuration",
                    Map.of("developerConfiguration", Map.of("featureGates", gates))),
                "status",
                Map.of("observedKubeVirtVersion", version, "targetKubeVirtVersion", version)))
        .build();
  }

  @Test
  void followsTheKubeVirtCr() {
    try (KubeVirtRebootPolicyGate gate = KubeVirtRebootPolicyGate.start(client)) {
      // No CR: closed.
      await()
          .during(Duration.ofMillis(300))
          .atMost(Duration.ofSeconds(2))
          .until(() -> !gate.open());
      var kubevirts = client.genericKubernetesResources(KUBEVIRTS).inNamespace("kubevirt");
      kubevirts.resource(kubevirt("v1.8.4", List.of())).create();
      await()
          .during(Duration.ofMillis(300))
          .atMost(Duration.ofSeconds(2))
          .until(() -> !gate.open());
      kubevirts.resource(kubevirt("v1.8.4", List.of("RebootPolicy"))).update();
      await().atMost(Duration.ofSeconds(5)).until(gate::open);
      kubevirts.withName("kubevirt").delete();
      await().atMost(Duration.ofSeconds(5)).until(() -> !gate.open());
      // 1.9: on by default, nothing listed.
      kubevirts.resource(kubevirt("v1.9.0", List.of())).create();
      await().atMost(Duration.ofSeconds(5)).until(gate::open);
    }
  }
}
