package io.vmpower.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.vmpower.e2e.TestCluster.Kubectl;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 15 on the real API server: namespace defaults (cached by the webhook, stamped on VMs by the
 * controller), VMs of a namespace enabled after they existed, maintenance, KubeVirt's own
 * runStrategy writes (made as KubeVirt's ServiceAccounts, by impersonation), the VM's policy label,
 * the metrics, and {@code vmpower status}.
 */
@Order(11)
@ExtendWith(Suite.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FleetE2E {
  static final String DEFAULTED = "fleet-defaulted";
  static final String INVALID = "fleet-invalid";
  static final String LATE = "fleet-late";
  static final String LATER = "fleet-later";
  static final String NS = Suite.ENABLED_NS;
  static final String KUBEVIRT_CONTROLLER = "system:serviceaccount:kubevirt:kubevirt-controller";
  static final String VIRT_API = "system:serviceaccount:kubevirt:kubevirt-apiserver";

  static Kubectl kubectl(String stdin, String... args) {
    return Suite.env().cluster.kubectl(stdin, args);
  }

  static Kubectl ok(Kubectl r) {
    assertThat(r.exit()).as(r.toString()).isZero();
    return r;
  }

  static GenericKubernetesResource vm(String ns, String name) {
    return Suite.env().vm(ns, name);
  }

  static String annotation(String ns, String name, String key) {
    return Vms.annotation(vm(ns, name), key);
  }

  static String vmLabel(String ns, String name) {
    Map<String, String> labels = vm(ns, name).getMetadata().getLabels();
    return labels == null ? null : labels.get("vmpower.io/run-policy");
  }

  /**
   * vmpower's Events on an object (KubeVirt's own Events on VMs have other sources), in name order:
   * Event times have second precision, so the order they were written in is not at hand.
   */
  static List<Event> events(String ns, String kind, String name) {
    return Suite.env().client.v1().events().inNamespace(ns).list().getItems().stream()
        .filter(
            e ->
                kind.equals(e.getInvolvedObject().getKind())
                    && name.equals(e.getInvolvedObject().getName()))
        .filter(
            e -> e.getSource() != null && "vmpower-controller".equals(e.getSource().getComponent()))
        .toList();
  }

  static List<String> reasons(String ns, String vm) {
    return events(ns, "VirtualMachine", vm).stream().map(Event::getReason).toList();
  }

  static void patchNamespace(String ns, String mergePatch) {
    Suite.env()
        .client
        .namespaces()
        .withName(ns)
        .patch(PatchContext.of(PatchType.JSON_MERGE), mergePatch);
  }

  static double leaderMetric(String name, String... labels) {
    return Suite.env().metric(name, labels);
  }

  /** KubeVirt's ServiceAccounts may write VMs (as virt-operator's RBAC lets them). */
  @BeforeAll
  static void kubevirtMayWriteVms() {
    Suite.env()
        .apply(
            """
            apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRole
            metadata:
              name: e2e-kubevirt-vm-writer
            rules:
              - apiGroups: ["kubevirt.io"]
                resources: ["virtualmachines"]
                verbs: ["get", "list", "watch", "patch", "update"]
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRoleBinding
            metadata:
              name: e2e-kubevirt-vm-writer
            roleRef:
              apiGroup: rbac.authorization.k8s.io
              kind: ClusterRole
              name: e2e-kubevirt-vm-writer
            subjects:
              - kind: ServiceAccount
                name: kubevirt-controller
                namespace: kubevirt
              - kind: ServiceAccount
                name: kubevirt-apiserver
                namespace: kubevirt
            """);
  }

  /** Waits until every webhook instance answers with the namespace's default (dry run). */
  static void awaitDefaultSeen(String ns, String policy) {
    int[] inARow = {0};
    Suite.await(
        "the webhooks' namespace caches see " + ns + "'s default " + policy,
        Duration.ofSeconds(30),
        () -> {
          Kubectl r =
              kubectl(
                  Vms.manifest(ns, "probe", Map.of(), ""),
                  "create",
                  "--dry-run=server",
                  "-o",
                  "json",
                  "-f",
                  "-");
          boolean seen =
              r.exit() == 0
                  && policy.equals(Vms.annotation(Vms.parse(r.stdout()), "vmpower.io/run-policy"));
          inARow[0] = seen ? inARow[0] + 1 : 0;
          return inARow[0] >= 4; // both instances, twice
        });
  }

  @Test
  @Order(1)
  void aNamespaceDefaultAppliesOnCreateAndUpdateAndAVmsOwnPolicyWins() {
    Suite.env().namespace(DEFAULTED, Map.of("vmpower.io/enabled", "true"));
    patchNamespace(
        DEFAULTED,
        "{\"metadata\":{\"annotations\":{\"vmpower.io/default-run-policy\":\"AlwaysOff\"}}}");
    awaitDefaultSeen(DEFAULTED, "AlwaysOff");

    Kubectl created =
        ok(kubectl(Vms.manifest(DEFAULTED, "web", Map.of(), "running: true"), "create", "-f", "-"));
    assertThat(created.stderr())
        .contains(
            "Warning: vmpower.io/run-policy=AlwaysOff: the default of namespace " + DEFAULTED);
    GenericKubernetesResource web = vm(DEFAULTED, "web");
    assertThat(Vms.annotation(web, "vmpower.io/run-policy")).isEqualTo("AlwaysOff");
    assertThat(Vms.spec(web, "runStrategy")).isEqualTo("Halted");
    assertThat(Vms.spec(web, "running")).isNull();
    assertThat(vmLabel(DEFAULTED, "web")).isEqualTo("AlwaysOff");

    // its own policy wins; removing it (an UPDATE) falls back to the default
    ok(kubectl(Vms.manifest(DEFAULTED, "own", Vms.policy("Manual"), ""), "create", "-f", "-"));
    assertThat(Vms.spec(vm(DEFAULTED, "own"), "runStrategy")).isEqualTo("Manual");
    Kubectl removed =
        ok(kubectl(null, "annotate", "vm", "own", "-n", DEFAULTED, "vmpower.io/run-policy-"));
    assertThat(removed.stderr()).contains("the default of namespace " + DEFAULTED);
    assertThat(annotation(DEFAULTED, "own", "vmpower.io/run-policy")).isEqualTo("AlwaysOff");
    assertThat(Vms.spec(vm(DEFAULTED, "own"), "runStrategy")).isEqualTo("Halted");
  }

  @Test
  @Order(2)
  void aDefaultSetLaterIsStampedOnTheNamespacesVmsByTheController() {
    Suite.env().namespace(LATER, Map.of("vmpower.io/enabled", "true"));
    ok(
        kubectl(
            Vms.manifest(LATER, "undecided", Map.of(), "runStrategy: Always"),
            "create",
            "-f",
            "-"));
    assertThat(annotation(LATER, "undecided", "vmpower.io/run-policy")).isNull();
    patchNamespace(
        LATER, "{\"metadata\":{\"annotations\":{\"vmpower.io/default-run-policy\":\"Manual\"}}}");
    Suite.await(
        "the controller stamps the default on undecided",
        Duration.ofSeconds(30),
        () -> "Manual".equals(annotation(LATER, "undecided", "vmpower.io/run-policy")));
    assertThat(Vms.spec(vm(LATER, "undecided"), "runStrategy")).isEqualTo("Manual");
    assertThat(vmLabel(LATER, "undecided")).isEqualTo("Manual");
    Suite.await(
        "Event BroughtInLine",
        Duration.ofSeconds(10),
        () -> reasons(LATER, "undecided").contains("BroughtInLine"));
    assertThat(events(LATER, "VirtualMachine", "undecided"))
        .filteredOn(e -> "BroughtInLine".equals(e.getReason()))
        .singleElement()
        .extracting(Event::getMessage)
        .asString()
        .contains("vmpower.io/run-policy=Manual: the default of namespace " + LATER);
    // KubeVirt started it before it was managed: its pod carries no monitor, and is reported
    Suite.await(
        "PodNotInjected",
        Duration.ofSeconds(10),
        () -> reasons(LATER, "undecided").contains("PodNotInjected"));
  }

  @Test
  @Order(3)
  void anInvalidDefaultIsReportedOnTheNamespaceAndNeverBlocksAVm() {
    Suite.env().namespace(INVALID, Map.of("vmpower.io/enabled", "true"));
    patchNamespace(
        INVALID,
        "{\"metadata\":{\"annotations\":{\"vmpower.io/default-run-policy\":\"Sometimes\"}}}");
    Suite.await(
        "Event InvalidDefaultRunPolicy on namespace " + INVALID,
        Duration.ofSeconds(30),
        () -> !events(INVALID, "Namespace", INVALID).isEmpty());
    Event event = events(INVALID, "Namespace", INVALID).get(0);
    assertThat(event.getReason()).isEqualTo("InvalidDefaultRunPolicy");
    assertThat(event.getType()).isEqualTo("Warning");
    Suite.await(
        "the gauge of invalid defaults",
        Duration.ofSeconds(30),
        () -> leaderMetric("vmpower_controller_namespaces_default_invalid") >= 1);
    Suite.await(
        "the webhooks see the invalid default",
        Duration.ofSeconds(30),
        () -> {
          Kubectl r =
              kubectl(
                  Vms.manifest(INVALID, "probe", Map.of(), "runStrategy: Halted"),
                  "create",
                  "--dry-run=server",
                  "-f",
                  "-");
          return r.exit() == 0 && r.stderr().contains("is no run policy, ignored");
        });
    Kubectl created =
        ok(kubectl(Vms.manifest(INVALID, "db", Map.of(), "running: true"), "create", "-f", "-"));
    assertThat(created.stderr())
        .contains(
            "Warning: namespace "
                + INVALID
                + ": vmpower.io/default-run-policy \"Sometimes\" is no run policy, ignored");
    assertThat(Vms.spec(vm(INVALID, "db"), "running")).isEqualTo(true);
    assertThat(annotation(INVALID, "db", "vmpower.io/run-policy")).isNull();
  }

  /**
   * VMs annotated, and running, while their namespace was not enabled: once it is, the controller
   * writes what the webhook would have (runStrategy, labels, start-pending), once, with an Event;
   * the running launcher pod without the monitor is reported until the VM restarts.
   */
  @Test
  @Order(4)
  void vmsOfANamespaceEnabledAfterTheyExistedAreBroughtInLine() {
    Suite.env().namespace(LATE, Map.of());
    ok(
        kubectl(
            Vms.manifest(LATE, "legacy", Vms.policy("Manual"), "runStrategy: Always"),
            "create",
            "-f",
            "-"));
    ok(
        kubectl(
            Vms.manifest(
                LATE, "fresh", Vms.policy("AlwaysOnUnlessStoppedManually"), "runStrategy: Halted"),
            "create",
            "-f",
            "-"));
    // KubeVirt starts it (runStrategy Always); its pod is created where the webhooks do not act
    GenericKubernetesResource vmi = Vms.awaitRunning(LATE, "legacy");
    List<Pod> pods = Suite.env().launcherPods(vmi);
    assertThat(pods.get(0).getMetadata().getAnnotations())
        .doesNotContainKey("vmpower.io/injection-status");
    assertThat(Vms.templateLabel(vm(LATE, "legacy"), "vmpower.io/run-policy")).isNull();

    patchNamespace(LATE, "{\"metadata\":{\"labels\":{\"vmpower.io/enabled\":\"true\"}}}");

    Suite.await(
        "legacy and fresh brought in line",
        Duration.ofSeconds(30),
        () ->
            "Manual".equals(Vms.spec(vm(LATE, "legacy"), "runStrategy"))
                && "AlwaysOnUnlessStoppedManually".equals(vmLabel(LATE, "fresh"))
                && "Manual".equals(Vms.spec(vm(LATE, "fresh"), "runStrategy")));
    assertThat(Vms.templateLabel(vm(LATE, "legacy"), "vmpower.io/run-policy")).isEqualTo("Manual");
    // switching into AlwaysOnUnlessStoppedManually owes the first start, as on the webhook
    Suite.await(
        "fresh started for the first time",
        Duration.ofSeconds(30),
        () -> reasons(LATE, "fresh").contains("StartedFirstTime"));
    assertThat(reasons(LATE, "fresh"))
        .containsExactlyInAnyOrder("BroughtInLine", "StartedFirstTime");
    Suite.await(
        "PodNotInjected for legacy's running pod",
        Duration.ofSeconds(30),
        () -> reasons(LATE, "legacy").contains("PodNotInjected"));
    assertThat(reasons(LATE, "legacy")).filteredOn("BroughtInLine"::equals).hasSize(1);
    Suite.await(
        "the gauge of launchers without the monitor",
        Duration.ofSeconds(30),
        () -> leaderMetric("vmpower_controller_launchers_unmonitored") >= 1);

    Kubectl columns = ok(kubectl(null, "get", "vm", "-n", LATE, "-L", "vmpower.io/run-policy"));
    Suite.say("kubectl get vm -n %s -L vmpower.io/run-policy:%n%s", LATE, columns.stdout());
    assertThat(columns.stdout().lines().toList())
        .anyMatch(l -> l.startsWith("fresh ") && l.endsWith(" AlwaysOnUnlessStoppedManually"))
        .anyMatch(l -> l.startsWith("legacy ") && l.endsWith(" Manual"));
    Kubectl selected =
        ok(kubectl(null, "get", "vm", "-A", "-l", "vmpower.io/run-policy=Manual", "-o", "name"));
    assertThat(selected.stdout()).contains("virtualmachine.kubevirt.io/legacy");
  }

  @ParameterizedTest(name = "{0}: runStrategy {1} in maintenance, {2} again after")
  @CsvSource({
    "AlwaysOn, Halted, Always",
    "AlwaysOff, Always, Halted",
    "Manual, Halted, Manual",
    "AlwaysOnUnlessStoppedManually, Halted, Manual"
  })
  @Order(5)
  void maintenanceLetsAnyRunStrategyThroughAndItsEndRestoresThePolicys(
      String policy, String during, String after) {
    String name = "maint-" + policy.toLowerCase();
    ok(kubectl(Vms.manifest(NS, name, Vms.policy(policy), ""), "create", "-f", "-"));
    // refused without maintenance, and the message says how to get around it
    Kubectl refused =
        kubectl(
            null,
            "patch",
            "vm",
            name,
            "-n",
            NS,
            "--type",
            "merge",
            "-p",
            "{\"spec\":{\"runStrategy\":\"" + during + "\"}}");
    assertThat(refused.exit()).isNotZero();
    assertThat(refused.stderr()).contains("kubectl annotate vm NAME vmpower.io/maintenance=true");
    ok(
        kubectl(
            null,
            "annotate",
            "vm",
            name,
            "-n",
            NS,
            "vmpower.io/maintenance=true",
            "vmpower.io/maintenance-reason=e2e"));
    ok(
        kubectl(
            null,
            "patch",
            "vm",
            name,
            "-n",
            NS,
            "--type",
            "merge",
            "-p",
            "{\"spec\":{\"runStrategy\":\"" + during + "\"}}"));
    assertThat(Vms.spec(vm(NS, name), "runStrategy")).isEqualTo(during);
    Suite.await(
        "MaintenanceStarted",
        Duration.ofSeconds(30),
        () -> reasons(NS, name).contains("MaintenanceStarted"));
    assertThat(annotation(NS, name, "vmpower.io/maintenance-since")).isNotNull();

    Kubectl ended = ok(kubectl(null, "annotate", "vm", name, "-n", NS, "vmpower.io/maintenance-"));
    assertThat(ended.stderr())
        .contains(
            "Warning: vmpower.io/maintenance ended: spec.runStrategy is "
                + after
                + " again (run policy "
                + policy
                + ")");
    assertThat(Vms.spec(vm(NS, name), "runStrategy")).isEqualTo(after);
    assertThat(annotation(NS, name, "vmpower.io/maintenance-reason")).isNull();
    Suite.await(
        "MaintenanceEnded",
        Duration.ofSeconds(30),
        () -> reasons(NS, name).contains("MaintenanceEnded"));
    assertThat(annotation(NS, name, "vmpower.io/maintenance-since")).isNull();
  }

  @Test
  @Order(6)
  void aGuestRebootInMaintenanceIsNotActedOn() {
    ControllerE2E.running("maint-reboot", "Manual");
    ok(kubectl(null, "annotate", "vm", "maint-reboot", "-n", NS, "vmpower.io/maintenance=true"));
    Suite.await(
        "MaintenanceStarted",
        Duration.ofSeconds(30),
        () -> reasons(NS, "maint-reboot").contains("MaintenanceStarted"));
    String uid = Suite.env().vmi(NS, "maint-reboot").getMetadata().getUid();
    Suite.env().virtHandler.guestReset(NS, "maint-reboot");
    Suite.await(
        "the VMI ends",
        Duration.ofSeconds(30),
        () -> "Succeeded".equals(VirtHandler.phase(Suite.env().vmi(NS, "maint-reboot"))));
    TestCluster.sleep(3000);
    assertThat(vmpowerStarts("maint-reboot")).as("not restarted in maintenance").isEmpty();
    ok(kubectl(null, "annotate", "vm", "maint-reboot", "-n", NS, "vmpower.io/maintenance-"));
    ControllerE2E.awaitRecord("maint-reboot", uid, "None");
    assertThat(ControllerE2E.lastPowerEvent("maint-reboot")).containsEntry("reason", "maintenance");
    TestCluster.sleep(2000);
    assertThat(vmpowerStarts("maint-reboot")).as("nor after it").isEmpty();
    assertThat(reasons(NS, "maint-reboot"))
        .containsExactly("MaintenanceStarted", "MaintenanceEnded");
  }

  static List<AuditLog.Entry> vmpowerStarts(String vm) {
    return ControllerE2E.starts(vm).stream()
        .filter(e -> ControllerE2E.SA_USER.equals(e.user()))
        .toList();
  }

  /**
   * KubeVirt's own writes of {@code spec.runStrategy}, made as KubeVirt's ServiceAccounts: the API
   * server puts the impersonated user into the review's userInfo, as for the real components.
   */
  @Test
  @Order(7)
  void virtControllersHaltedAfterADecentralizedMigrationPutsTheVmIntoMaintenance() {
    ok(kubectl(Vms.manifest(NS, "migrated", Vms.policy("AlwaysOn"), ""), "create", "-f", "-"));
    String halt = "{\"spec\":{\"runStrategy\":\"Halted\"}}";
    Kubectl asUser =
        kubectl(null, "patch", "vm", "migrated", "-n", NS, "--type", "merge", "-p", halt);
    assertThat(asUser.exit()).isNotZero();
    Kubectl asKubeVirt =
        ok(
            kubectl(
                null,
                "--as=" + KUBEVIRT_CONTROLLER,
                "--as-group=system:serviceaccounts",
                "patch",
                "vm",
                "migrated",
                "-n",
                NS,
                "--type",
                "merge",
                "-p",
                halt));
    assertThat(asKubeVirt.stderr())
        .contains(
            "Warning: vmpower.io/maintenance=true set: KubeVirt halted the VM: a decentralized live migration moved it away");
    GenericKubernetesResource vm = vm(NS, "migrated");
    assertThat(Vms.spec(vm, "runStrategy")).isEqualTo("Halted");
    assertThat(Vms.annotation(vm, "vmpower.io/maintenance")).isEqualTo("true");
    // a later write of the VM (by anyone) keeps it halted, and the controller leaves it
    ok(kubectl(null, "label", "vm", "migrated", "-n", NS, "moved=away"));
    Suite.await(
        "MaintenanceStarted",
        Duration.ofSeconds(30),
        () -> reasons(NS, "migrated").contains("MaintenanceStarted"));
    assertThat(events(NS, "VirtualMachine", "migrated"))
        .filteredOn(e -> "MaintenanceStarted".equals(e.getReason()))
        .singleElement()
        .extracting(Event::getMessage)
        .asString()
        .contains("decentralized live migration");
    assertThat(Vms.spec(vm(NS, "migrated"), "runStrategy")).isEqualTo("Halted");
  }

  /**
   * {@code virtctl stop} of an AlwaysOn VM: virt-api patches {@code Halted} as itself, for whoever
   * called it; without a VirtualMachineRestore that stops the VM, vmpower refuses it, and virtctl
   * shows the message naming maintenance (the restore's own stop is let through: {@code
   * KubeVirtWritesE2E}).
   */
  @Test
  @Order(8)
  void virtctlStopOfAnAlwaysOnVmIsRefusedNamingMaintenanceAndWorksInIt() {
    ok(kubectl(Vms.manifest(NS, "fleet-always", Vms.policy("AlwaysOn"), ""), "create", "-f", "-"));
    Vms.awaitRunning(NS, "fleet-always");
    Kubectl stop = Suite.env().kubevirt.virtctl("stop", "fleet-always", "-n", NS);
    assertThat(stop.exit()).isNotZero();
    assertThat(stop.stdout() + stop.stderr())
        .contains("has run policy AlwaysOn")
        .contains("kubectl annotate vm NAME vmpower.io/maintenance=true");
    assertThat(Suite.env().cluster.audit().requests(NS, "fleet-always", "virtualmachines", null))
        .anyMatch(e -> VIRT_API.equals(e.user()) && "patch".equals(e.verb()) && e.code() == 403);
    ok(kubectl(null, "annotate", "vm", "fleet-always", "-n", NS, "vmpower.io/maintenance=true"));
    Kubectl stopped = Suite.env().kubevirt.virtctl("stop", "fleet-always", "-n", NS);
    assertThat(stopped.exit()).as(stopped.toString()).isZero();
    Suite.await(
        "the VMI gone", Duration.ofSeconds(60), () -> Suite.env().vmi(NS, "fleet-always") == null);
    assertThat(Vms.spec(vm(NS, "fleet-always"), "runStrategy")).isEqualTo("Halted");
    // maintenance over: the policy's runStrategy again, and KubeVirt starts the VM
    Kubectl over =
        ok(kubectl(null, "annotate", "vm", "fleet-always", "-n", NS, "vmpower.io/maintenance-"));
    assertThat(over.stderr())
        .contains("vmpower.io/maintenance ended: spec.runStrategy is Always again");
    Vms.awaitRunning(NS, "fleet-always");
  }

  /**
   * A decentralized live migration's target VM ({@code runStrategy: WaitAsReceiver}, accepted by
   * KubeVirt only with its DecentralizedLiveMigration feature gate): vmpower keeps the strategy and
   * makes the policy's the one KubeVirt restores after the migration.
   */
  @Test
  @Order(9)
  void aMigrationTargetKeepsWaitAsReceiverAndLeavesItForThePolicysRunStrategy() {
    List<String> gates = new ArrayList<>(KubeVirtControlPlane.FEATURE_GATES);
    gates.add("DecentralizedLiveMigration");
    Suite.env().kubevirt.featureGates(gates);
    String manifest =
        Vms.manifest(NS, "receiver", Vms.policy("Manual"), "runStrategy: WaitAsReceiver");
    try {
      Suite.await(
          "virt-api sees the DecentralizedLiveMigration gate",
          Duration.ofSeconds(30),
          () -> kubectl(manifest, "create", "--dry-run=server", "-f", "-").exit() == 0);
      Kubectl created = ok(kubectl(manifest, "create", "-f", "-"));
      GenericKubernetesResource vm = vm(NS, "receiver");
      assertThat(Vms.spec(vm, "runStrategy")).isEqualTo("WaitAsReceiver");
      assertThat(Vms.annotation(vm, "kubevirt.io/restore-run-strategy")).isEqualTo("Manual");
      assertThat(Vms.templateLabel(vm, "vmpower.io/run-policy")).isEqualTo("Manual");
      assertThat(Vms.annotation(vm, "vmpower.io/start-pending")).isNull();
      assertThat(created.stderr()).doesNotContain("vmpower");
      // virt-controller's writes while it receives keep it; its restore after the migration lands
      ok(
          kubectl(
              null,
              "--as=" + KUBEVIRT_CONTROLLER,
              "--as-group=system:serviceaccounts",
              "label",
              "vm",
              "receiver",
              "-n",
              NS,
              "receiving=yes"));
      assertThat(Vms.spec(vm(NS, "receiver"), "runStrategy")).isEqualTo("WaitAsReceiver");
      ok(
          kubectl(
              null,
              "--as=" + KUBEVIRT_CONTROLLER,
              "--as-group=system:serviceaccounts",
              "patch",
              "vm",
              "receiver",
              "-n",
              NS,
              "--type",
              "merge",
              "-p",
              "{\"spec\":{\"runStrategy\":\"Manual\"}}"));
      assertThat(Vms.spec(vm(NS, "receiver"), "runStrategy")).isEqualTo("Manual");
    } finally {
      kubectl(null, "delete", "vm", "receiver", "-n", NS, "--ignore-not-found", "--wait=false");
      Suite.env().kubevirt.featureGates(KubeVirtControlPlane.FEATURE_GATES);
    }
  }

  @Test
  @Order(10)
  void theDenialsAreCountedByCause() {
    Suite.await(
        "the denials counted by cause",
        Duration.ofSeconds(10),
        () -> leaderMetric("vmpower_webhook_denials_total", "cause=\"power-change\"") >= 1);
  }

  @Test
  @Order(11)
  void theFleetMetrics() {
    Suite.await(
        "per-policy VM counts",
        Duration.ofSeconds(30),
        () ->
            leaderMetric("vmpower_controller_vms", "policy=\"AlwaysOff\"") >= 2
                && leaderMetric("vmpower_controller_vms", "policy=\"Manual\"") >= 1
                && leaderMetric("vmpower_controller_vms_maintenance", "policy=\"AlwaysOn\"") >= 1);
    assertThat(leaderMetric("vmpower_controller_actions_total", "action=\"start\"")).isPositive();
    assertThat(leaderMetric("vmpower_controller_brought_in_line_total", "kind=\"policy\""))
        .isPositive();
  }

  /** {@code vmpower status} from the jar, with the admin's kubeconfig as kubectl uses it. */
  @Test
  @Order(12)
  void statusShowsTheFleetAndSaysWhenALauncherLacksTheMonitor() throws Exception {
    Run all = status();
    Suite.say("vmpower status:%n%s", all.out());
    assertThat(all.exit())
        .as("a launcher of fleet-late lacks the monitor: " + all.err())
        .isEqualTo(1);
    List<String> lines = all.out().lines().toList();
    assertThat(lines.get(0))
        .startsWith("NAMESPACE")
        .contains(
            "NAME", "POLICY", "RUNSTRATEGY", "PHASE", "LAST-EVENT", "WHEN", "RESTARTS", "STATE");
    assertThat(lines)
        .anyMatch(l -> l.matches("fleet-late +legacy +Manual +Manual +Running .* no-monitor"));
    assertThat(lines).anyMatch(l -> l.matches("team-a +migrated +AlwaysOn +Halted .* maintenance"));
    assertThat(lines)
        .anyMatch(
            l ->
                l.matches(
                    "team-a +maint-reboot +Manual +Manual +Succeeded +maintenance/None +\\S+ +0 +ok"));

    Run one = status("-n", DEFAULTED);
    Suite.say("vmpower status -n %s:%n%s", DEFAULTED, one.out());
    assertThat(one.exit()).isZero();
    assertThat(one.out().lines().skip(1).toList())
        .hasSize(2)
        .allMatch(l -> l.startsWith(DEFAULTED + " "));

    Run labelled =
        status("-l", "vmpower.io/run-policy=AlwaysOnUnlessStoppedManually", "-o", "json");
    assertThat(labelled.exit()).isZero();
    var doc = new com.fasterxml.jackson.databind.json.JsonMapper().readTree(labelled.out());
    assertThat(doc.path("vms")).isNotEmpty();
    doc.path("vms")
        .forEach(
            v -> assertThat(v.path("policy").asText()).isEqualTo("AlwaysOnUnlessStoppedManually"));
  }

  record Run(int exit, String out, String err) {}

  static Run status(String... args) throws Exception {
    List<String> command =
        new ArrayList<>(
            List.of(
                "java",
                "-jar",
                Suite.env().jar.toString(),
                "status",
                "--kubeconfig",
                Suite.env().cluster.adminKubeconfig().toString()));
    command.addAll(List.of(args));
    Path out = Files.createTempFile(Suite.env().work, "status", ".out");
    Path err = Files.createTempFile(Suite.env().work, "status", ".err");
    ProcessBuilder builder =
        new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
    builder.environment().remove("KUBECONFIG");
    Process p = builder.start();
    p.getOutputStream().close();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return new Run(
        p.exitValue(),
        Files.readString(out, StandardCharsets.UTF_8),
        Files.readString(err, StandardCharsets.UTF_8));
  }
}
