package io.vmpower.webhook.http;

import static io.vmpower.admission.testing.Manifests.vm;
import static io.vmpower.admission.testing.Reviews.as;
import static io.vmpower.admission.testing.Reviews.bytes;
import static io.vmpower.admission.testing.Reviews.inNamespace;
import static io.vmpower.admission.testing.Reviews.parse;
import static io.vmpower.admission.testing.Reviews.vmReview;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.fge.jsonpatch.JsonPatch;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.vmpower.admission.Webhooks;
import io.vmpower.api.ResourceType;
import io.vmpower.webhook.VmPowerApplication;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Issue 15's VM webhook rules over verified HTTPS, with the application connected to a (mock)
 * cluster: namespace defaults from its namespace cache, a VirtualMachineRestore from its restore
 * cache, KubeVirt's users from the configured KubeVirt namespace ({@code openshift-cnv}), and the
 * denial metric.
 */
class FleetAdmissionHttpsTest {
  static final String CONTROLLER = "system:serviceaccount:openshift-cnv:kubevirt-controller";
  static final String VIRT_API = "system:serviceaccount:openshift-cnv:kubevirt-apiserver";

  static KubernetesMockServer server;
  static KubernetesClient admin;
  static ConfigurableApplicationContext app;
  static VerifiedHttpsClient client;
  static int port;
  static int managementPort;

  static final ResourceDefinitionContext RESTORES =
      new CustomResourceDefinitionContext.Builder()
          .withGroup(ResourceType.VIRTUAL_MACHINE_RESTORE.group())
          .withVersion(ResourceType.VIRTUAL_MACHINE_RESTORE.version())
          .withKind(ResourceType.VIRTUAL_MACHINE_RESTORE.kind())
          .withPlural(ResourceType.VIRTUAL_MACHINE_RESTORE.plural())
          .withScope("Namespaced")
          .build();

  /** The CRUD mock server plus the /version answer the start-up probe asks for. */
  static final class ClusterDispatcher extends Dispatcher {
    private final KubernetesCrudDispatcher crud =
        new KubernetesCrudDispatcher(List.of((CustomResourceDefinitionContext) RESTORES));

    @Override
    public MockResponse dispatch(RecordedRequest request) {
      if ("/version".equals(request.getPath())) {
        return new MockResponse()
            .setResponseCode(200)
            .setBody("{\"major\":\"1\",\"minor\":\"34\",\"gitVersion\":\"v1.34.2\"}");
      }
      return crud.dispatch(request);
    }
  }

  @BeforeAll
  static void start() throws Exception {
    server =
        new KubernetesMockServer(
            new Context(), new MockWebServer(), new HashMap<>(), new ClusterDispatcher(), false);
    server.init();
    admin =
        new KubernetesClientBuilder().withConfig(server.createClient().getConfiguration()).build();
    namespace("team-a", Map.of("vmpower.io/default-run-policy", "AlwaysOn"));
    namespace("team-c", Map.of("vmpower.io/default-run-policy", "Sometimes"));
    namespace("team-d", Map.of());
    admin
        .genericKubernetesResources(RESTORES)
        .inNamespace("team-d")
        .resource(
            new GenericKubernetesResourceBuilder()
                .withApiVersion("snapshot.kubevirt.io/v1beta1")
                .withKind("VirtualMachineRestore")
                .withNewMetadata()
                .withName("restore-1")
                .withNamespace("team-d")
                .endMetadata()
                .withAdditionalProperties(
                    Map.of(
                        "spec",
                        Map.of(
                            "target",
                            Map.of(
                                "apiGroup", "kubevirt.io", "kind", "VirtualMachine", "name", "db"),
                            "virtualMachineSnapshotName",
                            "snap",
                            "targetReadinessPolicy",
                            "StopTarget")))
                .build())
        .create();

    Path certs = Files.createTempDirectory("vmpower-certs");
    System.setProperty("kubernetes.master", server.url("/"));
    System.setProperty("kubernetes.auth.tryKubeConfig", "false");
    System.setProperty("kubernetes.trust.certificates", "true");
    try {
      app =
          new SpringApplicationBuilder(VmPowerApplication.class)
              .run(
                  "--server.port=0",
                  "--management.server.port=0",
                  "--vmpower.tls.mode=local",
                  "--vmpower.tls.dir=" + certs,
                  "--vmpower.cluster.mode=enabled",
                  "--vmpower.controller.enabled=false",
                  "--vmpower.webhook.kubevirt-namespace=openshift-cnv");
    } finally {
      System.clearProperty("kubernetes.master");
      System.clearProperty("kubernetes.auth.tryKubeConfig");
      System.clearProperty("kubernetes.trust.certificates");
    }
    port = Integer.parseInt(app.getEnvironment().getProperty("local.server.port"));
    managementPort = Integer.parseInt(app.getEnvironment().getProperty("local.management.port"));
    client = new VerifiedHttpsClient(certs.resolve("ca.crt"));
    // ready only once the namespaces are loaded
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> management("/actuator/health/readiness").statusCode() == 200);
  }

  @AfterAll
  static void stop() {
    app.close();
    admin.close();
    server.destroy();
  }

  static void namespace(String name, Map<String, String> annotations) {
    admin
        .namespaces()
        .resource(
            new NamespaceBuilder()
                .withNewMetadata()
                .withName(name)
                .withLabels(Map.of("vmpower.io/enabled", "true"))
                .withAnnotations(annotations)
                .endMetadata()
                .build())
        .create();
  }

  static HttpResponse<String> management(String path) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://localhost:" + managementPort + path)).build(),
            HttpResponse.BodyHandlers.ofString());
  }

  static JsonNode send(ObjectNode review) throws Exception {
    HttpResponse<String> response =
        client.post(
            URI.create("https://localhost:" + port + Webhooks.VIRTUAL_MACHINES),
            "application/json",
            bytes(review));
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return parse(response.body()).path("response");
  }

  static JsonNode applied(JsonNode object, JsonNode response) throws Exception {
    if (!response.has("patch")) {
      return object;
    }
    JsonNode patch =
        parse(
            new String(
                Base64.getDecoder().decode(response.path("patch").asText()),
                StandardCharsets.UTF_8));
    return JsonPatch.fromJson(patch).apply(object);
  }

  /** The VM as the webhook stores it on CREATE in team-d (no default). */
  static ObjectNode stored(String policy) throws Exception {
    ObjectNode vm = vm("db", policy, "");
    ObjectNode stored =
        (ObjectNode)
            applied(vm, send(inNamespace(vmReview("c-" + policy, "CREATE", vm, null), "team-d")));
    stored.withObject("/metadata/annotations").remove("vmpower.io/start-pending");
    return stored;
  }

  static ObjectNode withStrategy(ObjectNode vm, String strategy) {
    ObjectNode copy = vm.deepCopy();
    ((ObjectNode) copy.get("spec")).put("runStrategy", strategy);
    return copy;
  }

  @Test
  void aVmWithoutItsOwnPolicyGetsTheNamespaceDefaultOnCreateAndUpdate() throws Exception {
    ObjectNode vm = vm("db", null, "running: true");
    JsonNode created = send(inNamespace(vmReview("d1", "CREATE", vm, null), "team-a"));
    JsonNode stored = applied(vm, created);
    assertThat(stored.at("/metadata/annotations/vmpower.io~1run-policy").asText())
        .isEqualTo("AlwaysOn");
    assertThat(stored.at("/spec/runStrategy").asText()).isEqualTo("Always");
    assertThat(stored.at("/metadata/labels/vmpower.io~1run-policy").asText()).isEqualTo("AlwaysOn");
    assertThat(created.path("warnings").toString())
        .contains("vmpower.io/run-policy=AlwaysOn: the default of namespace team-a");

    ObjectNode old = vm("db", null, "runStrategy: Halted");
    JsonNode updated = send(inNamespace(vmReview("d2", "UPDATE", old.deepCopy(), old), "team-a"));
    assertThat(applied(old, updated).at("/spec/runStrategy").asText()).isEqualTo("Always");

    // its own policy wins
    ObjectNode own = vm("db", "Manual", "");
    JsonNode overridden = send(inNamespace(vmReview("d3", "CREATE", own, null), "team-a"));
    assertThat(applied(own, overridden).at("/spec/runStrategy").asText()).isEqualTo("Manual");
  }

  @Test
  void anInvalidDefaultNeverBlocksAWrite() throws Exception {
    ObjectNode vm = vm("db", null, "running: true");
    JsonNode response = send(inNamespace(vmReview("i1", "CREATE", vm, null), "team-c"));
    assertThat(response.path("allowed").asBoolean()).isTrue();
    assertThat(response.has("patch")).isFalse();
    assertThat(response.path("warnings").get(0).asText())
        .isEqualTo(
            "namespace team-c: vmpower.io/default-run-policy \"Sometimes\" is no run policy,"
                + " ignored");
  }

  @Test
  void maintenanceLetsAStopThroughAndItsEndRestoresTheRunStrategy() throws Exception {
    ObjectNode old = stored("AlwaysOn");
    ObjectNode inMaintenance = old.deepCopy();
    inMaintenance.withObject("/metadata/annotations").put("vmpower.io/maintenance", "true");
    ObjectNode stopped = withStrategy(inMaintenance, "Halted");
    JsonNode response =
        send(inNamespace(vmReview("m1", "UPDATE", stopped, inMaintenance), "team-d"));
    assertThat(response.path("allowed").asBoolean()).isTrue();
    assertThat(applied(stopped, response).at("/spec/runStrategy").asText()).isEqualTo("Halted");

    ObjectNode ended = stopped.deepCopy();
    ended.withObject("/metadata/annotations").remove("vmpower.io/maintenance");
    JsonNode after = send(inNamespace(vmReview("m2", "UPDATE", ended, stopped), "team-d"));
    assertThat(applied(ended, after).at("/spec/runStrategy").asText()).isEqualTo("Always");
    assertThat(after.path("warnings").toString()).contains("vmpower.io/maintenance ended");
  }

  @Test
  void kubevirtsOwnHaltedIsKnownByItsUsersOfTheConfiguredNamespace() throws Exception {
    ObjectNode old = stored("AlwaysOn");
    ObjectNode halted = withStrategy(old, "Halted");
    // virt-controller after a decentralized migration
    JsonNode migrated =
        send(
            as(
                inNamespace(vmReview("k1", "UPDATE", halted, old), "team-d"),
                CONTROLLER,
                "system:serviceaccounts"));
    JsonNode stored = applied(halted, migrated);
    assertThat(stored.at("/spec/runStrategy").asText()).isEqualTo("Halted");
    assertThat(stored.at("/metadata/annotations/vmpower.io~1maintenance").asText())
        .isEqualTo("true");
    // virt-api stopping the target of the pending StopTarget restore team-d/restore-1
    JsonNode restore =
        send(as(inNamespace(vmReview("k2", "UPDATE", halted, old), "team-d"), VIRT_API));
    assertThat(
            applied(halted, restore)
                .at("/metadata/annotations/vmpower.io~1maintenance-reason")
                .asText())
        .isEqualTo("KubeVirt stopped the VM for a VirtualMachineRestore with StopTarget");
    // KubeVirt's ServiceAccount of the upstream namespace is nobody here
    JsonNode denied =
        send(
            as(
                inNamespace(vmReview("k3", "UPDATE", halted, old), "team-d"),
                "system:serviceaccount:kubevirt:kubevirt-controller"));
    assertThat(denied.path("allowed").asBoolean()).isFalse();
    assertThat(denied.path("status").path("message").asText())
        .contains("kubectl annotate vm NAME vmpower.io/maintenance=true");
  }

  @Test
  void aVirtctlStopOfAnotherVmThanTheRestoresIsDeniedAndCounted() throws Exception {
    ObjectNode old = stored("AlwaysOn");
    ((ObjectNode) old.get("metadata")).put("name", "web");
    ObjectNode halted = withStrategy(old, "Halted");
    JsonNode denied =
        send(as(inNamespace(vmReview("s1", "UPDATE", halted, old), "team-d"), VIRT_API));
    assertThat(denied.path("allowed").asBoolean()).isFalse();
    assertThat(denied.path("status").path("code").asInt()).isEqualTo(403);
    String metrics = management("/actuator/prometheus").body();
    assertThat(metrics)
        .containsPattern(
            "vmpower_webhook_denials_total\\{cause=\"power-change\",endpoint=\"virtualmachines\"[^}]*\\} [1-9]");
  }
}
