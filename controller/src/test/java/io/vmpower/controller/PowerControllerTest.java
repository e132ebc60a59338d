package io.vmpower.controller;

import static io.vmpower.controller.testing.MockCluster.ENABLED_NS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Event;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vmpower.api.Keys;
import io.vmpower.controller.testing.FakeKubeVirt;
import io.vmpower.controller.testing.MockCluster;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The controller against the mock API server and the KubeVirt stand-in: every cell of the policy
 * table, first starts, migrations, missing or foreign termination messages, stand-back cases. One
 * cluster and one controller for the class; each test uses VMs of its own.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PowerControllerTest {
  private static final AtomicInteger VM_NAMES = new AtomicInteger();

  private MockCluster cluster;
  private FakeKubeVirt kubevirt;
  private SimpleMeterRegistry meters;
  private PowerController controller;

  @BeforeAll
  void startController() {
    cluster = new MockCluster();
    kubevirt = cluster.kubevirt();
    meters = new SimpleMeterRegistry();
    controller =
        new PowerController(
            cluster.client("controller"), TestSettings.forIdentity("controller").build(), meters);
    controller.start();
    await().atMost(Duration.ofSeconds(5)).until(controller::isLeader);
  }

  @AfterAll
  void stop() {
    controller.close();
    cluster.close();
  }

  private static String newName() {
    return "vm-" + VM_NAMES.incrementAndGet();
  }

  private String runningVm(String policy) {
    String name = newName();
    kubevirt.createVm(ENABLED_NS, name, policy, Map.of());
    kubevirt.run(ENABLED_NS, name);
    return name;
  }

  private Optional<PowerEventRecord> record(String ns, String name) {
    return PowerEventRecord.parse(KubeVirt.annotation(cluster.vm(ns, name), Keys.LAST_POWER_EVENT));
  }

  private PowerEventRecord awaitDone(String ns, String name) {
    return await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> record(ns, name), r -> r.isPresent() && r.get().isDone())
        .orElseThrow();
  }

  @ParameterizedTest(name = "{0}: {1} -> started: {2}")
  @CsvSource({
    "Manual, guest-reset, true, RestartedAfterGuestReboot",
    "Manual, guest-shutdown, false, GuestPoweredOff",
    "Manual, vmi-failed, false, NotRestartedAfterFailure",
    "Manual, pod-lost, false, NotRestartedAfterFailure",
    "AlwaysOnUnlessStoppedManually, guest-reset, true, RestartedAfterGuestReboot",
    "AlwaysOnUnlessStoppedManually, guest-shutdown, false, GuestPoweredOff",
    "AlwaysOnUnlessStoppedManually, vmi-failed, true, RestartedAfterFailure",
    "AlwaysOnUnlessStoppedManually, pod-lost, true, RestartedAfterFailure",
    // the legacy alias behaves as AlwaysOnUnlessStoppedManually
    "AlwaysOnUntilStoppedManually, guest-reset, true, RestartedAfterGuestReboot",
  })
  void policyTable(String policy, String what, boolean started, String eventReason) {
    String name = runningVm(policy);
    String endedUid = kubevirt.vmi(ENABLED_NS, name).getMetadata().getUid();
    switch (what) {
      case "guest-reset" -> kubevirt.guestReset(ENABLED_NS, name);
      case "guest-shutdown" -> kubevirt.guestShutdown(ENABLED_NS, name);
      case "vmi-failed" -> kubevirt.end(ENABLED_NS, name, null, "Failed");
      case "pod-lost" -> kubevirt.podLost(ENABLED_NS, name);
      default -> throw new IllegalArgumentException(what);
    }

    PowerEventRecord done = awaitDone(ENABLED_NS, name);
    assertThat(done.vmiUid()).isEqualTo(endedUid);
    assertThat(done.reason()).isEqualTo(what);
    assertThat(done.action()).isEqualTo(started ? "Start" : "None");
    assertThat(kubevirt.starts(ENABLED_NS, name)).isEqualTo(started ? 1 : 0);
    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () -> assertThat(cluster.eventReasons(ENABLED_NS, name)).containsExactly(eventReason));
    Event event = cluster.events(ENABLED_NS, name).get(0);
    assertThat(event.getMessage()).contains("run policy " + policy.replace("Until", "Unless"));
    if (started) {
      // virt-controller replaced the VMI: a new one runs, in a new pod.
      await()
          .atMost(Duration.ofSeconds(5))
          .until(
              () ->
                  "Running".equals(kubevirt.vmiPhase(ENABLED_NS, name))
                      && !endedUid.equals(kubevirt.vmi(ENABLED_NS, name).getMetadata().getUid()));
    }
    // Exactly once: the record is Done and no further start follows.
    await()
        .during(Duration.ofMillis(500))
        .atMost(Duration.ofSeconds(2))
        .until(() -> kubevirt.starts(ENABLED_NS, name) == (started ? 1 : 0));
    assertThat(
            meters
                .get(ControllerMetrics.ACTIONS)
                .tag("reason", what)
                .tag("action", started ? "start" : "none")
                .counters())
        .isNotEmpty();
  }

  @ParameterizedTest
  @CsvSource({"AlwaysOn", "AlwaysOff"})
  void alwaysOnAndAlwaysOffAreLeftToKubeVirt(String policy) {
    String name = runningVm(policy);
    kubevirt.guestReset(ENABLED_NS, name);
    await()
        .during(Duration.ofMillis(800))
        .atMost(Duration.ofSeconds(3))
        .until(
            () ->
                kubevirt.startRequests(ENABLED_NS, name) == 0
                    && record(ENABLED_NS, name).isEmpty());
    assertThat(cluster.eventReasons(ENABLED_NS, name)).isEmpty();
  }
}
