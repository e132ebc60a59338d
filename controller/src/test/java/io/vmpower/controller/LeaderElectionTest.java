package io.vmpower.controller;

import static io.vmpower.controller.testing.MockCluster.ENABLED_NS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vmpower.api.Keys;
import io.vmpower.controller.testing.FakeKubeVirt;
import io.vmpower.controller.testing.MockCluster;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Two controller instances against one API server: one leader acts, the other takes over. */
class LeaderElectionTest {
  private MockCluster cluster;
  private FakeKubeVirt kubevirt;
  private PowerController a;
  private PowerController b;

  @BeforeEach
  void twoInstances() {
    cluster = new MockCluster();
    kubevirt = cluster.kubevirt();
    a = instance("a");
    b = instance("b");
    a.start();
    b.start();
    await().atMost(Duration.ofSeconds(5)).until(() -> a.isLeader() || b.isLeader());
  }

  @AfterEach
  void stop() {
    a.close();
    b.close();
    cluster.close();
  }

  private PowerController instance(String identity) {
    return new PowerController(
        cluster.client(identity),
        TestSettings.forIdentity(identity).build(),
        new SimpleMeterRegistry());
  }

  private String reboot(String name, String policy) {
    kubevirt.createVm(ENABLED_NS, name, policy, Map.of());
    kubevirt.run(ENABLED_NS, name);
    String uid = kubevirt.vmi(ENABLED_NS, name).getMetadata().getUid();
    kubevirt.guestReset(ENABLED_NS, name);
    return uid;
  }

  private Optional<PowerEventRecord> record(String name) {
    return PowerEventRecord.parse(
        KubeVirt.annotation(cluster.vm(ENABLED_NS, name), Keys.LAST_POWER_EVENT));
  }

  private void awaitStartedOnce(String name, String uid) {
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> record(name), r -> r.isPresent() && r.get().isDone() && r.get().isFor(uid));
    await()
        .during(Duration.ofMillis(700))
        .atMost(Duration.ofSeconds(3))
        .until(() -> kubevirt.starts(ENABLED_NS, name) == 1);
  }

  @Test
  void onlyTheLeaderActsAndTheOtherTakesOverWhenItStops() {
    PowerController leader = a.isLeader() ? a : b;
    PowerController standby = leader == a ? b : a;
    assertThat(standby.isLeader()).isFalse();

    awaitStartedOnce("before", reboot("before", "Manual"));
    // The standby wrote nothing but its attempts on the Lease.
    String standbyName = standby == a ? "a " : "b ";
    assertThat(cluster.faults().writes())
        .filteredOn(w -> w.startsWith(standbyName))
        .allMatch(w -> w.contains("/leases"));
    assertThat(cluster.faults().writes())
        .filteredOn(w -> w.contains("/start"))
        .hasSize(1)
        .allMatch(w -> w.startsWith(standby == a ? "b " : "a "));

    long stopped = System.nanoTime();
    leader.close();
    String uid = reboot("meanwhile", "AlwaysOnUnlessStoppedManually");
    await().atMost(TestSettings.LEASE).until(standby::isLeader);
    assertThat(Duration.ofNanos(System.nanoTime() - stopped)).isLessThan(TestSettings.LEASE);
    awaitStartedOnce("meanwhile", uid);
    assertThat(kubevirt.starts(ENABLED_NS, "before")).isEqualTo(1);
  }

  @Test
  void aPartitionedLeaderStopsActingAndTheOtherTakesOverAfterTheLease() {
    PowerController leader = a.isLeader() ? a : b;
    PowerController standby = leader == a ? b : a;
    String leaderName = leader == a ? "a" : "b";

    // The leader can no longer reach the API server (and so cannot renew or release the lease).
    cluster.faults().fail(MockCluster.from(leaderName), Integer.MAX_VALUE, 503, "partitioned");
    long cut = System.nanoTime();
    await().atMost(Duration.ofSeconds(3)).until(() -> !leader.isLeader());
    // It gave up within its renew deadline, before anybody else may take over.
    assertThat(Duration.ofNanos(System.nanoTime() - cut)).isLessThan(TestSettings.LEASE);

    String uid = reboot("partitioned", "Manual");
    await().atMost(TestSettings.LEASE.multipliedBy(3)).until(standby::isLeader);
    awaitStartedOnce("partitioned", uid);
    assertThat(leader.isLeader()).isFalse();
  }
}
