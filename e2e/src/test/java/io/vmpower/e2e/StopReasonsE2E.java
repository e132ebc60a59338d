package io.vmpower.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.vmpower.e2e.TestCluster.Kubectl;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 14 against KubeVirt's own control plane: a reset restarts, a guest panic stays stopped, a
 * VM that keeps stopping is given up on until a user starts it, and the native reboot policy
 * follows KubeVirt's RebootPolicy feature gate. The suite runs the controller with a restart limit
 * of 2 and a backoff of 1 s doubling to 2 s ({@link Suite}).
 */
@Order(5)
@ExtendWith(Suite.class)
class StopReasonsE2E {
  static final String NS = Suite.ENABLED_NS;

  private static String uid(GenericKubernetesResource vmi) {
    return vmi.getMetadata().getUid();
  }

  @Test
  void aResetRestartsAndAPanicStaysStopped() {
    GenericKubernetesResource reset =
        ControllerE2E.running("resetter", "AlwaysOnUnlessStoppedManually");
    Suite.env().virtHandler.end(NS, "resetter", "Succeeded", GuestRecords::hostReset);
    ControllerE2E.awaitRecord("resetter", uid(reset), "Start");
    assertThat(ControllerE2E.lastPowerEvent("resetter")).containsEntry("reason", "host-reset");
    Vms.awaitRunning(NS, "resetter", uid(reset));
    assertThat(ControllerE2E.events("resetter", "RestartedAfterReset")).hasSize(1);

    GenericKubernetesResource panic =
        ControllerE2E.running("panicker", "AlwaysOnUnlessStoppedManually");
    // A Failed VMI with a guest-panic record: the guest's doing, not the infrastructure's.
    Suite.env().virtHandler.end(NS, "panicker", "Failed", GuestRecords::panic);
    ControllerE2E.awaitRecord("panicker", uid(panic), "None");
    assertThat(ControllerE2E.lastPowerEvent("panicker")).containsEntry("reason", "guest-panic");
    assertThat(ControllerE2E.events("panicker", "GuestPanicked"))
        .singleElement()
        .satisfies(e -> assertThat(e.getType()).isEqualTo("Warning"));
    TestCluster.sleep(2000);
    assertThat(ControllerE2E.starts("panicker")).as("only the first start").hasSize(1);
  }

  @Test
  void aVmThatKeepsStoppingIsGivenUpOnUntilAUserStartsIt() {
    GenericKubernetesResource vmi = ControllerE2E.running("looper", "Manual");
    for (int restart = 1; restart <= 2; restart++) {
      Suite.env().virtHandler.guestReset(NS, "looper");
      ControllerE2E.awaitRecord("looper", uid(vmi), "Start");
      vmi = Vms.awaitRunning(NS, "looper", uid(vmi));
    }
    assertThat(ControllerE2E.events("looper", "RestartBackOff")).hasSize(1);
    // The third end of the streak: given up.
    Suite.env().virtHandler.guestReset(NS, "looper");
    ControllerE2E.awaitRecord("looper", uid(vmi), "None");
    Map<String, Object> record = ControllerE2E.lastPowerEvent("looper");
    assertThat(record).containsKey("gaveUp").containsEntry("restarts", Map.of("guest-reset", 2));
    assertThat(ControllerE2E.events("looper", "GaveUpRestarting")).hasSize(1);
    Suite.await(
        "vmpower_controller_vms_gave_up 1",
        Duration.ofSeconds(20),
        () -> Suite.env().metric("vmpower_controller_vms_gave_up") == 1.0);
    TestCluster.sleep(3000);
    assertThat(Suite.env().vmi(NS, "looper").<String>get("status", "phase")).isEqualTo("Succeeded");

    // virtctl start, by the user: the give-up is cleared.
    Kubectl start = Suite.env().kubevirt.virtctl("start", "looper", "-n", NS);
    assertThat(start.exit()).as(start.toString()).isZero();
    Vms.awaitRunning(NS, "looper", uid(vmi));
    Suite.await(
        "give-up cleared",
        Duration.ofSeconds(30),
        () -> !ControllerE2E.lastPowerEvent("looper").containsKey("gaveUp"));
    assertThat(ControllerE2E.events("looper", "RestartLoopCleared")).hasSize(1);
    Suite.await(
        "vmpower_controller_vms_gave_up 0",
        Duration.ofSeconds(20),
        () -> Suite.env().metric("vmpower_controller_vms_gave_up") == 0.0);
  }

  @Test
  void theNativeRebootPolicyFollowsKubeVirtsGate() {
    String terminate = "/spec/template/spec/domain/rebootPolicy";
    // Gate off (the suite's KubeVirt CR does not list it, v1.8 is alpha): never set.
    Vms.create(NS, "gate-off", "Manual", "");
    assertThat(
            Suite.env()
                .vm(NS, "gate-off")
                .<String>get("spec", "template", "spec", "domain", "rebootPolicy"))
        .isNull();

    List<String> gates = new ArrayList<>(KubeVirtControlPlane.FEATURE_GATES);
    gates.add("RebootPolicy");
    Suite.env().kubevirt.featureGates(gates);
    try {
      String manifest = Vms.manifest(NS, "gate-on", Vms.policy("Manual"), "");
      Suite.await(
          "vmpower and virt-api see the RebootPolicy gate",
          Duration.ofSeconds(30),
          () -> {
            Kubectl dry =
                Suite.env()
                    .cluster
                    .kubectl(manifest, "create", "--dry-run=server", "-o", "json", "-f", "-");
            return dry.exit() == 0 && dry.stdout().contains("\"rebootPolicy\": \"Terminate\"");
          });
      Kubectl created = Suite.env().cluster.kubectl(manifest, "create", "-f", "-");
      assertThat(created.exit()).as(created.toString()).isZero();
      GenericKubernetesResource vm = Suite.env().vm(NS, "gate-on");
      assertThat(vm.<String>get("spec", "template", "spec", "domain", "rebootPolicy"))
          .as(terminate)
          .isEqualTo("Terminate");
      assertThat(Vms.annotation(vm, "vmpower.io/native-reboot-policy")).isEqualTo("Terminate");
    } finally {
      Suite.env().kubevirt.featureGates(KubeVirtControlPlane.FEATURE_GATES);
    }
    // Gate off again: vmpower takes its own value back on the VM's next update, before KubeVirt's
    // validation would refuse the field.
    Suite.await(
        "vmpower takes Terminate back",
        Duration.ofSeconds(30),
        () -> {
          Kubectl touch =
              Suite.env()
                  .cluster
                  .kubectl(
                      null,
                      "annotate",
                      "vm",
                      "gate-on",
                      "-n",
                      NS,
                      "--overwrite",
                      "touched=" + System.nanoTime());
          GenericKubernetesResource vm = Suite.env().vm(NS, "gate-on");
          return touch.exit() == 0
              && vm.get("spec", "template", "spec", "domain", "rebootPolicy") == null
              && Vms.annotation(vm, "vmpower.io/native-reboot-policy") == null;
        });
  }
}
