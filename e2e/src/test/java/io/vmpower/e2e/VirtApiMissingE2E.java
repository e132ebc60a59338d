package io.vmpower.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import java.time.Duration;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Without KubeVirt's aggregated API the API server itself answers 404 for {@code
 * subresources.kubevirt.io}: that must not count as "the VM is gone". The start has to wait for
 * virt-api and happen once it is back.
 */
@Order(10)
@ExtendWith(Suite.class)
class VirtApiMissingE2E {

  @Test
  void startWaitsForVirtApiInsteadOfGivingUp() {
    Suite.Environment env = Suite.env();
    String ns = Suite.ENABLED_NS;
    GenericKubernetesResource vmi = ControllerE2E.running("no-virt-api", "Manual");
    env.kubevirt.unregisterSubresourceApi();
    try {
      Suite.await(
          "the API server no longer serves subresources.kubevirt.io",
          Duration.ofSeconds(30),
          () -> {
            TestCluster.Kubectl r =
                env.cluster.kubectl(
                    "{}",
                    "replace",
                    "--raw",
                    "/apis/subresources.kubevirt.io/v1/namespaces/"
                        + ns
                        + "/virtualmachines/no-virt-api/start",
                    "-f",
                    "-");
            return r.exit() != 0 && r.stderr().contains("NotFound");
          });
      env.virtHandler.guestReset(ns, "no-virt-api");
      Suite.await(
          "Event StartFailed",
          Duration.ofSeconds(30),
          () -> !ControllerE2E.events("no-virt-api", "StartFailed").isEmpty());
      assertThat(ControllerE2E.events("no-virt-api", "RestartedAfterGuestReboot"))
          .as("nothing was started")
          .isEmpty();
      assertThat(ControllerE2E.lastPowerEvent("no-virt-api")).doesNotContainEntry("state", "Done");
    } finally {
      env.kubevirt.registerSubresourceApi();
    }
    // virt-api is back: the retry starts the VM, once
    ControllerE2E.awaitRecord("no-virt-api", vmi.getMetadata().getUid(), "Start");
    Vms.awaitRunning(ns, "no-virt-api", vmi.getMetadata().getUid());
    assertThat(ControllerE2E.starts("no-virt-api"))
        .filteredOn(s -> ControllerE2E.SA_USER.equals(s.user()) && s.code() == 202)
        .hasSize(1);
  }
}
