package io.vmpower.controller;

import static io.vmpower.controller.testing.MockCluster.ENABLED_NS;
import static io.vmpower.controller.testing.MockCluster.OTHER_NS;
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
import org.junit.jupiter.api.Test;
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

  @Test
  void startPendingStartsOnceAndIsRemoved() {
    String name = newName();
    kubevirt.createVm(
        ENABLED_NS, name, "AlwaysOnUnlessStoppedManually", Map.of(Keys.START_PENDING, "true"));

    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> KubeVirt.annotation(cluster.vm(ENABLED_NS, name), Keys.START_PENDING) == null);
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> "Running".equals(kubevirt.vmiPhase(ENABLED_NS, name)));
    assertThat(kubevirt.starts(ENABLED_NS, name)).isEqualTo(1);
    assertThat(cluster.eventReasons(ENABLED_NS, name)).containsExactly("StartedFirstTime");
    await()
        .during(Duration.ofMillis(500))
        .atMost(Duration.ofSeconds(2))
        .until(() -> kubevirt.starts(ENABLED_NS, name) == 1);
  }

  @Test
  void startPendingOnAnotherPolicyIsDroppedWithoutStarting() {
    String name = newName();
    kubevirt.createVm(ENABLED_NS, name, "Manual", Map.of(Keys.START_PENDING, "true"));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> KubeVirt.annotation(cluster.vm(ENABLED_NS, name), Keys.START_PENDING) == null);
    assertThat(kubevirt.startRequests(ENABLED_NS, name)).isZero();
  }

  @Test
  void aCompletedMigrationSourcePodIsNotAPowerEvent() {
    String name = runningVm("Manual");
    // The source pod completes (even with a message that would mean a reboot), the VMI runs on.
    kubevirt.migrate(ENABLED_NS, name, FakeKubeVirt.RESET_MESSAGE);
    await()
        .during(Duration.ofMillis(800))
        .atMost(Duration.ofSeconds(3))
        .until(
            () ->
                kubevirt.startRequests(ENABLED_NS, name) == 0
                    && record(ENABLED_NS, name).isEmpty());

    // Later the guest powers off in the target pod: that pod decides, not the older source pod.
    kubevirt.guestShutdown(ENABLED_NS, name);
    PowerEventRecord done = awaitDone(ENABLED_NS, name);
    assertThat(done.reason()).isEqualTo("guest-shutdown");
    assertThat(done.action()).isEqualTo("None");
    assertThat(kubevirt.starts(ENABLED_NS, name)).isZero();
  }

  @Test
  void afterAFailedMigrationThePodThatRanTheVmiLastDecides() {
    String name = runningVm("Manual");
    // The failed migration's target pod is newer than the source and ended without a guest.
    var target = kubevirt.failedMigration(ENABLED_NS, name);
    await()
        .during(Duration.ofMillis(500))
        .atMost(Duration.ofSeconds(2))
        .until(() -> record(ENABLED_NS, name).isEmpty());
    // Later the guest reboots in the source pod, which still runs it.
    String uid = kubevirt.vmi(ENABLED_NS, name).getMetadata().getUid();
    kubevirt.guestReset(ENABLED_NS, name);
    assertThat(kubevirt.activePod(ENABLED_NS, name).getMetadata().getName())
        .isNotEqualTo(target.getMetadata().getName());
    PowerEventRecord done = awaitDone(ENABLED_NS, name);
    assertThat(done.vmiUid()).isEqualTo(uid);
    assertThat(done.reason()).isEqualTo("guest-reset");
    assertThat(done.action()).isEqualTo("Start");
    assertThat(kubevirt.starts(ENABLED_NS, name)).isEqualTo(1);
  }

  @Test
  void afterACompletedMigrationTheTargetPodDecides() {
    String name = runningVm("AlwaysOnUnlessStoppedManually");
    kubevirt.migrate(ENABLED_NS, name, "");
    kubevirt.end(ENABLED_NS, name, FakeKubeVirt.RESET_MESSAGE, "Succeeded");
    PowerEventRecord done = awaitDone(ENABLED_NS, name);
    assertThat(done.reason()).isEqualTo("guest-reset");
    assertThat(done.action()).isEqualTo("Start");
  }

  @ParameterizedTest(name = "{0} message, VMI {1}, {2}")
  @CsvSource({
    "missing, Succeeded, Manual, None, unknown, NoShutdownRecord",
    "foreign, Succeeded, AlwaysOnUnlessStoppedManually, None, unknown, NoShutdownRecord",
    "missing, Failed, AlwaysOnUnlessStoppedManually, Start, vmi-failed, RestartedAfterFailure",
    "foreign, Failed, Manual, None, vmi-failed, NotRestartedAfterFailure",
    "panic, Failed, AlwaysOnUnlessStoppedManually, None, guest-panic, GuestPanicked",
    "panicked, Failed, AlwaysOnUnlessStoppedManually, None, guest-panic, GuestPanicked",
  })
  void missingOrForeignMessages(
      String message, String phase, String policy, String action, String reason, String event) {
    String name = runningVm(policy);
    String text =
        switch (message) {
          case "missing" -> null;
          case "foreign" -> "panic: runtime error: something else entirely\n{\"level\":\"info\"}";
          case "panic" ->
              "{\"source\":\"vmpower\",\"event\":\"SHUTDOWN\",\"guest\":true,\"reason\":\"guest-panic\"}";
          // As the monitor records a pvpanic panic under libvirt's default on_crash destroy.
          case "panicked" ->
              "{\"source\":\"vmpower\",\"event\":\"GUEST_PANICKED\",\"action\":\"pause\"}";
          default -> throw new IllegalArgumentException(message);
        };
    kubevirt.end(ENABLED_NS, name, text, phase);
    PowerEventRecord done = awaitDone(ENABLED_NS, name);
    assertThat(done.action()).isEqualTo(action);
    assertThat(done.reason()).isEqualTo(reason);
    assertThat(kubevirt.starts(ENABLED_NS, name)).isEqualTo(action.equals("Start") ? 1 : 0);
    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () -> assertThat(cluster.eventReasons(ENABLED_NS, name)).containsExactly(event));
  }

  @Test
  void waitsForTheTerminationMessageWhenTheVmiEndsFirst() throws Exception {
    String name = runningVm("AlwaysOnUnlessStoppedManually");
    var pod = kubevirt.newestPod(ENABLED_NS, name);
    // virt-handler marks the VMI final before the kubelet reports the container's message.
    kubevirt.setVmiPhase(ENABLED_NS, name, "Failed");
    await()
        .during(Duration.ofMillis(300))
        .atMost(Duration.ofSeconds(2))
        .until(() -> record(ENABLED_NS, name).isEmpty());
    kubevirt.terminatePod(pod, FakeKubeVirt.SHUTDOWN_MESSAGE);
    PowerEventRecord done = awaitDone(ENABLED_NS, name);
    assertThat(done.reason()).isEqualTo("guest-shutdown");
    assertThat(kubevirt.starts(ENABLED_NS, name)).isZero();
  }

  @Test
  void virtctlStopIsNeverAReasonToStart() {
    String name = runningVm("AlwaysOnUnlessStoppedManually");
    kubevirt.virtctlStop(ENABLED_NS, name);
    assertThat(kubevirt.vmiOrNull(ENABLED_NS, name)).isNull();
    await()
        .during(Duration.ofMillis(800))
        .atMost(Duration.ofSeconds(3))
        .until(() -> kubevirt.startRequests(ENABLED_NS, name) == 0);
    assertThat(cluster.eventReasons(ENABLED_NS, name)).isEmpty();
  }

  @Test
  void standsBackWhileAStateChangeRequestIsPending() {
    String name = runningVm("Manual");
    cluster
        .admin()
        .genericKubernetesResources(KubeVirt.VM)
        .inNamespace(ENABLED_NS)
        .withName(name)
        .subresource("status")
        .patch(
            io.fabric8.kubernetes.client.dsl.base.PatchContext.of(
                io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
            "{\"status\":{\"stateChangeRequests\":[{\"action\":\"Stop\"}]}}");
    kubevirt.guestReset(ENABLED_NS, name);
    await()
        .during(Duration.ofMillis(800))
        .atMost(Duration.ofSeconds(3))
        .until(
            () ->
                kubevirt.startRequests(ENABLED_NS, name) == 0
                    && record(ENABLED_NS, name).isEmpty());

    // Once the request is gone (it was not a stop after all), the reboot is handled.
    cluster
        .admin()
        .genericKubernetesResources(KubeVirt.VM)
        .inNamespace(ENABLED_NS)
        .withName(name)
        .subresource("status")
        .patch(
            io.fabric8.kubernetes.client.dsl.base.PatchContext.of(
                io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
            "{\"status\":{\"stateChangeRequests\":null}}");
    assertThat(awaitDone(ENABLED_NS, name).action()).isEqualTo("Start");
    assertThat(kubevirt.starts(ENABLED_NS, name)).isEqualTo(1);
  }

  @Test
  void unmanagedVmsAndOtherNamespacesAreIgnored() {
    String unmanaged = newName();
    kubevirt.createVm(ENABLED_NS, unmanaged, null, Map.of());
    kubevirt.run(ENABLED_NS, unmanaged);
    String elsewhere = newName();
    kubevirt.createVm(OTHER_NS, elsewhere, "Manual", Map.of());
    kubevirt.run(OTHER_NS, elsewhere);

    kubevirt.guestReset(ENABLED_NS, unmanaged);
    kubevirt.guestReset(OTHER_NS, elsewhere);
    await()
        .during(Duration.ofMillis(800))
        .atMost(Duration.ofSeconds(3))
        .until(
            () ->
                kubevirt.startRequests(ENABLED_NS, unmanaged) == 0
                    && kubevirt.startRequests(OTHER_NS, elsewhere) == 0);
    assertThat(record(OTHER_NS, elsewhere)).isEmpty();
  }

  @Test
  void aRunningPodWithoutTheMonitorIsReported() {
    String name = newName();
    kubevirt.createVm(ENABLED_NS, name, "Manual", Map.of());
    kubevirt.run(ENABLED_NS, name, false);
    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () ->
                assertThat(cluster.eventReasons(ENABLED_NS, name))
                    .containsExactly("PodNotInjected"));
    assertThat(cluster.events(ENABLED_NS, name).get(0).getMessage())
        .contains(kubevirt.newestPod(ENABLED_NS, name).getMetadata().getName());
    assertThat(meters.get(ControllerMetrics.NOT_INJECTED).tag("policy", "Manual").counter().count())
        .isGreaterThanOrEqualTo(1.0);
  }
}
