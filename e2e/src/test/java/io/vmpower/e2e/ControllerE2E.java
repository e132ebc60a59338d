package io.vmpower.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.vmpower.e2e.TestCluster.Kubectl;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The power controller against KubeVirt's own control plane: the VMI and its launcher pod come from
 * virt-controller, starts go through the aggregated {@code subresources.kubevirt.io} API to
 * virt-api (authorized by the API server, seen in its audit log), and virt-controller replaces the
 * VMI from the VM's current template. Only the kubelet and virt-handler are played by the suite.
 */
@Order(4)
@ExtendWith(Suite.class)
class ControllerE2E {
  static final String NS = Suite.ENABLED_NS;
  static final String SA_USER = "system:serviceaccount:vmpower-system:vmpower";

  /**
   * Creates the VM through the webhooks and has it running: KubeVirt starts AlwaysOn VMs, vmpower
   * AlwaysOnUnlessStoppedManually ones, and a user starts Manual ones with virtctl. Its launcher
   * pod, created by virt-controller, went through the pod webhook.
   */
  static GenericKubernetesResource running(String name, String policy) {
    Vms.create(NS, name, policy, "");
    if ("Manual".equals(policy)) {
      Kubectl start = Suite.env().kubevirt.virtctl("start", name, "-n", NS);
      assertThat(start.exit()).as(start.toString()).isZero();
    }
    GenericKubernetesResource vmi = Vms.awaitRunning(NS, name);
    List<Pod> pods = Suite.env().launcherPods(vmi);
    assertThat(pods).hasSize(1);
    assertThat(pods.get(0).getMetadata().getAnnotations())
        .as("virt-controller's launcher pod went through the pod webhook")
        .containsKey("vmpower.io/injection-status");
    return vmi;
  }

  static Map<String, Object> lastPowerEvent(String name) {
    String json = Vms.annotation(Suite.env().vm(NS, name), "vmpower.io/last-power-event");
    if (json == null) {
      return Map.of();
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> record = Vms.JSON.unmarshal(json, Map.class);
    return record;
  }

  static List<Event> events(String vm, String reason) {
    return Suite.env().client.v1().events().inNamespace(NS).list().getItems().stream()
        .filter(e -> vm.equals(e.getInvolvedObject().getName()) && reason.equals(e.getReason()))
        .toList();
  }

  /** Events vmpower's controller emitted for a VM (KubeVirt's own have other sources). */
  static List<Event> vmpowerEvents(String vm) {
    return Suite.env().client.v1().events().inNamespace(NS).list().getItems().stream()
        .filter(e -> vm.equals(e.getInvolvedObject().getName()))
        .filter(
            e -> e.getSource() != null && "vmpower-controller".equals(e.getSource().getComponent()))
        .toList();
  }

  /** Start requests the API server let through to virt-api for a VM, by anyone. */
  static List<AuditLog.Entry> starts(String vm) {
    return Suite.env().cluster.audit().starts(NS, vm);
  }

  static void awaitRecord(String vm, String vmiUid, String action) {
    Suite.await(
        vm + ": last-power-event " + action + " Done for VMI " + vmiUid,
        Duration.ofSeconds(45),
        () -> {
          Map<String, Object> r = lastPowerEvent(vm);
          return vmiUid.equals(r.get("vmiUid"))
              && action.equals(r.get("action"))
              && "Done".equals(r.get("state"));
        });
  }

  static String memory(GenericKubernetesResource vmiOrTemplateSpec) {
    return vmiOrTemplateSpec.get("spec", "domain", "resources", "requests", "memory");
  }

  /**
   * Each policy row from VM create to what KubeVirt then runs: AlwaysOn is started by
   * virt-controller (runStrategy Always), AlwaysOnUnlessStoppedManually by vmpower's first start
   * through virt-api, and the running VMI's launcher pod is injected; AlwaysOff and Manual stay
   * off.
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource({
    "AlwaysOn, true, false",
    "AlwaysOff, false, false",
    "Manual, false, false",
    "AlwaysOnUnlessStoppedManually, true, true"
  })
  void everyPolicyFromCreateToItsVmi(String policy, boolean runs, boolean startedByVmpower) {
    String name = "row-" + policy.toLowerCase(Locale.ROOT);
    Vms.create(NS, name, policy, "");
    if (runs) {
      GenericKubernetesResource vmi = Vms.awaitRunning(NS, name);
      assertThat(vmi.getMetadata().getLabels()).containsEntry("vmpower.io/run-policy", policy);
      assertThat(Suite.env().launcherPods(vmi))
          .singleElement()
          .satisfies(
              p -> {
                assertThat(p.getMetadata().getLabels())
                    .containsEntry("vmpower.io/run-policy", policy);
                assertThat(p.getMetadata().getAnnotations())
                    .containsKey("vmpower.io/injection-status");
              });
    } else {
      VirtctlE2E.awaitNoVmi(name);
      TestCluster.sleep(2000);
      assertThat(Suite.env().vmi(NS, name)).as("stays off").isNull();
    }
    if (startedByVmpower) {
      Suite.await(
          "StartedFirstTime",
          Duration.ofSeconds(10),
          () -> events(name, "StartedFirstTime").size() == 1);
    }
    assertThat(starts(name))
        .extracting(AuditLog.Entry::code)
        .as("starts through virt-api")
        .isEqualTo(startedByVmpower ? List.of(202) : List.of());
  }

  @Test
  void guestRebootOfAManualVmStartsItAgainFromTheChangedTemplate() {
    GenericKubernetesResource vmi = running("rebooter", "Manual");
    String oldUid = vmi.getMetadata().getUid();
    assertThat(memory(vmi)).isEqualTo("64Mi");
    // a change that only a new VMI picks up
    Kubectl edit =
        Suite.env()
            .cluster
            .kubectl(
                null,
                "patch",
                "vm",
                "rebooter",
                "-n",
                NS,
                "--type=merge",
                "-p",
                "{\"spec\":{\"template\":{\"spec\":{\"domain\":{\"resources\":{\"requests\":"
                    + "{\"memory\":\"96Mi\"}}}}}}}");
    assertThat(edit.exit()).as(edit.toString()).isZero();

    Suite.env().virtHandler.guestReset(NS, "rebooter");
    awaitRecord("rebooter", oldUid, "Start");
    assertThat(lastPowerEvent("rebooter")).containsEntry("reason", "guest-reset");
    GenericKubernetesResource next = Vms.awaitRunning(NS, "rebooter", oldUid);
    assertThat(memory(next)).as("the new VMI has the changed template").isEqualTo("96Mi");
    assertThat(Suite.env().vmi(NS, "rebooter")).isNotNull();
    assertThat(Suite.env().launcherPods(next))
        .singleElement()
        .satisfies(
            p ->
                assertThat(p.getMetadata().getAnnotations())
                    .containsKey("vmpower.io/injection-status"));
    // one start, through the API server to virt-api, as vmpower's ServiceAccount
    assertThat(starts("rebooter"))
        .filteredOn(s -> SA_USER.equals(s.user()))
        .extracting(AuditLog.Entry::code)
        .containsExactly(202);
    Suite.await(
        "Event RestartedAfterGuestReboot",
        Duration.ofSeconds(10),
        () -> events("rebooter", "RestartedAfterGuestReboot").size() == 1);
    assertThat(events("rebooter", "RestartedAfterGuestReboot").get(0).getType())
        .isEqualTo("Normal");
    Kubectl describe = Suite.env().cluster.kubectl(null, "describe", "vm", "rebooter", "-n", NS);
    assertThat(describe.exit()).as(describe.toString()).isZero();
    assertThat(describe.stdout())
        .contains("vmpower.io/last-power-event", "RestartedAfterGuestReboot", "vmpower-controller");
  }

  @Test
  void guestRebootOfAnAlwaysOnVmIsLeftToKubeVirt() {
    GenericKubernetesResource vmi = running("always", "AlwaysOn");
    Suite.env().virtHandler.guestReset(NS, "always");
    // runStrategy Always: virt-controller replaces the VMI by itself
    Vms.awaitRunning(NS, "always", vmi.getMetadata().getUid());
    assertThat(starts("always")).as("nobody called start").isEmpty();
    assertThat(vmpowerEvents("always")).isEmpty();
    assertThat(lastPowerEvent("always")).isEmpty();
  }

  @Test
  void guestPoweroffOfAManualVmLeavesItStopped() {
    GenericKubernetesResource vmi = running("poweroff", "Manual");
    Suite.env().virtHandler.guestPowerOff(NS, "poweroff");
    awaitRecord("poweroff", vmi.getMetadata().getUid(), "None");
    assertThat(lastPowerEvent("poweroff")).containsEntry("reason", "guest-shutdown");
    assertThat(events("poweroff", "GuestPoweredOff")).hasSize(1);
    assertThat(starts("poweroff"))
        .as("only the user's virtctl start")
        .allMatch(s -> !SA_USER.equals(s.user()));
    GenericKubernetesResource after = Suite.env().vmi(NS, "poweroff");
    assertThat(after.getMetadata().getUid()).isEqualTo(vmi.getMetadata().getUid());
    assertThat(VirtHandler.phase(after)).isEqualTo("Succeeded");
  }

  @Test
  void unlessStoppedVmStartsOnceAndAgainAfterItsPodIsLost() {
    String name = "survivor";
    Vms.create(NS, name, "AlwaysOnUnlessStoppedManually", "");
    // the first start comes from the controller (start-pending), through virt-api
    GenericKubernetesResource first = Vms.awaitRunning(NS, name);
    Suite.await(
        "start-pending removed",
        Duration.ofSeconds(30),
        () -> Vms.annotation(Suite.env().vm(NS, name), "vmpower.io/start-pending") == null);
    assertThat(events(name, "StartedFirstTime")).hasSize(1);

    // node lost and fenced: the pod object is gone, virt-controller fails the VMI
    Suite.env().virtHandler.loseNodeOf(NS, name);
    awaitRecord(name, first.getMetadata().getUid(), "Start");
    assertThat(lastPowerEvent(name)).containsEntry("reason", "pod-lost");
    Suite.await(
        "Event RestartedAfterFailure",
        Duration.ofSeconds(10),
        () -> events(name, "RestartedAfterFailure").size() == 1);
    assertThat(events(name, "RestartedAfterFailure").get(0).getType()).isEqualTo("Warning");
    Vms.awaitRunning(NS, name, first.getMetadata().getUid());
  }

  @Test
  void crashedManualVmStaysStopped() {
    GenericKubernetesResource vmi = running("crashed", "Manual");
    Suite.env().virtHandler.crash(NS, "crashed");
    awaitRecord("crashed", vmi.getMetadata().getUid(), "None");
    assertThat(events("crashed", "NotRestartedAfterFailure")).hasSize(1);
    assertThat(starts("crashed")).allMatch(s -> !SA_USER.equals(s.user()));
  }

  @Test
  void startSubresourceIsAuthorizedByTheApiServer() {
    running("guarded", "Manual");
    String user = "system:serviceaccount:" + NS + ":default";
    Kubectl r =
        Suite.env()
            .cluster
            .kubectl(
                "{}",
                "replace",
                "--raw",
                "/apis/subresources.kubevirt.io/v1/namespaces/"
                    + NS
                    + "/virtualmachines/guarded/start",
                "-f",
                "-",
                "--as=" + user);
    assertThat(r.exit()).as(r.toString()).isNotZero();
    assertThat(r.stderr()).contains("forbidden");
    assertThat(starts("guarded"))
        .filteredOn(s -> user.equals(s.user()))
        .extracting(AuditLog.Entry::code)
        .as("refused by the API server's RBAC, never proxied to virt-api")
        .containsExactly(403);
  }
}
