package io.vmpower.controller;

import static io.vmpower.controller.testing.MockCluster.ENABLED_NS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.TextNode;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vmpower.api.Keys;
import io.vmpower.api.power.LastPowerEvent;
import io.vmpower.api.power.RestartLoop;
import io.vmpower.controller.testing.FakeKubeVirt;
import io.vmpower.controller.testing.MockCluster;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Restart-loop protection against the mock API server: a guest that keeps rebooting is restarted
 * with a growing backoff and then given up on — across a controller restart and a leader change,
 * since the state is in the VM's record — a user start clears the give-up, and a record edited by
 * hand never makes the controller loop or fail.
 */
class RestartLoopTest {
  private static final String VM = "looping";
  private static final Duration BASE = Duration.ofMillis(800);

  private MockCluster cluster;
  private FakeKubeVirt kubevirt;
  private final List<PowerController> controllers = new ArrayList<>();
  private final Map<PowerController, SimpleMeterRegistry> meters = new java.util.HashMap<>();

  @BeforeEach
  void cluster() {
    cluster = new MockCluster();
    kubevirt = cluster.kubevirt();
  }

  @AfterEach
  void stop() {
    controllers.forEach(PowerController::close);
    cluster.close();
  }

  /** Backoff 0.8 s doubling to 3.2 s; give up after 3 restarts within an hour. */
  private PowerController controller(String identity) {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    PowerController c =
        new PowerController(
            cluster.client(identity),
            TestSettings.forIdentity(identity)
                .restartBackoffBase(BASE)
                .restartBackoffMax(Duration.ofMillis(3200))
                .restartLimit(3)
                .build(),
            registry);
    controllers.add(c);
    meters.put(c, registry);
    c.start();
    return c;
  }

  private PowerController leader(String identity) {
    PowerController c = controller(identity);
    await().atMost(Duration.ofSeconds(5)).until(c::isLeader);
    return c;
  }

  private PowerEventRecord record() {
    return PowerEventRecord.parse(
            KubeVirt.annotation(cluster.vm(ENABLED_NS, VM), Keys.LAST_POWER_EVENT))
        .orElse(null);
  }

  private String vmiUid() {
    return kubevirt.vmi(ENABLED_NS, VM).getMetadata().getUid();
  }

  /** The guest of the running VMI reboots; returns that VMI's uid. */
  private String reboot() {
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> "Running".equals(kubevirt.vmiPhase(ENABLED_NS, VM)));
    String uid = vmiUid();
    kubevirt.guestReset(ENABLED_NS, VM);
    return uid;
  }

  private PowerEventRecord awaitRecord(String uid, boolean done) {
    return await()
        .atMost(Duration.ofSeconds(10))
        .until(this::record, r -> r != null && r.isFor(uid) && r.isDone() == done);
  }

  private double gauge(PowerController c, String name) {
    return meters.get(c).get(name).gauge().value();
  }

  @Test
  void backoffAndGiveUpSurviveAControllerRestart() {
    kubevirt.createVm(ENABLED_NS, VM, "Manual", Map.of());
    kubevirt.run(ENABLED_NS, VM);
    PowerController first = leader("first");

    // 1st restart: immediate.
    awaitRecord(reboot(), true);
    assertThat(kubevirt.starts(ENABLED_NS, VM)).isEqualTo(1);

    // 2nd: claimed with a backoff of BASE; the controller stops during the wait.
    String second = reboot();
    PowerEventRecord claimed = awaitRecord(second, false);
    Instant until = claimed.loop().backoffUntil().orElseThrow();
    assertThat(claimed.loop().streak()).isEqualTo(2);
    assertThat(cluster.eventReasons(ENABLED_NS, VM)).contains("RestartBackOff");
    first.close();

    // The next controller finds the claim and waits for the rest of it: one start, not before.
    PowerController next = leader("next");
    awaitRecord(second, true);
    assertThat(kubevirt.starts(ENABLED_NS, VM)).isEqualTo(2);
    assertThat(kubevirt.startTimes(ENABLED_NS, VM).get(1)).isAfterOrEqualTo(until);

    // 3rd: waits 2 x BASE. Then it restarts again before the 4th end.
    String third = reboot();
    PowerEventRecord waiting = awaitRecord(third, false);
    // (the record's time is taken a moment after the decision that computed the backoff)
    assertThat(
            Duration.between(
                Instant.parse(waiting.time()), waiting.loop().backoffUntil().orElseThrow()))
        .isBetween(BASE.multipliedBy(2).minusMillis(200), BASE.multipliedBy(2));
    awaitRecord(third, true);
    next.close();
    PowerController last = leader("last");

    // The 4th end within the hour: given up, the VM stays stopped, visibly.
    String fourth = reboot();
    PowerEventRecord gaveUp = awaitRecord(fourth, true);
    assertThat(gaveUp.action()).isEqualTo("None");
    assertThat(gaveUp.loop().hasGivenUp()).isTrue();
    assertThat(gaveUp.loop().restarts()).isEqualTo(Map.of("guest-reset", 3L));
    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () -> assertThat(cluster.eventReasons(ENABLED_NS, VM)).contains("GaveUpRestarting"));
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> gauge(last, RestartLoopMetrics.GAVE_UP) == 1.0);
    await()
        .during(Duration.ofSeconds(2))
        .atMost(Duration.ofSeconds(4))
        .until(() -> kubevirt.starts(ENABLED_NS, VM) == 3);
    // The annotation is what `vmpower status` reads.
    LastPowerEvent shown =
        LastPowerEvent.parse(KubeVirt.annotation(cluster.vm(ENABLED_NS, VM), Keys.LAST_POWER_EVENT))
            .orElseThrow();
    assertThat(shown.loop().gaveUp()).isPresent();
    assertThat(shown.reason()).isEqualTo("guest-reset");
  }

  @Test
  void theGiveUpCountCarriesOverALeaderChange() {
    kubevirt.createVm(ENABLED_NS, VM, "AlwaysOnUnlessStoppedManually", Map.of());
    kubevirt.run(ENABLED_NS, VM);
    PowerController a = controller("a");
    PowerController b = controller("b");
    await().atMost(Duration.ofSeconds(5)).until(() -> a.isLeader() || b.isLeader());
    PowerController leader = a.isLeader() ? a : b;
    PowerController standby = leader == a ? b : a;

    awaitRecord(failure(), true);
    awaitRecord(failure(), true);
    assertThat(kubevirt.starts(ENABLED_NS, VM)).isEqualTo(2);
    leader.close();
    await().atMost(TestSettings.LEASE.multipliedBy(3)).until(standby::isLeader);

    awaitRecord(failure(), true); // the 3rd restart, by the new leader
    PowerEventRecord gaveUp = awaitRecord(failure(), true);
    assertThat(gaveUp.loop().hasGivenUp()).isTrue();
    assertThat(gaveUp.loop().restarts()).isEqualTo(Map.of("vmi-failed", 3L));
    assertThat(kubevirt.starts(ENABLED_NS, VM)).isEqualTo(3);
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> gauge(standby, RestartLoopMetrics.GAVE_UP) == 1.0);
    assertThat(gauge(leader, RestartLoopMetrics.GAVE_UP)).isZero();
  }

  /** The VMI fails without a guest record; returns its uid. */
  private String failure() {
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> "Running".equals(kubevirt.vmiPhase(ENABLED_NS, VM)));
    String uid = vmiUid();
    kubevirt.end(ENABLED_NS, VM, null, "Failed");
    return uid;
  }

  @Test
  void aUserStartClearsTheGiveUp() {
    kubevirt.createVm(ENABLED_NS, VM, "Manual", Map.of());
    kubevirt.run(ENABLED_NS, VM);
    PowerController c = leader("c");
    for (int i = 0; i < 3; i++) {
      awaitRecord(reboot(), true);
    }
    String givenUp = reboot();
    assertThat(awaitRecord(givenUp, true).loop().hasGivenUp()).isTrue();
    await().atMost(Duration.ofSeconds(5)).until(() -> gauge(c, RestartLoopMetrics.GAVE_UP) == 1.0);

    // virtctl start, by the user.
    try (var user = cluster.client("user")) {
      assertThat(new VirtApi(user, Duration.ofSeconds(2)).start(ENABLED_NS, VM))
          .isEqualTo(VirtApi.StartResult.STARTED);
    }
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> record() != null && !record().loop().hasGivenUp());
    assertThat(record().loop().restarts()).isEqualTo(Map.of("guest-reset", 3L)); // history kept
    assertThat(record().loop().streak()).isZero();
    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () -> assertThat(cluster.eventReasons(ENABLED_NS, VM)).contains("RestartLoopCleared"));
    await().atMost(Duration.ofSeconds(5)).until(() -> gauge(c, RestartLoopMetrics.GAVE_UP) == 0.0);

    // The next reboot is restarted at once again.
    int starts = kubevirt.starts(ENABLED_NS, VM);
    PowerEventRecord restarted = awaitRecord(reboot(), true);
    assertThat(restarted.action()).isEqualTo("Start");
    assertThat(restarted.loop().streak()).isEqualTo(1);
    assertThat(kubevirt.starts(ENABLED_NS, VM)).isEqualTo(starts + 1);
  }

  private void writeAnnotation(String value) {
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
                + TextNode.valueOf(value)
                + "}}}");
  }

  @Test
  void aRecordEditedToGarbageIsRewrittenAndDecidedSafely() {
    kubevirt.createVm(ENABLED_NS, VM, "AlwaysOnUnlessStoppedManually", Map.of());
    kubevirt.run(ENABLED_NS, VM);
    PowerController c = leader("c");

    // While the VM runs: rewritten empty, with an Event.
    writeAnnotation("{\"vmiUid\":\"x\",\"streak\":\"lots\"}");
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> record() != null && record().reason().equals("unreadable-record"));
    assertThat(cluster.eventReasons(ENABLED_NS, VM)).contains("UnreadablePowerRecord");
    // ... after which a reboot is handled as usual.
    awaitRecord(reboot(), true);
    assertThat(kubevirt.starts(ENABLED_NS, VM)).isEqualTo(1);

    // Garbled while an ended VMI waits (no controller ran meanwhile): it stays stopped, the safe
    // answer, once.
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> "Running".equals(kubevirt.vmiPhase(ENABLED_NS, VM)));
    c.close();
    String uid = vmiUid();
    kubevirt.end(ENABLED_NS, VM, null, "Failed");
    writeAnnotation("\u0000not json at all" + "{".repeat(10_000));
    leader("c2");
    PowerEventRecord stayed = awaitRecord(uid, true);
    assertThat(stayed.action()).isEqualTo("None");
    assertThat(stayed.reason()).isEqualTo("unreadable-record");
    await()
        .during(Duration.ofSeconds(1))
        .atMost(Duration.ofSeconds(3))
        .until(() -> kubevirt.starts(ENABLED_NS, VM) == 1);
  }

  @Test
  void aBackoffEditedToTheFarFutureIsNotKept() {
    kubevirt.createVm(ENABLED_NS, VM, "Manual", Map.of());
    kubevirt.run(ENABLED_NS, VM);
    String uid = vmiUid();
    kubevirt.guestReset(ENABLED_NS, VM);
    // A claim whose backoff was edited to a year ahead, and restart times in the future.
    Instant year = Instant.now().plus(Duration.ofDays(365));
    RestartLoop edited =
        new RestartLoop(
            Map.of("guest-reset", 1L), 1, List.of(year), Optional.of(year), Optional.empty());
    writeAnnotation(PowerEventRecord.starting(uid, "guest-reset", Instant.now(), edited).toJson());
    leader("c");
    PowerEventRecord done = awaitRecord(uid, true);
    assertThat(done.action()).isEqualTo("Start");
    assertThat(kubevirt.starts(ENABLED_NS, VM)).isEqualTo(1);
    assertThat(done.loop().backoffUntil()).isEmpty();
  }
}
