package io.vmpower.controller;

import static io.vmpower.controller.testing.MockCluster.ENABLED_NS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vmpower.api.Keys;
import io.vmpower.controller.testing.FakeKubeVirt;
import io.vmpower.controller.testing.MockCluster;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Issue 15 in the controller, against the mock API server: VMs brought in line with the VM
 * webhook's rules (a namespace enabled after its VMs exist, a namespace default set later, a
 * missing label), invalid namespace defaults reported, maintenance entered and left, the fleet
 * gauges. The mock server runs no webhook: what it stores is what the controller wrote.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FleetControllerTest {
  private static final AtomicInteger NAMES = new AtomicInteger();

  private MockCluster cluster;
  private FakeKubeVirt kubevirt;
  private SimpleMeterRegistry meters;
  private PowerController controller;

  @BeforeAll
  void startController() {
    cluster = new MockCluster();
    kubevirt = cluster.kubevirt();
    meters = new SimpleMeterRegistry();
    controller =
        new PowerController(
            cluster.client("controller"), TestSettings.forIdentity("controller").build(), meters);
    controller.start();
    await().atMost(Duration.ofSeconds(5)).until(controller::isLeader);
  }

  @AfterAll
  void stop() {
    controller.close();
    cluster.close();
  }

  private static String newName(String prefix) {
    return prefix + "-" + NAMES.incrementAndGet();
  }

  private void namespace(String name, Map<String, String> labels, Map<String, String> annotations) {
    cluster
        .admin()
        .namespaces()
        .resource(
            new NamespaceBuilder()
                .withNewMetadata()
                .withName(name)
                .withLabels(labels)
                .withAnnotations(annotations)
                .endMetadata()
                .build())
        .create();
  }

  private void patchNamespace(String name, String mergePatch) {
    cluster
        .admin()
        .namespaces()
        .withName(name)
        .patch(PatchContext.of(PatchType.JSON_MERGE), mergePatch);
  }

  /** A VM as a user stored it without the VM webhook: no labels, their own runStrategy. */
  private void rawVm(String ns, String name, String policy, String runStrategy) {
    Map<String, String> annotations = new HashMap<>();
    if (policy != null) {
      annotations.put(Keys.RUN_POLICY, policy);
    }
    GenericKubernetesResource vm =
        new GenericKubernetesResourceBuilder()
            .withApiVersion("kubevirt.io/v1")
            .withKind("VirtualMachine")
            .withNewMetadata()
            .withNamespace(ns)
            .withName(name)
            .withAnnotations(annotations)
            .endMetadata()
            .withAdditionalProperties(
                Map.of(
                    "spec",
                    Map.of("runStrategy", runStrategy, "template", Map.of("spec", Map.of()))))
            .build();
    cluster.admin().genericKubernetesResources(KubeVirt.VM).inNamespace(ns).resource(vm).create();
  }

  private void patchVm(String ns, String name, String mergePatch) {
    cluster
        .admin()
        .genericKubernetesResources(KubeVirt.VM)
        .inNamespace(ns)
        .withName(name)
        .patch(PatchContext.of(PatchType.JSON_MERGE), mergePatch);
  }

  /**
   * Removes annotations with JSON patch operations: the mock server stores a merge patch's nulls as
   * values, where the API server deletes the keys.
   */
  private void removeAnnotations(String ns, String name, String... keys) {
    StringBuilder ops = new StringBuilder("[");
    for (String key : keys) {
      ops.append(ops.length() > 1 ? "," : "")
          .append("{\"op\":\"remove\",\"path\":\"/metadata/annotations/")
          .append(key.replace("~", "~0").replace("/", "~1"))
          .append("\"}");
    }
    cluster
        .admin()
        .genericKubernetesResources(KubeVirt.VM)
        .inNamespace(ns)
        .withName(name)
        .patch(PatchContext.of(PatchType.JSON), ops.append("]").toString());
  }

  private GenericKubernetesResource vm(String ns, String name) {
    return cluster.vm(ns, name);
  }

  private static String runStrategy(GenericKubernetesResource vm) {
    return vm.get("spec", "runStrategy");
  }

  private static String templateLabel(GenericKubernetesResource vm) {
    Map<String, Object> labels = vm.get("spec", "template", "metadata", "labels");
    return labels == null ? null : (String) labels.get(Keys.RUN_POLICY);
  }

  private static String vmLabel(GenericKubernetesResource vm) {
    Map<String, String> labels = vm.getMetadata().getLabels();
    return labels == null ? null : labels.get(Keys.RUN_POLICY);
  }

  private List<Event> namespaceEvents(String ns) {
    return cluster.admin().v1().events().inNamespace(ns).list().getItems().stream()
        .filter(e -> "Namespace".equals(e.getInvolvedObject().getKind()))
        .toList();
  }

  private double gauge(String name, String... tags) {
    return meters.get(name).tags(tags).gauge().value();
  }

  @Test
  void vmsAnnotatedBeforeTheirNamespaceWasEnabledAreBroughtInLineOnce() {
    String ns = newName("late");
    namespace(ns, Map.of(), Map.of());
    rawVm(ns, "unless", "AlwaysOnUnlessStoppedManually", "Halted");
    rawVm(ns, "manual", "Manual", "Always");
    rawVm(ns, "plain", null, "Always");

    patchNamespace(ns, "{\"metadata\":{\"labels\":{\"" + Keys.ENABLED + "\":\"true\"}}}");

    // as the webhook would have stored them had it seen the annotations being set
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              GenericKubernetesResource unless = vm(ns, "unless");
              assertThat(runStrategy(unless)).isEqualTo("Manual");
              assertThat(templateLabel(unless)).isEqualTo("AlwaysOnUnlessStoppedManually");
              assertThat(vmLabel(unless)).isEqualTo("AlwaysOnUnlessStoppedManually");
              GenericKubernetesResource manual = vm(ns, "manual");
              assertThat(runStrategy(manual)).isEqualTo("Manual");
              assertThat(templateLabel(manual)).isEqualTo("Manual");
            });
    // switching into AlwaysOnUnlessStoppedManually owes the first start, as on the webhook
    await().atMost(Duration.ofSeconds(10)).until(() -> kubevirt.starts(ns, "unless") == 1);
    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () ->
                assertThat(cluster.eventReasons(ns, "unless"))
                    .containsExactly("BroughtInLine", "StartedFirstTime"));
    Event inLine = cluster.events(ns, "manual").get(0);
    assertThat(inLine.getReason()).isEqualTo("BroughtInLine");
    assertThat(inLine.getMessage())
        .startsWith("Brought in line with run policy Manual (the VM webhook had not seen")
        .contains("spec.runStrategy → Manual")
        .contains("spec.template.metadata = {\"labels\":{\"vmpower.io/run-policy\":\"Manual\"}}");
    // once: nothing more happens to them
    await()
        .during(Duration.ofMillis(800))
        .atMost(Duration.ofSeconds(3))
        .until(() -> cluster.eventReasons(ns, "manual").size() == 1);
    GenericKubernetesResource plain = vm(ns, "plain");
    assertThat(runStrategy(plain)).isEqualTo("Always");
    assertThat(plain.getMetadata().getLabels()).isNullOrEmpty();
    assertThat(cluster.eventReasons(ns, "plain")).isEmpty();
    assertThat(
            meters
                .get(ControllerMetrics.BROUGHT_IN_LINE)
                .tag("policy", "Manual")
                .tag("kind", "policy")
                .counter()
                .count())
        .isPositive();
  }

  @Test
  void aNamespaceDefaultSetLaterIsStampedOnTheVmsWithoutTheirOwn() {
    String ns = newName("defaulted");
    namespace(ns, Map.of(Keys.ENABLED, "true"), Map.of());
    rawVm(ns, "db", null, "Always");
    rawVm(ns, "own", "Manual", "Manual");
    await()
        .during(Duration.ofMillis(500))
        .atMost(Duration.ofSeconds(3))
        .until(() -> runStrategy(vm(ns, "db")).equals("Always"));

    patchNamespace(
        ns, "{\"metadata\":{\"annotations\":{\"" + Keys.DEFAULT_RUN_POLICY + "\":\"AlwaysOff\"}}}");

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              GenericKubernetesResource db = vm(ns, "db");
              assertThat(db.getMetadata().getAnnotations())
                  .containsEntry(Keys.RUN_POLICY, "AlwaysOff");
              assertThat(runStrategy(db)).isEqualTo("Halted");
              assertThat(vmLabel(db)).isEqualTo("AlwaysOff");
            });
    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () -> assertThat(cluster.eventReasons(ns, "db")).containsExactly("BroughtInLine"));
    assertThat(cluster.events(ns, "db").get(0).getMessage())
        .contains("vmpower.io/run-policy=AlwaysOff: the default of namespace " + ns);
    // the VM's own policy wins
    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(() -> assertThat(vmLabel(vm(ns, "own"))).isEqualTo("Manual"));
    assertThat(vm(ns, "own").getMetadata().getAnnotations())
        .containsEntry(Keys.RUN_POLICY, "Manual");
  }

  @Test
  void anInvalidNamespaceDefaultIsReportedAndIgnored() {
    String ns = newName("broken");
    namespace(ns, Map.of(Keys.ENABLED, "true"), Map.of(Keys.DEFAULT_RUN_POLICY, "Sometimes"));
    rawVm(ns, "db", null, "Always");

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              List<Event> events = namespaceEvents(ns);
              assertThat(events).hasSize(1);
              Event e = events.get(0);
              assertThat(e.getReason()).isEqualTo("InvalidDefaultRunPolicy");
              assertThat(e.getType()).isEqualTo("Warning");
              assertThat(e.getInvolvedObject().getName()).isEqualTo(ns);
              assertThat(e.getMessage())
                  .startsWith("vmpower.io/default-run-policy \"Sometimes\" is no run policy");
            });
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> gauge(ControllerMetrics.INVALID_DEFAULTS) >= 1);
    // never blocks or changes VMs there
    GenericKubernetesResource db = vm(ns, "db");
    assertThat(runStrategy(db)).isEqualTo("Always");
    assertThat(db.getMetadata().getAnnotations()).doesNotContainKey(Keys.RUN_POLICY);
    // reported once, also when the namespace changes otherwise
    patchNamespace(ns, "{\"metadata\":{\"labels\":{\"team\":\"x\"}}}");
    await()
        .during(Duration.ofMillis(500))
        .atMost(Duration.ofSeconds(2))
        .until(() -> namespaceEvents(ns).size() == 1);
  }

  @Test
  void aMissingVmLabelIsAddedWithoutAnEvent() {
    String name = newName("label");
    kubevirt.createVm(ENABLED_NS, name, "Manual", Map.of());
    patchVm(ENABLED_NS, name, "{\"metadata\":{\"labels\":null}}");
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> "Manual".equals(vmLabel(vm(ENABLED_NS, name))));
    await()
        .during(Duration.ofMillis(500))
        .atMost(Duration.ofSeconds(2))
        .until(() -> cluster.eventReasons(ENABLED_NS, name).isEmpty());
  }

  @Test
  void aVmWithAnInvalidPolicyIsReportedOnce() {
    String name = newName("invalid");
    rawVm(ENABLED_NS, name, "Sometimes", "Always");
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(cluster.eventReasons(ENABLED_NS, name))
                    .containsExactly("InvalidRunPolicy"));
    assertThat(cluster.events(ENABLED_NS, name).get(0).getMessage())
        .contains("Unsupported value: \"Sometimes\"");
    patchVm(ENABLED_NS, name, "{\"metadata\":{\"labels\":{\"x\":\"y\"}}}");
    await()
        .during(Duration.ofMillis(500))
        .atMost(Duration.ofSeconds(2))
        .until(() -> cluster.eventReasons(ENABLED_NS, name).size() == 1);
    assertThat(runStrategy(vm(ENABLED_NS, name))).isEqualTo("Always");
  }

  @Test
  void inMaintenanceAGuestRebootIsNotActedOnAndLeavingIsRecorded() {
    String name = newName("maint");
    kubevirt.createVm(ENABLED_NS, name, "Manual", Map.of());
    kubevirt.run(ENABLED_NS, name);
    patchVm(
        ENABLED_NS,
        name,
        "{\"metadata\":{\"annotations\":{\""
            + Keys.MAINTENANCE
            + "\":\"true\",\""
            + Keys.MAINTENANCE_REASON
            + "\":\"disk swap\"}}}");
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                vm(ENABLED_NS, name)
                    .getMetadata()
                    .getAnnotations()
                    .containsKey(Keys.MAINTENANCE_SINCE));
    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () ->
                assertThat(cluster.eventReasons(ENABLED_NS, name))
                    .containsExactly("MaintenanceStarted"));
    assertThat(cluster.events(ENABLED_NS, name).get(0).getMessage())
        .contains("vmpower.io/maintenance=true: disk swap");
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> gauge(ControllerMetrics.VMS_IN_MAINTENANCE, "policy", "Manual") >= 1);

    String endedUid = kubevirt.vmi(ENABLED_NS, name).getMetadata().getUid();
    kubevirt.guestReset(ENABLED_NS, name);
    await()
        .during(Duration.ofSeconds(1))
        .atMost(Duration.ofSeconds(3))
        .until(() -> kubevirt.startRequests(ENABLED_NS, name) == 0);

    removeAnnotations(ENABLED_NS, name, Keys.MAINTENANCE, Keys.MAINTENANCE_REASON);
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(cluster.eventReasons(ENABLED_NS, name))
                    .containsExactly("MaintenanceStarted", "MaintenanceEnded"));
    GenericKubernetesResource after = vm(ENABLED_NS, name);
    assertThat(after.getMetadata().getAnnotations().get(Keys.MAINTENANCE_SINCE)).isNull();
    PowerEventRecord record =
        PowerEventRecord.parse(after.getMetadata().getAnnotations().get(Keys.LAST_POWER_EVENT))
            .orElseThrow();
    assertThat(record.vmiUid()).isEqualTo(endedUid);
    assertThat(record.reason()).isEqualTo("maintenance");
    assertThat(record.action()).isEqualTo("None");
    assertThat(cluster.events(ENABLED_NS, name).get(1).getMessage())
        .contains("the VMI that ended during maintenance is not acted on");
    await()
        .during(Duration.ofSeconds(1))
        .atMost(Duration.ofSeconds(3))
        .until(() -> kubevirt.startRequests(ENABLED_NS, name) == 0);
  }

  @Test
  void leavingMaintenanceWithoutTheWebhookStillRestoresThePolicysRunStrategy() {
    // The webhook restores it when the annotation is removed; were it unreachable (failurePolicy
    // Ignore), the controller's check against its rules does.
    String name = newName("maint-on");
    kubevirt.createVm(ENABLED_NS, name, "AlwaysOn", Map.of(Keys.MAINTENANCE, "true"));
    patchVm(ENABLED_NS, name, "{\"spec\":{\"runStrategy\":\"Halted\"}}");
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(cluster.eventReasons(ENABLED_NS, name))
                    .containsExactly("MaintenanceStarted"));
    assertThat(runStrategy(vm(ENABLED_NS, name))).isEqualTo("Halted");

    removeAnnotations(ENABLED_NS, name, Keys.MAINTENANCE);
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              assertThat(runStrategy(vm(ENABLED_NS, name))).isEqualTo("Always");
              assertThat(cluster.eventReasons(ENABLED_NS, name))
                  .containsExactly("MaintenanceStarted", "BroughtInLine", "MaintenanceEnded");
            });
  }

  @Test
  void theFleetGaugesCountFromTheCaches() {
    String ns = newName("census");
    namespace(ns, Map.of(Keys.ENABLED, "true"), Map.of());
    kubevirt.createVm(ns, "a", "AlwaysOff", Map.of());
    kubevirt.createVm(ns, "b", "AlwaysOff", Map.of(Keys.MAINTENANCE, "true"));
    kubevirt.createVm(ns, "c", "AlwaysOn", Map.of());
    kubevirt.run(ns, "c", false);
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              assertThat(gauge(ControllerMetrics.VMS, "policy", "AlwaysOff"))
                  .isGreaterThanOrEqualTo(2);
              assertThat(gauge(ControllerMetrics.VMS_IN_MAINTENANCE, "policy", "AlwaysOff"))
                  .isGreaterThanOrEqualTo(1);
              assertThat(gauge(ControllerMetrics.UNMONITORED_LAUNCHERS)).isGreaterThanOrEqualTo(1);
            });
    double before = gauge(ControllerMetrics.UNMONITORED_LAUNCHERS);
    kubevirt
        .pods(ns, "c")
        .forEach(p -> cluster.admin().pods().inNamespace(ns).resource(p).delete());
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> gauge(ControllerMetrics.UNMONITORED_LAUNCHERS) == before - 1);
  }
}
