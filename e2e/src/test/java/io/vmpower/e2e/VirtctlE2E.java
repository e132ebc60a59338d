package io.vmpower.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.vmpower.e2e.TestCluster.Kubectl;
import java.time.Duration;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code virtctl stop/start/restart} on each policy, through KubeVirt's real subresources: virt-api
 * turns them into runStrategy patches (AlwaysOn, AlwaysOff) that vmpower's VM webhook judges, or
 * into state change requests in the VM's status (Manual) that virt-controller carries out. A
 * vmpower denial reaches virtctl's user inside virt-api's HTTP 500 ("Internal error occurred:
 * admission webhook ... denied the request: ..."), and vmpower's controller never mistakes a user's
 * stop or restart for a power event.
 */
@Order(5)
@ExtendWith(Suite.class)
class VirtctlE2E {
  static final String NS = Suite.ENABLED_NS;

  static Kubectl virtctl(String verb, String vm) {
    return Suite.env().kubevirt.virtctl(verb, vm, "-n", NS);
  }

  /** Nothing of vmpower's controller happened to this VM: no start, no Event, no record. */
  static void vmpowerStoodBack(String vm) {
    assertThat(ControllerE2E.starts(vm))
        .as("no start by vmpower")
        .noneMatch(s -> ControllerE2E.SA_USER.equals(s.user()));
    assertThat(ControllerE2E.vmpowerEvents(vm)).isEmpty();
  }

  static void awaitNoVmi(String vm) {
    Suite.await(
        "no VMI of " + vm,
        Duration.ofSeconds(60),
        () ->
            Suite.env().vmi(NS, vm) == null
                && "Stopped".equals(Suite.env().vm(NS, vm).get("status", "printableStatus")));
  }

  static String denial(String vm, String policy, String kept, String refused) {
    return "admission webhook \"vms.vmpower.io\" denied the request: VirtualMachine "
        + NS
        + "/"
        + vm
        + " has run policy "
        + policy
        + ", which keeps spec.runStrategy: "
        + kept
        + "; refusing spec.runStrategy: "
        + refused;
  }

  @Test
  void alwaysOn() {
    GenericKubernetesResource vmi = ControllerE2E.running("vctl-on", "AlwaysOn");
    Kubectl stop = virtctl("stop", "vctl-on");
    assertThat(stop.exit()).as(stop.toString()).isNotZero();
    // virt-api patched runStrategy Halted, vmpower denied it, virt-api answered 500
    assertThat(stop.stderr())
        .contains("Internal error occurred", denial("vctl-on", "AlwaysOn", "Always", "Halted"));
    Kubectl start = virtctl("start", "vctl-on");
    assertThat(start.exit()).as(start.toString()).isNotZero();
    // virt-api checks for a running VMI before it looks at the runStrategy
    assertThat(start.stderr()).contains("VM is already running");
    assertThat(Suite.env().vmi(NS, "vctl-on").getMetadata().getUid())
        .isEqualTo(vmi.getMetadata().getUid());

    Kubectl restart = virtctl("restart", "vctl-on");
    assertThat(restart.exit()).as(restart.toString()).isZero();
    Vms.awaitRunning(NS, "vctl-on", vmi.getMetadata().getUid());
    vmpowerStoodBack("vctl-on");
  }

  @Test
  void alwaysOff() {
    Vms.create(NS, "vctl-off", "AlwaysOff", "");
    Kubectl start = virtctl("start", "vctl-off");
    assertThat(start.exit()).as(start.toString()).isNotZero();
    assertThat(start.stderr())
        .contains("Internal error occurred", denial("vctl-off", "AlwaysOff", "Halted", "Always"));
    Kubectl stop = virtctl("stop", "vctl-off");
    assertThat(stop.exit()).as(stop.toString()).isNotZero();
    assertThat(stop.stderr()).contains("VM is not running");
    Kubectl restart = virtctl("restart", "vctl-off");
    assertThat(restart.exit()).as(restart.toString()).isNotZero();
    assertThat(restart.stderr()).contains("Halted does not support manual restart requests");
    awaitNoVmi("vctl-off");
    assertThat(Vms.spec(Suite.env().vm(NS, "vctl-off"), "runStrategy")).isEqualTo("Halted");
  }

  @Test
  void manual() {
    GenericKubernetesResource first = ControllerE2E.running("vctl-manual", "Manual");
    // restart: virt-controller stops the VMI (the guest shuts down gracefully, recorded as a
    // guest-shutdown) and starts a new one; vmpower stands back
    Kubectl restart = virtctl("restart", "vctl-manual");
    assertThat(restart.exit()).as(restart.toString()).isZero();
    GenericKubernetesResource second =
        Vms.awaitRunning(NS, "vctl-manual", first.getMetadata().getUid());
    Kubectl stop = virtctl("stop", "vctl-manual");
    assertThat(stop.exit()).as(stop.toString()).isZero();
    awaitNoVmi("vctl-manual");
    TestCluster.sleep(2000);
    assertThat(Suite.env().vmi(NS, "vctl-manual")).as("stays stopped").isNull();
    vmpowerStoodBack("vctl-manual");
    assertThat(second.getMetadata().getUid()).isNotEqualTo(first.getMetadata().getUid());
  }

  @Test
  void alwaysOnUnlessStoppedManually() {
    Vms.create(NS, "vctl-unless", "AlwaysOnUnlessStoppedManually", "");
    GenericKubernetesResource first = Vms.awaitRunning(NS, "vctl-unless");
    Suite.await(
        "first start done",
        Duration.ofSeconds(30),
        () -> !ControllerE2E.events("vctl-unless", "StartedFirstTime").isEmpty());
    Kubectl stop = virtctl("stop", "vctl-unless");
    assertThat(stop.exit()).as(stop.toString()).isZero();
    awaitNoVmi("vctl-unless");
    TestCluster.sleep(2000);
    assertThat(Suite.env().vmi(NS, "vctl-unless")).as("stopped manually: stays stopped").isNull();
    assertThat(ControllerE2E.events("vctl-unless", "RestartedAfterFailure")).isEmpty();

    Kubectl start = virtctl("start", "vctl-unless");
    assertThat(start.exit()).as(start.toString()).isZero();
    GenericKubernetesResource second =
        Vms.awaitRunning(NS, "vctl-unless", first.getMetadata().getUid());
    Kubectl restart = virtctl("restart", "vctl-unless");
    assertThat(restart.exit()).as(restart.toString()).isZero();
    Vms.awaitRunning(NS, "vctl-unless", second.getMetadata().getUid());
    // vmpower started it once (start-pending) and never again
    assertThat(ControllerE2E.starts("vctl-unless"))
        .filteredOn(s -> ControllerE2E.SA_USER.equals(s.user()))
        .hasSize(1);
    assertThat(ControllerE2E.vmpowerEvents("vctl-unless"))
        .extracting(e -> e.getReason())
        .containsExactly("StartedFirstTime");
  }
}
