package io.vmpower.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.vmpower.e2e.TestCluster.Kubectl;
import java.time.Duration;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * With the application stopped (no endpoints left), the API server applies the failure policies:
 * virt-launcher pods fail open (virt-controller's pod is created without the monitor and the VM
 * runs), VMs fail closed. Runs last.
 */
@Order(99)
@ExtendWith(Suite.class)
class FailurePolicyE2E {
  static final String NS = Suite.ENABLED_NS;

  @Test
  void podsFailOpenAndVmsFailClosedWhileTheApplicationIsDown() {
    Suite.Environment env = Suite.env();
    Vms.create(NS, "while-down", "Manual", "");
    // virt-controller's own write of the new VM (its finalizer) goes through the VM webhook too
    Suite.await(
        "virt-controller took over VM while-down",
        Duration.ofSeconds(30),
        () ->
            env.vm(NS, "while-down").getMetadata().getFinalizers() != null
                && !env.vm(NS, "while-down").getMetadata().getFinalizers().isEmpty()
                && "Stopped".equals(env.vm(NS, "while-down").get("status", "printableStatus")));
    for (VmPowerApp app : env.runningApps()) {
      env.stopApp(app.identity());
    }
    assertThat(env.runningApps()).isEmpty();

    // a start goes through: virt-api records it in the VM's status (not intercepted), and
    // virt-controller's launcher pod is created without the monitor
    Kubectl start = env.kubevirt.virtctl("start", "while-down", "-n", NS);
    assertThat(start.exit()).as(start.toString()).isZero();
    GenericKubernetesResource vmi = Vms.awaitRunning(NS, "while-down");
    Pod pod = env.launcherPods(vmi).get(0);
    assertThat(pod.getMetadata().getLabels()).containsEntry("vmpower.io/run-policy", "Manual");
    assertThat(pod.getMetadata().getAnnotations()).doesNotContainKey("vmpower.io/injection-status");
    assertThat(PodInjectionE2E.compute(pod).getCommand().get(0))
        .isEqualTo("/usr/bin/virt-launcher-monitor");

    Kubectl vm =
        env.cluster.kubectl(
            Vms.manifest(NS, "created-while-down", Vms.policy("AlwaysOn"), ""),
            "create",
            "-f",
            "-");
    assertThat(vm.exit()).as(vm.toString()).isNotZero();
    assertThat(vm.stderr()).contains("failed calling webhook \"vms.vmpower.io\"");
    assertThat(env.vm(NS, "created-while-down")).isNull();

    // namespaces that are not enabled do not depend on vmpower at all
    Kubectl plain =
        env.cluster.kubectl(
            Vms.manifest(
                Suite.PLAIN_NS, "while-down", Vms.policy("AlwaysOn"), "runStrategy: Halted"),
            "create",
            "-f",
            "-");
    assertThat(plain.exit()).as(plain.toString()).isZero();
  }
}
