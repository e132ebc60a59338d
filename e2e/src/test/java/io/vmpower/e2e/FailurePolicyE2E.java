package io.vmpower.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.vmpower.e2e.TestCluster.Kubectl;
import java.util.Map;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * With the application stopped (no endpoints left), the API server applies the failure policies:
 * virt-launcher pods fail open (created without the monitor), VMs fail closed. Runs last.
 */
@Order(99)
@ExtendWith(Suite.class)
class FailurePolicyE2E {

  @Test
  void podsFailOpenAndVmsFailClosedWhileTheApplicationIsDown() {
    Suite.Environment env = Suite.env();
    for (VmPowerApp app : env.runningApps()) {
      env.stopApp(app.identity());
    }
    assertThat(env.runningApps()).isEmpty();

    Pod pod =
        PodInjectionE2E.launcher(
            Suite.ENABLED_NS, "while-down", Map.of("vmpower.io/run-policy", "Manual"));
    Kubectl created = env.cluster.kubectl(Vms.JSON.asJson(pod), "create", "-o", "json", "-f", "-");
    assertThat(created.exit()).as(created.toString()).isZero();
    Pod stored = Vms.JSON.unmarshal(created.stdout(), Pod.class);
    assertThat(PodInjectionE2E.compute(stored).getCommand())
        .isEqualTo(PodInjectionE2E.compute(pod).getCommand());
    assertThat(stored.getMetadata().getAnnotations())
        .doesNotContainKey("vmpower.io/injection-status");

    Kubectl vm =
        env.cluster.kubectl(
            Vms.manifest(Suite.ENABLED_NS, "while-down", Vms.policy("AlwaysOn"), ""),
            "create",
            "-f",
            "-");
    assertThat(vm.exit()).as(vm.toString()).isNotZero();
    assertThat(vm.stderr()).contains("failed calling webhook \"vms.vmpower.io\"");
    assertThat(env.kubevirt.vm(Suite.ENABLED_NS, "while-down")).isNull();

    // namespaces that are not enabled do not depend on vmpower at all
    Kubectl plain =
        env.cluster.kubectl(
            Vms.manifest(Suite.PLAIN_NS, "while-down", Vms.policy("AlwaysOn"), ""),
            "create",
            "-f",
            "-");
    assertThat(plain.exit()).as(plain.toString()).isZero();
  }
}
