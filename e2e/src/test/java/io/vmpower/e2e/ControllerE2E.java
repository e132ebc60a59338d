package io.vmpower.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.vmpower.e2e.TestCluster.Kubectl;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The power controller on real watches, with the chart's RBAC (it runs as the chart's
 * ServiceAccount): VMI and pod status written through the API server as KubeVirt would, starts
 * through the aggregated {@code subresources.kubevirt.io} API (authorized by the API server,
 * proxied to the virt-api stand-in), the record on the VM and the Events.
 */
@Order(4)
@ExtendWith(Suite.class)
class ControllerE2E {
  static final String NS = Suite.ENABLED_NS;
  static final String SA_USER = "system:serviceaccount:vmpower-system:vmpower";

  /** Creates the VM through the webhook and lets the stand-in run it (VMI, injected pod). */
  static GenericKubernetesResource running(String name, String policy) {
    Kubectl r =
        Suite.env()
            .cluster
            .kubectl(Vms.manifest(NS, name, Vms.policy(policy), ""), "create", "-f", "-");
    assertThat(r.exit()).as(r.toString()).isZero();
    GenericKubernetesResource vmi = Suite.env().kubevirt.run(NS, name);
    List<Pod> pods = Suite.env().kubevirt.pods(NS, vmi);
    assertThat(pods).hasSize(1);
    assertThat(pods.get(0).getMetadata().getAnnotations())
        .as("the launcher pod went through the pod webhook")
        .containsKey("vmpower.io/injection-status");
    return vmi;
  }

  static Map<String, Object> lastPowerEvent(String name) {
    String json = Vms.annotation(Suite.env().kubevirt.vm(NS, name), "vmpower.io/last-power-event");
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

  @Test
  void guestRebootOfAManualVmStartsItAgainWithANewPod() {
    GenericKubernetesResource vmi = running("rebooter", "Manual");
    String oldUid = vmi.getMetadata().getUid();
    Suite.env().kubevirt.guestReset(NS, "rebooter");
    Suite.say("rebooter: guest reset written (VMI %s Succeeded)", oldUid);

    awaitRecord("rebooter", oldUid, "Start");
    assertThat(lastPowerEvent("rebooter")).containsEntry("reason", "guest-reset");
    List<KubeVirtStandIn.StartRequest> starts = Suite.env().kubevirt.startRequests(NS, "rebooter");
    assertThat(starts).isNotEmpty();
    assertThat(starts).allMatch(s -> s.user().equals(SA_USER), "proxied as the ServiceAccount");
    assertThat(starts).filteredOn(s -> s.code() == 202).hasSize(1);
    assertThat(Suite.env().kubevirt.proxyClients())
        .allMatch(c -> c.contains("CN=front-proxy-client"));
    Suite.await(
        "a new VMI with an injected pod",
        Duration.ofSeconds(20),
        () -> {
          GenericKubernetesResource next = Suite.env().kubevirt.vmi(NS, "rebooter");
          return next != null
              && !next.getMetadata().getUid().equals(oldUid)
              && Suite.env().kubevirt.pods(NS, next).stream()
                  .anyMatch(
                      p ->
                          p.getMetadata()
                              .getAnnotations()
                              .containsKey("vmpower.io/injection-status"));
        });
    Suite.await(
        "Event RestartedAfterGuestReboot",
        Duration.ofSeconds(10),
        () -> events("rebooter", "RestartedAfterGuestReboot").size() == 1);
    assertThat(events("rebooter", "RestartedAfterGuestReboot").get(0).getType())
        .isEqualTo("Normal");
    // what users see
    Kubectl describe = Suite.env().cluster.kubectl(null, "describe", "vm", "rebooter", "-n", NS);
    assertThat(describe.exit()).as(describe.toString()).isZero();
    assertThat(describe.stdout())
        .contains("vmpower.io/last-power-event", "RestartedAfterGuestReboot", "vmpower-controller");
  }

  @Test
  void guestPoweroffOfAManualVmLeavesItStopped() {
    GenericKubernetesResource vmi = running("poweroff", "Manual");
    Suite.env().kubevirt.guestShutdown(NS, "poweroff");
    awaitRecord("poweroff", vmi.getMetadata().getUid(), "None");
    assertThat(lastPowerEvent("poweroff")).containsEntry("reason", "guest-shutdown");
    assertThat(Suite.env().kubevirt.startRequests(NS, "poweroff")).isEmpty();
    assertThat(events("poweroff", "GuestPoweredOff")).hasSize(1);
    assertThat(Suite.env().kubevirt.vmi(NS, "poweroff").getMetadata().getUid())
        .isEqualTo(vmi.getMetadata().getUid());
  }

  @Test
  void lostPodOfAnUnlessStoppedVmStartsItAgain() {
    String name = "survivor";
    Kubectl r =
        Suite.env()
            .cluster
            .kubectl(
                Vms.manifest(NS, name, Vms.policy("AlwaysOnUnlessStoppedManually"), ""),
                "create",
                "-f",
                "-");
    assertThat(r.exit()).as(r.toString()).isZero();
    // the first start comes from the controller (start-pending), through virt-api
    Suite.await(
        "first start, start-pending removed",
        Duration.ofSeconds(30),
        () ->
            Suite.env().kubevirt.vmi(NS, name) != null
                && Vms.annotation(Suite.env().kubevirt.vm(NS, name), "vmpower.io/start-pending")
                    == null);
    assertThat(events(name, "StartedFirstTime")).hasSize(1);
    GenericKubernetesResource first = Suite.env().kubevirt.vmi(NS, name);
    Suite.await(
        "first VMI Running",
        Duration.ofSeconds(10),
        () -> "Running".equals(Suite.env().kubevirt.vmi(NS, name).get("status", "phase")));

    Suite.env().kubevirt.podLost(NS, name);
    Suite.say("%s: pod deleted, VMI Failed", name);
    awaitRecord(name, first.getMetadata().getUid(), "Start");
    assertThat(lastPowerEvent(name)).containsEntry("reason", "pod-lost");
    Suite.await(
        "Event RestartedAfterFailure",
        Duration.ofSeconds(10),
        () -> events(name, "RestartedAfterFailure").size() == 1);
    assertThat(events(name, "RestartedAfterFailure").get(0).getType()).isEqualTo("Warning");
    Suite.await(
        "replaced VMI",
        Duration.ofSeconds(20),
        () -> {
          GenericKubernetesResource next = Suite.env().kubevirt.vmi(NS, name);
          return next != null && !next.getMetadata().getUid().equals(first.getMetadata().getUid());
        });
  }

  @Test
  void failedVmiOfAManualVmStaysStopped() {
    GenericKubernetesResource vmi = running("crashed", "Manual");
    Suite.env().kubevirt.end(NS, "crashed", null, "Failed");
    awaitRecord("crashed", vmi.getMetadata().getUid(), "None");
    assertThat(Suite.env().kubevirt.startRequests(NS, "crashed")).isEmpty();
    assertThat(events("crashed", "NotRestartedAfterFailure")).hasSize(1);
  }

  @Test
  void startSubresourceIsAuthorizedByTheApiServer() {
    running("guarded", "Manual");
    int before = Suite.env().kubevirt.startRequests(NS, "guarded").size();
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
                "--as=system:serviceaccount:" + NS + ":default");
    assertThat(r.exit()).as(r.toString()).isNotZero();
    assertThat(r.stderr()).contains("forbidden");
    assertThat(Suite.env().kubevirt.startRequests(NS, "guarded"))
        .as("never reached virt-api")
        .hasSize(before);
  }
}
