package io.vmpower.controller;

import static io.vmpower.controller.Snapshots.NOW;
import static io.vmpower.controller.Snapshots.POWEROFF;
import static io.vmpower.controller.Snapshots.RESET;
import static io.vmpower.controller.Snapshots.WAIT;
import static io.vmpower.controller.Snapshots.ended;
import static io.vmpower.controller.Snapshots.pod;
import static io.vmpower.controller.Snapshots.running;
import static org.assertj.core.api.Assertions.assertThat;

import io.vmpower.controller.Outcome.EventReason;
import io.vmpower.controller.PowerPolicy.PodEnd;
import io.vmpower.controller.VmSnapshot.LauncherPod;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The decision's rules other than the start protocol ({@link ExactlyOnceTest}) and the policy table
 * ({@link PowerPolicyTest}): when the controller stands back, the first start, and how it finds out
 * how a VMI ended.
 */
class PowerDecisionTest {

  private static Step.Nothing nothing(Step step) {
    assertThat(step).isInstanceOf(Step.Nothing.class);
    return (Step.Nothing) step;
  }

  @Nested
  class StandsBack {
    @Test
    void notEnabledGoneDeletingOrUnmanaged() {
      Snapshots.Builder[] cases = {
        Snapshots.vm("Manual").namespaceEnabled(false),
        Snapshots.vm("Manual").gone(),
        Snapshots.vm("Manual").deleting(),
        Snapshots.vm(null),
        Snapshots.vm("Sometimes"),
      };
      for (Snapshots.Builder c : cases) {
        nothing(c.vmi("A Succeeded").pods(ended("a", 1, RESET)).decide());
      }
    }

    @Test
    void whileAStateChangeIsRequested() {
      // virtctl stop ends in a guest-shutdown record too: never a reason to act while it runs.
      Step step =
          Snapshots.vm("AlwaysOnUnlessStoppedManually")
              .stateChangeRequests(true)
              .startPending()
              .vmi("A Failed")
              .pods(ended("a", 1, ""))
              .decide();
      assertThat(nothing(step).why()).contains("state change");
    }

    @Test
    void whileTheVmiIsDeleted() {
      nothing(
          Snapshots.vm("Manual").vmi("A Succeeded deleting").pods(ended("a", 1, RESET)).decide());
    }

    @ParameterizedTest
    @CsvSource({"AlwaysOn", "AlwaysOff"})
    void whenKubeVirtsRunStrategyActs(String policy) {
      assertThat(
              nothing(Snapshots.vm(policy).vmi("A Succeeded").pods(ended("a", 1, RESET)).decide())
                  .why())
          .contains("KubeVirt");
    }

    @Test
    void whileNoVmiHasEnded() {
      nothing(Snapshots.vm("Manual").vmi("A Running").pods(running("a", 1)).decide());
      nothing(Snapshots.vm("Manual").decide());
    }
  }

  @ParameterizedTest(name = "{0}, VMI {1} -> {2}")
  @CsvSource({
    "AlwaysOnUnlessStoppedManually, none, FirstStart",
    "AlwaysOnUnlessStoppedManually, A Succeeded, FirstStart A",
    "AlwaysOnUnlessStoppedManually, A Failed, FirstStart A",
    "AlwaysOnUnlessStoppedManually, A Running, DropStartPending",
    "AlwaysOnUnlessStoppedManually, A Succeeded deleting, Nothing",
    "AlwaysOnUntilStoppedManually, none, FirstStart",
    "Manual, none, DropStartPending",
    "Manual, A Succeeded, DropStartPending",
    "AlwaysOn, A Running, DropStartPending",
    "AlwaysOff, none, DropStartPending",
  })
  void startPending(String policy, String vmi, String expected) {
    Step step = Snapshots.vm(policy).startPending().vmi(vmi).decide();
    String[] e = expected.split(" ");
    assertThat(step.getClass().getSimpleName()).isEqualTo(e[0]);
    if (step instanceof Step.FirstStart first) {
      assertThat(first.endedVmiUid()).isEqualTo(e.length > 1 ? e[1] : null);
    }
  }

  @Nested
  class HowTheVmiEnded {
    @Test
    void aTerminationMessageDecides() {
      Step step = Snapshots.vm("Manual").vmi("A Succeeded").pods(ended("a", 1, POWEROFF)).decide();
      assertThat(step).isInstanceOf(Step.Stay.class);
      Step.Stay stay = (Step.Stay) step;
      assertThat(stay.vmiUid()).isEqualTo("A");
      assertThat(stay.outcome().eventReason()).isEqualTo(EventReason.GuestPoweredOff);
    }

    @Test
    void theNewestPodDecidesNotAnEarlierMigrationSource() {
      // The source pod completed (even with a reboot message); the target pod powered off.
      Step step =
          Snapshots.vm("Manual")
              .vmi("A Succeeded")
              .pods(ended("source", 1, RESET), ended("target", 2, POWEROFF))
              .decide();
      assertThat(((Step.Stay) step).outcome().eventReason()).isEqualTo(EventReason.GuestPoweredOff);
    }

    @Test
    void aFinishedPodWithoutMessageEndedWithoutRecord() {
      Step step =
          Snapshots.vm("AlwaysOnUnlessStoppedManually")
              .vmi("A Failed")
              .pods(pod("a", 1, "Failed", null))
              .decide();
      assertThat(((Step.Claim) step).outcome().reason()).isEqualTo("vmi-failed");
    }

    @Test
    void noPodInTheCacheIsListedFreshBeforeItCountsAsLost() {
      Snapshots.Builder lost = Snapshots.vm("AlwaysOnUnlessStoppedManually").vmi("A Failed");
      assertThat(lost.decide()).isEqualTo(new Step.ReadFresh(Step.ReadFresh.Source.PODS));
      Step step = lost.podsFresh().decide();
      assertThat(((Step.Claim) step).end()).isEqualTo(new PodEnd.Lost());
      assertThat(((Step.Claim) step).outcome().reason()).isEqualTo("pod-lost");
    }

    @Test
    void aPodFoundOnTheFreshListDecides() {
      Step step =
          Snapshots.vm("AlwaysOnUnlessStoppedManually")
              .vmi("A Failed")
              .podsFresh()
              .pods(ended("a", 1, POWEROFF))
              .decide();
      assertThat(((Step.Stay) step).outcome().reason()).isEqualTo("guest-shutdown");
    }
  }

  /**
   * The pod that ran the VMI last (DESIGN.md section 9, "Migration"): not simply the newest, which
   * after a failed migration is its finished target pod.
   */
  @Nested
  class AfterALiveMigration {
    private VmSnapshot.Vmi vmi(String node, VmSnapshot.Migration migration) {
      return new VmSnapshot.Vmi(
          "A",
          "Succeeded",
          false,
          node,
          Optional.ofNullable(migration),
          Optional.empty(),
          Optional.empty(),
          Optional.empty());
    }

    private LauncherPod pod(String name, int second, String node, String job, String message) {
      LauncherPod p = ended(name, second, message);
      return new LauncherPod(
          p.name(),
          p.uid(),
          p.created(),
          p.resourceVersion(),
          message == null ? "Failed" : p.phase(),
          true,
          false,
          Optional.ofNullable(message),
          node,
          job);
    }

    @Test
    void aFailedMigrationLeavesTheSourceDeciding() {
      // source (node-1) ran the guest until it rebooted; the target (node-2, newer) failed.
      VmSnapshot.Migration failed =
          new VmSnapshot.Migration("source", "target", "node-1", "node-2", "m1", true, true);
      Step step =
          Snapshots.vm("Manual")
              .vmi(vmi("node-1", failed))
              .pods(pod("source", 1, "node-1", "", RESET), pod("target", 2, "node-2", "m1", ""))
              .decide();
      assertThat(((Step.Claim) step).outcome().reason()).isEqualTo("guest-reset");
    }

    @Test
    void aFailedMigrationWithoutPodNamesIsToldByNodeAndMigrationLabel() {
      VmSnapshot.Migration failed =
          new VmSnapshot.Migration("", "", "node-1", "node-1", "m1", true, true);
      Step step =
          Snapshots.vm("Manual")
              .vmi(vmi("node-1", failed))
              .pods(pod("source", 1, "node-1", "", RESET), pod("target", 2, "node-1", "m1", ""))
              .decide();
      assertThat(((Step.Claim) step).outcome().reason()).isEqualTo("guest-reset");
    }

    @Test
    void aFailedMigrationsRunningTargetIsNotWaitedFor() {
      VmSnapshot.Migration failed =
          new VmSnapshot.Migration("source", "target", "node-1", "node-2", "m1", true, true);
      Step step =
          Snapshots.vm("Manual")
              .vmi(vmi("node-1", failed))
              .pods(pod("source", 1, "node-1", "", POWEROFF), running("target", 2))
              .decide();
      assertThat(((Step.Stay) step).outcome().reason()).isEqualTo("guest-shutdown");
    }

    @Test
    void aCompletedMigrationLeavesTheTargetDeciding() {
      // The source completed (its message would read as a reboot); the guest powered off in the
      // target, on node-2.
      VmSnapshot.Migration done =
          new VmSnapshot.Migration("source", "target", "node-1", "node-2", "m1", true, false);
      Step step =
          Snapshots.vm("Manual")
              .vmi(vmi("node-2", done))
              .pods(
                  pod("source", 1, "node-1", "", RESET), pod("target", 2, "node-2", "m1", POWEROFF))
              .decide();
      assertThat(((Step.Stay) step).outcome().reason()).isEqualTo("guest-shutdown");
    }

    @Test
    void migratedThereAndBackTheNamedTargetDecides() {
      // node-1 → node-2 → node-1: two pods on node-1; the last migration names the newer one.
      VmSnapshot.Migration back =
          new VmSnapshot.Migration("second", "third", "node-2", "node-1", "m2", true, false);
      Step step =
          Snapshots.vm("Manual")
              .vmi(vmi("node-1", back))
              .pods(
                  pod("first", 1, "node-1", "", POWEROFF),
                  pod("second", 2, "node-2", "m1", POWEROFF),
                  pod("third", 3, "node-1", "m2", RESET))
              .decide();
      assertThat(((Step.Claim) step).outcome().reason()).isEqualTo("guest-reset");
    }

    @Test
    void withoutMigrationStateThePodOnTheVmisNodeDecides() {
      // A leftover finished pod on another node is newer; status.nodeName says where A ran.
      Step step =
          Snapshots.vm("Manual")
              .vmi(vmi("node-1", null))
              .pods(pod("ran", 1, "node-1", "", RESET), pod("leftover", 2, "node-3", "m0", ""))
              .decide();
      assertThat(((Step.Claim) step).outcome().reason()).isEqualTo("guest-reset");
    }
  }

  @Nested
  class WaitsForTheTerminationMessage {
    private Snapshots.Builder finalVmiRunningPod() {
      return Snapshots.vm("AlwaysOnUnlessStoppedManually").vmi("A Failed").pods(running("a", 1));
    }

    @Test
    void fromTheFirstTimeItIsSeen() {
      assertThat(finalVmiRunningPod().decide()).isEqualTo(new Step.Wait("A", NOW, WAIT));
    }

    @Test
    void forWhatIsLeftOfTheWait() {
      Instant since = NOW.minusSeconds(90);
      assertThat(finalVmiRunningPod().waitingSince(since).decide())
          .isEqualTo(new Step.Wait("A", since, Duration.ofSeconds(30)));
    }

    @Test
    void thenListsThePodsFreshAndDecidesWithoutTheMessage() {
      Snapshots.Builder over = finalVmiRunningPod().waitingSince(NOW.minus(WAIT));
      assertThat(over.decide()).isEqualTo(new Step.ReadFresh(Step.ReadFresh.Source.PODS));
      Step step = over.podsFresh().decide();
      assertThat(((Step.Claim) step).end()).isEqualTo(new PodEnd.Unterminated("a"));
      assertThat(((Step.Claim) step).outcome().reason()).isEqualTo("vmi-failed");
    }

    @Test
    void aFreshListWithinTheWaitWaitsOn() {
      Step step = finalVmiRunningPod().podsFresh().waitingSince(NOW.minusSeconds(60)).decide();
      assertThat(step).isInstanceOf(Step.Wait.class);
    }

    @Test
    void aMigrationTargetStillRunningIsWaitedFor() {
      Step step =
          Snapshots.vm("Manual")
              .vmi("A Succeeded")
              .pods(ended("source", 1, RESET), running("target", 2))
              .decide();
      assertThat(step).isInstanceOf(Step.Wait.class);
    }
  }

  @Test
  void uninjectedRunningPodsOfAManagedVmAreReported() {
    LauncherPod bare =
        new LauncherPod("bare", "u1", NOW, 1, "Running", false, false, Optional.empty());
    LauncherPod ephemeral =
        new LauncherPod("eph", "u2", NOW, 2, "Running", false, true, Optional.empty());
    LauncherPod injected = running("ok", 3);
    LauncherPod finished =
        new LauncherPod("done", "u4", NOW, 4, "Succeeded", false, false, Optional.of(""));

    VmSnapshot managed =
        Snapshots.vm("Manual").vmi("A Running").pods(bare, ephemeral, injected, finished).build();
    VmSnapshot unmanaged = Snapshots.vm(null).vmi("A Running").pods(bare).build();

    assertThat(PowerDecision.uninjectedPods(managed)).containsExactly(bare);
    assertThat(PowerDecision.uninjectedPods(unmanaged)).isEmpty();
  }
}
