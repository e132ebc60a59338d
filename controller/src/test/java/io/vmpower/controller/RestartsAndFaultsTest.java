package io.vmpower.controller;

import static io.vmpower.controller.testing.MockCluster.ENABLED_NS;
import static io.vmpower.controller.testing.MockCluster.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vmpower.api.Keys;
import io.vmpower.controller.testing.FakeKubeVirt;
import io.vmpower.controller.testing.MockCluster;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Exactly once under restarts and faults: a controller restarted in the middle of an action, an API
 * answering 409/500 or timing out, watches dropping. Each test asserts that the due start happened
 * once (virt-api accepted exactly one start) and the record is complete.
 */
class RestartsAndFaultsTest {
  private static final String VM = "vm";

  private MockCluster cluster;
  private FakeKubeVirt kubevirt;
  private PowerController controller;

  @BeforeEach
  void cluster() {
    cluster = new MockCluster();
    kubevirt = cluster.kubevirt();
  }

  @AfterEach
  void stop() {
    if (controller != null) {
      controller.close();
    }
    cluster.close();
  }

  private PowerController startController(String identity) {
    PowerController c =
        new PowerController(
            cluster.client(identity),
            TestSettings.forIdentity(identity).build(),
            new SimpleMeterRegistry());
    c.start();
    await().atMost(Duration.ofSeconds(5)).until(c::isLeader);
    return c;
  }

  private void runningVm(String policy) {
    kubevirt.createVm(ENABLED_NS, VM, policy, Map.of());
    kubevirt.run(ENABLED_NS, VM);
  }

  private Optional<PowerEventRecord> record() {
    return PowerEventRecord.parse(
        KubeVirt.annotation(cluster.vm(ENABLED_NS, VM), Keys.LAST_POWER_EVENT));
  }

  /** The due start happened once, the record says Done, and nothing more follows. */
  private void assertStartedExactlyOnce(String endedUid) {
    PowerEventRecord done =
        await()
            .atMost(Duration.ofSeconds(15))
            .until(this::record, r -> r.isPresent() && r.get().isDone())
            .orElseThrow();
    assertThat(done.vmiUid()).isEqualTo(endedUid);
    assertThat(done.action()).isEqualTo("Start");
    await()
        .atMost(Duration.ofSeconds(5))
        .until(
            () ->
                "Running".equals(kubevirt.vmiPhase(ENABLED_NS, VM))
                    && !endedUid.equals(kubevirt.vmi(ENABLED_NS, VM).getMetadata().getUid()));
    await()
        .during(Duration.ofMillis(700))
        .atMost(Duration.ofSeconds(3))
        .until(() -> kubevirt.starts(ENABLED_NS, VM) == 1);
    // One Event for the one action, even if it was written by more than one attempt.
    assertThat(cluster.eventReasons(ENABLED_NS, VM))
        .filteredOn(r -> r.startsWith("Restarted"))
        .hasSize(1);
  }

  private String writeRecord(PowerEventRecord r) {
    cluster
        .admin()
        .genericKubernetesResources(KubeVirt.VM)
        .inNamespace(ENABLED_NS)
        .withName(VM)
        .patch(
            PatchContext.of(PatchType.JSON_MERGE),
            "{\"metadata\":{\"annotations\":{\""
                + Keys.LAST_POWER_EVENT
                + "\":"
                + com.fasterxml.jackson.databind.node.TextNode.valueOf(r.toJson())
                + "}}}");
    return r.vmiUid();
  }

  // ---- restarts ------------------------------------------------------------------------------

  @Test
  void aRebootWhileNoControllerRunsIsHandledOnStart() {
    runningVm("Manual");
    String uid = kubevirt.vmi(ENABLED_NS, VM).getMetadata().getUid();
    kubevirt.guestReset(ENABLED_NS, VM);
    controller = startController("late");
    assertStartedExactlyOnce(uid);
  }

  @Test
  void crashAfterClaimBeforeStart() {
    // A previous instance claimed the start and died before calling virt-api.
    runningVm("Manual");
    String uid = kubevirt.vmi(ENABLED_NS, VM).getMetadata().getUid();
    kubevirt.guestReset(ENABLED_NS, VM);
    writeRecord(PowerEventRecord.starting(uid, "guest-reset", Instant.now()));
    controller = startController("next");
    assertStartedExactlyOnce(uid);
  }

  @Test
  void crashAfterStartBeforeConfirmation() {
    // A previous instance claimed, virt-api accepted its start, and it died before writing Done.
    runningVm("Manual");
    String uid = kubevirt.vmi(ENABLED_NS, VM).getMetadata().getUid();
    kubevirt.guestReset(ENABLED_NS, VM);
    writeRecord(PowerEventRecord.starting(uid, "guest-reset", Instant.now()));
    try (var client = cluster.client("previous-instance")) {
      assertThat(new VirtApi(client, Duration.ofSeconds(1)).start(ENABLED_NS, VM))
          .isEqualTo(VirtApi.StartResult.STARTED);
    }
    controller = startController("next");
    assertStartedExactlyOnce(uid);
  }

  @Test
  void restartedWhileTheStartRequestIsInFlight() {
    runningVm("AlwaysOnUnlessStoppedManually");
    String uid = kubevirt.vmi(ENABLED_NS, VM).getMetadata().getUid();
    // virt-api takes the request at once but answers late; the controller is stopped meanwhile.
    cluster.faults().delay(request("PUT", "/start"), 1, Duration.ofMillis(700));
    kubevirt.replaceDelay(Duration.ofMillis(500));
    controller = startController("first");
    kubevirt.podLost(ENABLED_NS, VM);
    await().atMost(Duration.ofSeconds(10)).until(() -> kubevirt.startRequests(ENABLED_NS, VM) == 1);
    controller.close();

    controller = startController("second");
    assertStartedExactlyOnce(uid);
  }

  // ---- faults ------------------------------------------------------------------------------

  @Test
  void conflictsOnTheRecordAreRetried() {
    runningVm("Manual");
    String uid = kubevirt.vmi(ENABLED_NS, VM).getMetadata().getUid();
    var fault =
        cluster
            .faults()
            .fail(
                request("PATCH", "/virtualmachines/" + VM),
                2,
                409,
                "Operation cannot be fulfilled: the object has been modified");
    controller = startController("c");
    kubevirt.guestReset(ENABLED_NS, VM);
    assertStartedExactlyOnce(uid);
    assertThat(fault.remaining()).isZero();
  }

  @Test
  void serverErrorsOnStartAreRetriedWithBackoff() {
    runningVm("Manual");
    String uid = kubevirt.vmi(ENABLED_NS, VM).getMetadata().getUid();
    cluster.faults().fail(request("PUT", "/start"), 2, 500, "etcdserver: request timed out");
    controller = startController("c");
    kubevirt.guestReset(ENABLED_NS, VM);
    assertStartedExactlyOnce(uid);
    assertThat(kubevirt.startRequests(ENABLED_NS, VM)).isEqualTo(1); // the 2 faults never got there
    assertThat(cluster.eventReasons(ENABLED_NS, VM)).contains("StartFailed");
  }

  @Test
  void aStartThatTimesOutButWentThroughIsNotRepeated() {
    runningVm("Manual");
    String uid = kubevirt.vmi(ENABLED_NS, VM).getMetadata().getUid();
    // Processed by virt-api, but the answer comes after the client's timeout (800 ms).
    cluster.faults().delay(request("PUT", "/start"), 1, Duration.ofMillis(2500));
    kubevirt.replaceDelay(Duration.ofMillis(1500));
    controller = startController("c");
    kubevirt.guestReset(ENABLED_NS, VM);
    assertStartedExactlyOnce(uid);
  }

  @Test
  void failingReadsAndEventWritesDoNotLoseTheAction() {
    runningVm("AlwaysOnUnlessStoppedManually");
    String uid = kubevirt.vmi(ENABLED_NS, VM).getMetadata().getUid();
    var fromController = MockCluster.from("c");
    cluster
        .faults()
        .fail(fromController.and(request("GET", "/virtualmachineinstances/" + VM)), 2, 500, "boom");
    cluster.faults().fail(fromController.and(request("POST", "/events")), 1, 500, "boom");
    controller = startController("c");
    kubevirt.end(ENABLED_NS, VM, null, "Failed");
    assertStartedExactlyOnce(uid);
  }

  @Test
  void droppedWatchesAndFailingListsLoseNothing() {
    runningVm("Manual");
    String uid = kubevirt.vmi(ENABLED_NS, VM).getMetadata().getUid();
    // The first lists fail: the informers keep retrying instead of giving up.
    cluster
        .faults()
        .fail(
            MockCluster.from("c").and(request("GET", "/virtualmachineinstances?")),
            3,
            500,
            "not ready");
    controller = startController("c");
    await().atMost(Duration.ofSeconds(10)).until(() -> cluster.faults().dropWatches() > 0);
    // Watches are gone and re-watching fails for a while, as after an API server restart with
    // compacted history: the reboot happens in that window and arrives through a relist.
    cluster
        .faults()
        .fail(r -> r.getPath().contains("watch=true"), 8, 410, "too old resource version");
    kubevirt.guestReset(ENABLED_NS, VM);
    cluster.faults().dropWatches();
    assertStartedExactlyOnce(uid);
  }
}
