package io.vmpower.webhook.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.vmpower.api.ResourceType;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code vmpower status} against a mock API server, through a kubeconfig as kubectl reads it. */
class StatusCommandTest {
  static final Instant NOW = Instant.parse("2026-11-29T12:00:00Z");
  static final CustomResourceDefinitionContext VM = crd(ResourceType.VIRTUAL_MACHINE);
  static final CustomResourceDefinitionContext VMI = crd(ResourceType.VIRTUAL_MACHINE_INSTANCE);

  @TempDir Path dir;
  KubernetesMockServer server;
  KubernetesClient admin;
  Path kubeconfig;

  static CustomResourceDefinitionContext crd(ResourceType type) {
    return new CustomResourceDefinitionContext.Builder()
        .withGroup(type.group())
        .withVersion(type.version())
        .withKind(type.kind())
        .withPlural(type.plural())
        .withScope("Namespaced")
        .build();
  }

  @BeforeEach
  void cluster() throws Exception {
    server =
        new KubernetesMockServer(
            new Context(),
            new MockWebServer(),
            new HashMap<>(),
            new KubernetesCrudDispatcher(List.of(VM, VMI)),
            false);
    server.init();
    admin = server.createClient();
    for (String ns : List.of("team-a", "team-b", "team-c")) {
      admin
          .namespaces()
          .resource(
              new io.fabric8.kubernetes.api.model.NamespaceBuilder()
                  .withNewMetadata()
                  .withName(ns)
                  .withLabels(Map.of("vmpower.io/enabled", "true"))
                  .endMetadata()
                  .build())
          .create();
    }
    kubeconfig = dir.resolve("kubeconfig");
    Files.writeString(
        kubeconfig,
        """
        apiVersion: v1
        kind: Config
        clusters:
        - name: mock
          cluster:
            server: %s
        users:
        - name: someone
          user:
            token: t
        contexts:
        - name: mock
          context:
            cluster: mock
            user: someone
            namespace: default
        current-context: mock
        """
            .formatted(server.url("/")));
  }

  @AfterEach
  void stop() {
    admin.close();
    server.destroy();
  }

  record Run(int exit, String out, String err) {}

  Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = new CommandLine(new VmPowerCli());
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    StatusCommand status = cli.getSubcommands().get("status").getCommand();
    status.clock = Clock.fixed(NOW, ZoneOffset.UTC);
    String[] all = new String[args.length + 3];
    all[0] = "status";
    all[1] = "--kubeconfig";
    all[2] = kubeconfig.toString();
    System.arraycopy(args, 0, all, 3, args.length);
    return new Run(cli.execute(all), out.toString(), err.toString());
  }

  GenericKubernetesResource vm(String ns, String name, String policy, Map<String, String> extra) {
    Map<String, String> annotations = new LinkedHashMap<>(extra);
    if (policy != null) {
      annotations.put("vmpower.io/run-policy", policy);
    }
    return admin
        .genericKubernetesResources(VM)
        .inNamespace(ns)
        .resource(
            new GenericKubernetesResourceBuilder()
                .withApiVersion("kubevirt.io/v1")
                .withKind("VirtualMachine")
                .withNewMetadata()
                .withNamespace(ns)
                .withName(name)
                .withAnnotations(annotations)
                .withLabels(policy == null ? Map.of() : Map.of("vmpower.io/run-policy", policy))
                .endMetadata()
                .withAdditionalProperties(
                    Map.of(
                        "spec",
                        Map.of(
                            "runStrategy",
                            policy == null
                                ? "Always"
                                : io.vmpower.api.RunPolicy.parse(policy)
                                    .map(p -> p.policy().runStrategy())
                                    .orElse("Manual"))))
                .build())
        .create();
  }

  void vmi(String ns, String name, String phase, boolean injectedPod) {
    GenericKubernetesResource vmi =
        admin
            .genericKubernetesResources(VMI)
            .inNamespace(ns)
            .resource(
                new GenericKubernetesResourceBuilder()
                    .withApiVersion("kubevirt.io/v1")
                    .withKind("VirtualMachineInstance")
                    .withNewMetadata()
                    .withNamespace(ns)
                    .withName(name)
                    .endMetadata()
                    .withAdditionalProperties(Map.of("status", Map.of("phase", phase)))
                    .build())
            .create();
    Pod pod =
        new PodBuilder()
            .withNewMetadata()
            .withNamespace(ns)
            .withName("virt-launcher-" + name + "-abcde")
            .withLabels(Map.of("kubevirt.io", "virt-launcher"))
            .withAnnotations(injectedPod ? Map.of("vmpower.io/injection-status", "{}") : Map.of())
            .withOwnerReferences(
                new OwnerReferenceBuilder()
                    .withApiVersion("kubevirt.io/v1")
                    .withKind("VirtualMachineInstance")
                    .withName(name)
                    .withUid(vmi.getMetadata().getUid())
                    .build())
            .endMetadata()
            .withNewStatus()
            .withPhase("Running")
            .endStatus()
            .build();
    admin.pods().inNamespace(ns).resource(pod).create();
  }

  void fleet() {
    vm(
        "team-a",
        "db",
        "AlwaysOnUnlessStoppedManually",
        Map.of(
            "vmpower.io/last-power-event",
            // issue 14's record: the last event and the restart-loop state
            "{\"vmiUid\":\"u1\",\"reason\":\"guest-reset\",\"action\":\"Start\",\"state\":\"Done\","
                + "\"time\":\"2026-11-29T11:55:00Z\",\"restarts\":{\"guest-reset\":2,"
                + "\"vmi-failed\":1},\"streak\":1}"));
    vmi("team-a", "db", "Running", true);
    vm(
        "team-a",
        "web",
        "AlwaysOn",
        Map.of(
            "vmpower.io/maintenance", "true",
            "vmpower.io/maintenance-reason", "disk swap",
            "vmpower.io/maintenance-since", "2026-11-29T10:00:00Z"));
    vm("team-b", "batch", "Manual", Map.of());
    vm("team-b", "plain", null, Map.of());
  }

  @Test
  void oneAlignedLinePerManagedVmAndExitZero() {
    fleet();
    Run r = run();
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out())
        .isEqualTo(
            """
            NAMESPACE   NAME    POLICY                          RUNSTRATEGY   PHASE     LAST-EVENT          WHEN   RESTARTS   STATE
            team-a      db      AlwaysOnUnlessStoppedManually   Manual        Running   guest-reset/Start   5m     3          ok
            team-a      web     AlwaysOn                        Always        -         -                   -      0          maintenance
            team-b      batch   Manual                          Manual        -         -                   -      0          ok
            """);
  }

  @Test
  void filtersByNamespaceAndLabel() {
    fleet();
    assertThat(run("-n", "team-b").out()).contains("batch").doesNotContain("team-a");
    Run byLabel = run("-l", "vmpower.io/run-policy=AlwaysOn");
    assertThat(byLabel.out().lines().toList())
        .hasSize(2)
        .last()
        .asString()
        .startsWith("team-a      web");
    Run none = run("-n", "team-z");
    assertThat(none.exit()).isZero();
    assertThat(none.out()).isEmpty();
    assertThat(none.err()).isEqualTo("No managed VMs in namespace team-z.\n");
  }

  @Test
  void aLauncherWithoutTheMonitorNeedsAttention() throws Exception {
    fleet();
    vm("team-b", "legacy", "Manual", Map.of());
    vmi("team-b", "legacy", "Running", false);
    Run r = run();
    assertThat(r.exit()).isEqualTo(StatusCommand.ATTENTION);
    assertThat(r.out())
        .containsPattern("team-b +legacy +Manual +Manual +Running +- +- +0 +no-monitor");

    Run json = run("-o", "json");
    assertThat(json.exit()).isEqualTo(StatusCommand.ATTENTION);
    JsonNode doc = new JsonMapper().readTree(json.out());
    assertThat(doc.path("attention").asBoolean()).isTrue();
    JsonNode legacy = doc.path("vms").get(3);
    assertThat(legacy.path("name").asText()).isEqualTo("legacy");
    assertThat(legacy.path("podsWithoutMonitor").get(0).asText())
        .isEqualTo("virt-launcher-legacy-abcde");
    JsonNode db = doc.path("vms").get(0);
    assertThat(db.path("restarts").path("total").asLong()).isEqualTo(3);
    assertThat(db.path("restarts").path("byReason").path("guest-reset").asLong()).isEqualTo(2);
    assertThat(db.path("lastEvent").path("reason").asText()).isEqualTo("guest-reset");
    JsonNode web = doc.path("vms").get(1);
    assertThat(web.path("maintenance").path("reason").asText()).isEqualTo("disk swap");
    assertThat(web.path("maintenance").path("since").asText()).isEqualTo("2026-11-29T10:00:00Z");
  }

  @Test
  void aVmTheControllerGaveUpOnNeedsAttentionOneInBackoffDoesNot() {
    vm(
        "team-c",
        "looping",
        "AlwaysOnUnlessStoppedManually",
        Map.of(
            "vmpower.io/last-power-event",
            "{\"vmiUid\":\"u2\",\"reason\":\"vmi-failed\",\"action\":\"Start\","
                + "\"state\":\"Starting\",\"time\":\"2026-11-29T11:59:00Z\","
                + "\"restarts\":{\"vmi-failed\":4},\"streak\":4,"
                + "\"backoffUntil\":\"2026-11-29T12:01:00Z\"}"));
    Run backoff = run("-n", "team-c");
    assertThat(backoff.exit()).isZero();
    assertThat(backoff.out()).containsPattern("looping .* vmi-failed/Start +60s +4 +backoff\n");
    vm(
        "team-c",
        "given-up",
        "AlwaysOnUnlessStoppedManually",
        Map.of(
            "vmpower.io/last-power-event",
            "{\"vmiUid\":\"u3\",\"reason\":\"vmi-failed\",\"action\":\"None\","
                + "\"state\":\"Done\",\"time\":\"2026-11-29T11:00:00Z\","
                + "\"restarts\":{\"vmi-failed\":10},\"gaveUp\":\"2026-11-29T11:00:00Z\"}"));
    Run gaveUp = run("-n", "team-c");
    assertThat(gaveUp.exit()).isEqualTo(StatusCommand.ATTENTION);
    assertThat(gaveUp.out()).containsPattern("given-up .* vmi-failed/None +60m +10 +gave-up\n");
  }

  @Test
  void anUnreachableClusterAndBadOptionsHaveTheirOwnExitCodes() throws Exception {
    Run bad = run("-o", "yaml");
    assertThat(bad.exit()).isEqualTo(StatusCommand.USAGE);
    assertThat(bad.err()).isEqualTo("error: --output must be table or json, got yaml\n");
    assertThat(run("--no-such-option").exit()).isEqualTo(StatusCommand.USAGE);
    server.destroy();
    Run down = run();
    assertThat(down.exit()).isEqualTo(StatusCommand.UNREADABLE);
    assertThat(down.err()).startsWith("error: could not read the cluster: ");
  }

  @Test
  void aVmInANamespaceThatIsNotEnabledIsSaidToBeSo() {
    vm("team-z", "waiting", "Manual", Map.of());
    Run r = run("-n", "team-z");
    assertThat(r.exit()).isZero();
    assertThat(r.out())
        .containsPattern("team-z +waiting +Manual +Manual +- +- +- +0 +not-enabled\n");
  }

  @Test
  void agesReadAsKubectlShowsThem() {
    assertThat(FleetStatus.age("2026-11-29T11:59:15Z", NOW)).isEqualTo("45s");
    assertThat(FleetStatus.age("2026-11-29T11:30:00Z", NOW)).isEqualTo("30m");
    assertThat(FleetStatus.age("2026-11-29T07:00:00Z", NOW)).isEqualTo("5h");
    assertThat(FleetStatus.age("2026-11-20T12:00:00Z", NOW)).isEqualTo("9d");
    assertThat(FleetStatus.age("not a time", NOW)).isEmpty();
  }
}
