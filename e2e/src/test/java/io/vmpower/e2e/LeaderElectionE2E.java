package io.vmpower.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.vmpower.e2e.TestCluster.Kubectl;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Two instances, one Lease holder; when it stops, the other takes over and acts. */
@Order(8)
@ExtendWith(Suite.class)
class LeaderElectionE2E {

  static Lease lease() {
    return Suite.env()
        .client
        .leases()
        .inNamespace(Suite.RELEASE_NAMESPACE)
        .withName(Suite.env().chart.leaseName())
        .get();
  }

  @Test
  void oneHolderAndHandOver() {
    Suite.Environment env = Suite.env();
    List<VmPowerApp> apps = env.runningApps();
    assertThat(apps).hasSize(2);
    // the identity is POD_NAME, as the chart sets it
    String holderPod = lease().getSpec().getHolderIdentity();
    assertThat(holderPod).isIn(apps.stream().map(a -> VmPowerApp.podName(a.identity())).toList());
    String holder = holderPod.substring("vmpower-".length());
    Suite.await(
        "exactly one instance reports leadership",
        Duration.ofSeconds(10),
        () ->
            apps.stream()
                .filter(a -> a.metric("vmpower_controller_leader") == 1.0)
                .map(VmPowerApp::identity)
                .toList()
                .equals(List.of(holder)));
    String other =
        apps.stream()
            .map(VmPowerApp::identity)
            .filter(id -> !id.equals(holder))
            .findFirst()
            .orElseThrow();
    Suite.say("Lease held by %s; stopping it", holder);

    env.stopApp(holder);
    Suite.await(
        "Lease taken over by " + other,
        Duration.ofSeconds(30),
        () -> VmPowerApp.podName(other).equals(lease().getSpec().getHolderIdentity()));
    VmPowerApp survivor = env.runningApps().get(0);
    Suite.await(
        "leader gauge",
        Duration.ofSeconds(10),
        () -> survivor.metric("vmpower_controller_leader") == 1.0);
    Suite.say("Lease now held by %s", other);

    // the new leader acts: a first start of a new VM
    Kubectl r =
        env.cluster.kubectl(
            Vms.manifest(
                Suite.ENABLED_NS,
                "after-handover",
                Vms.policy("AlwaysOnUnlessStoppedManually"),
                ""),
            "create",
            "-f",
            "-");
    assertThat(r.exit()).as(r.toString()).isZero();
    Suite.await(
        "first start by the new leader",
        Duration.ofSeconds(30),
        () ->
            env.vmi(Suite.ENABLED_NS, "after-handover") != null
                && Vms.annotation(
                        env.vm(Suite.ENABLED_NS, "after-handover"), "vmpower.io/start-pending")
                    == null);
  }
}
