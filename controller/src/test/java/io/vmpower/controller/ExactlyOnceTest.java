package io.vmpower.controller;

import static io.vmpower.controller.Snapshots.RESET;
import static io.vmpower.controller.Snapshots.ended;
import static io.vmpower.controller.Snapshots.running;
import static org.assertj.core.api.Assertions.assertThat;

import io.vmpower.api.power.RestartLoop;
import io.vmpower.controller.Outcome.EventReason;
import io.vmpower.controller.VmSnapshot.LauncherPod;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The exactly-once protocol (claim → start → confirm, controller/README.md "Exactly once") as a
 * table: the controller (or its leader) stopped at each point of a start, and what the next one
 * decides when it comes up and finds the cluster in that state. A Manual VM whose guest rebooted in
 * VMI A; virt-controller replaces A by B after the start.
 */
class ExactlyOnceTest {
  private static final Instant CLAIMED_AT = Instant.parse("2026-11-01T09:59:00Z");

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      nullValues = "-",
      textBlock =
          """
          # where the last controller stopped                | record     | start pending in VM | VMI in the cache     | VMI read fresh       | next step
          nothing done yet: the reboot is new                | -          | no                  | A Succeeded          | -                    | Claim A
          claimed, not started                               | Starting A | no                  | A Succeeded          | -                    | ReadFresh VMI
          claimed, not started; the VMI read fresh           | Starting A | no                  | A Succeeded          | A Succeeded          | Start A
          claimed, and the user stops the VM                 | Starting A | no                  | A Succeeded          | A Succeeded deleting | Nothing
          started; virt-controller has not acted yet         | Starting A | yes                 | A Succeeded          | -                    | Nothing
          started; the old VMI deleted, the new one not yet  | Starting A | yes                 | none                 | -                    | Nothing
          started; the old VMI gone, requests done           | Starting A | no                  | none                 | -                    | FinishClaim A
          started; the new VMI runs                          | Starting A | no                  | B Running            | -                    | FinishClaim A
          started; the cache still shows the old VMI         | Starting A | no                  | A Succeeded          | -                    | ReadFresh VMI
          started; the old VMI in the cache, B read fresh    | Starting A | no                  | A Succeeded          | B Running            | FinishClaim A
          started; the old VMI in the cache, none fresh      | Starting A | no                  | A Succeeded          | none                 | FinishClaim A
          started, Event written, not confirmed              | Starting A | no                  | B Running            | -                    | FinishClaim A
          confirmed                                          | Done A     | no                  | B Running            | -                    | Nothing
          confirmed; the cache still shows the old VMI       | Done A     | no                  | A Succeeded          | -                    | Nothing
          confirmed; the guest of B reboots too              | Done A     | no                  | B Succeeded          | -                    | Claim B
          claimed with a backoff that still runs             | Starting A +30s | no             | A Succeeded          | -                    | WaitForBackoff A
          claimed with a backoff that is over                | Starting A -1s | no              | A Succeeded          | -                    | ReadFresh VMI
          backoff over, the VMI read fresh                   | Starting A -1s | no              | A Succeeded          | A Succeeded          | Start A
          backoff over, started, not confirmed               | Starting A -1s | no              | B Running            | -                    | FinishClaim A
          in the backoff a user starts the VM: pending       | Starting A +30s | yes            | A Succeeded          | -                    | Nothing
          in the backoff a user started the VM               | Starting A +30s | no             | B Running            | -                    | DropClaim A
          in the backoff a user stopped the VM (VMI deleted) | Starting A +30s | no             | none                 | -                    | DropClaim A
          in the backoff the user's stop is under way        | Starting A +30s | no             | A Succeeded deleting | -                    | Nothing
          a backoff edited to a year ahead is not kept       | Starting A +365d | no            | A Succeeded          | -                    | ReadFresh VMI
          """)
  void afterARestartAtEachPoint(
      String point, String record, String requests, String cached, String fresh, String next) {
    Snapshots.Builder s =
        Snapshots.vm("Manual")
            .record(record(record))
            .stateChangeRequests(requests.equals("yes"))
            .vmi(cached);
    VmSnapshot.Vmi vmi = Snapshots.vmi(cached);
    if (vmi != null) {
      s.pods(pod(vmi));
    }
    if (fresh != null) {
      s.freshVmi(fresh);
    }

    Step step = s.decide();

    String[] expected = next.split(" ");
    assertThat(step.getClass().getSimpleName()).isEqualTo(expected[0]);
    switch (expected[0]) {
      case "Claim" -> {
        Step.Claim claim = (Step.Claim) step;
        assertThat(claim.vmiUid()).isEqualTo(expected[1]);
        assertThat(claim.outcome().eventReason()).isEqualTo(EventReason.RestartedAfterGuestReboot);
      }
      case "Start" -> {
        Step.Start start = (Step.Start) step;
        assertThat(start.claim().vmiUid()).isEqualTo(expected[1]);
        assertThat(start.outcome().eventReason()).isEqualTo(EventReason.RestartedAfterGuestReboot);
      }
      case "FinishClaim" -> {
        Step.FinishClaim finish = (Step.FinishClaim) step;
        assertThat(finish.claim().vmiUid()).isEqualTo(expected[1]);
        assertThat(finish.outcome().eventReason()).isEqualTo(EventReason.RestartedAfterGuestReboot);
      }
      case "WaitForBackoff" -> {
        Step.WaitForBackoff wait = (Step.WaitForBackoff) step;
        assertThat(wait.vmiUid()).isEqualTo(expected[1]);
        assertThat(wait.until()).isEqualTo(NOW.plusSeconds(30));
        assertThat(wait.left()).isEqualTo(java.time.Duration.ofSeconds(30));
      }
      case "DropClaim" -> {
        Step.DropClaim drop = (Step.DropClaim) step;
        assertThat(drop.claim().vmiUid()).isEqualTo(expected[1]);
        assertThat(drop.outcome().eventReason()).isEqualTo(EventReason.RestartSuperseded);
        assertThat(drop.outcome().start()).isFalse();
      }
      case "ReadFresh" ->
          assertThat(((Step.ReadFresh) step).what())
              .isEqualTo(Step.ReadFresh.Source.valueOf(expected[1]));
      case "Nothing" -> assertThat(((Step.Nothing) step).why()).isNotBlank();
      default -> throw new IllegalArgumentException(next);
    }
  }

  @Test
  void neverStartsFromTheCacheAlone() {
    // Whatever the cache shows, a claimed VMI is read fresh before virt-api is asked.
    for (String cached : new String[] {"A Succeeded", "A Failed"}) {
      Step step =
          Snapshots.vm("AlwaysOnUnlessStoppedManually")
              .record(record("Starting A"))
              .vmi(cached)
              .pods(pod(Snapshots.vmi(cached)))
              .decide();
      assertThat(step).isEqualTo(new Step.ReadFresh(Step.ReadFresh.Source.VMI));
    }
  }

  @Test
  void aStartClaimedInThisReconcileKeepsTheEventOfItsDecision() {
    // The decision's Event message names the cause; after a restart only the reason is recorded.
    Step first =
        Snapshots.vm("AlwaysOnUnlessStoppedManually")
            .vmi("A Failed")
            .pods(ended("a", 1, ""))
            .decide();
    assertThat(first).isInstanceOf(Step.Claim.class);
    Step.Claim claim = (Step.Claim) first;
    assertThat(claim.outcome().reason()).isEqualTo("vmi-failed");

    Step now =
        Snapshots.vm("AlwaysOnUnlessStoppedManually")
            .record(PowerEventRecord.starting("A", "vmi-failed", CLAIMED_AT))
            .vmi("A Failed")
            .pods(ended("a", 1, ""))
            .freshVmi("A Failed")
            .claimed(claim)
            .decide();
    Step afterRestart =
        Snapshots.vm("AlwaysOnUnlessStoppedManually")
            .record(PowerEventRecord.starting("A", "vmi-failed", CLAIMED_AT))
            .vmi("A Failed")
            .pods(ended("a", 1, ""))
            .freshVmi("A Failed")
            .decide();

    assertThat(((Step.Start) now).outcome()).isEqualTo(claim.outcome());
    assertThat(((Step.Start) afterRestart).outcome())
        .isEqualTo(
            PowerPolicy.recordedStart(
                io.vmpower.api.RunPolicy.ALWAYS_ON_UNLESS_STOPPED_MANUALLY, "vmi-failed"));
    assertThat(((Step.Start) afterRestart).outcome().eventReason())
        .isEqualTo(EventReason.RestartedAfterFailure);
  }

  /**
   * The same protocol run end to end against an in-memory cluster, with the controller stopped
   * after each of its writes (claim, start, Event, confirm), virt-controller having replaced the
   * VMI not at all, halfway or fully by the time the next controller looks (and the user perhaps
   * having stopped the new one), and that controller's cache showing the VMI as it was at the crash
   * or as it is: the VM is started exactly once, and the record and the one Event say so.
   */
  @ParameterizedTest(
      name = "stopped after write {0}, virt-controller {1} steps on, stale cache {2}")
  @CsvSource({
    "0, 0, false, false", "1, 0, false, false", "1, 0, true, false", "2, 0, false, false",
    "2, 0, true, false", "2, 1, false, false", "2, 1, true, false", "2, 2, false, false",
    "2, 2, true, false", "2, 2, false, true", "2, 2, true, true", "3, 0, true, false",
    "3, 1, true, false", "3, 2, false, false", "3, 2, true, false", "3, 2, false, true",
    "4, 2, true, false"
  })
  void everyCrashPointStartsOnce(
      int crashAfter, int progress, boolean staleCache, boolean userStops) {
    everyCrashPointStartsOnce(crashAfter, progress, staleCache, userStops, false);
  }

  /**
   * The same with a restart that waits for its backoff (the VM was restarted once before and has
   * not run long since): the claim carries the backoff, whichever controller comes next waits for
   * the rest of it, and the start happens once, not before the backoff is over.
   */
  @ParameterizedTest(
      name = "with backoff: stopped after write {0}, virt-controller {1} steps on, stale cache {2}")
  @CsvSource({
    "0, 0, false, false", "2, 0, false, false", "2, 1, true, false", "2, 2, false, false",
    "2, 2, true, true", "3, 0, true, false", "3, 2, false, false", "4, 2, true, false"
  })
  void everyCrashPointStartsOnceAfterTheBackoff(
      int crashAfter, int progress, boolean staleCache, boolean userStops) {
    everyCrashPointStartsOnce(crashAfter, progress, staleCache, userStops, true);
  }

  private void everyCrashPointStartsOnce(
      int crashAfter, int progress, boolean staleCache, boolean userStops, boolean backoff) {
    Cluster c = new Cluster();
    VmSnapshot.Vmi atCrash = c.vmi;
    Instant backoffUntil = NOW;
    if (backoff) {
      // An earlier restart, of VMI Z, a moment ago: this one is the second of a streak.
      c.record =
          PowerEventRecord.done(
              "Z",
              "guest-reset",
              PowerEventRecord.START,
              NOW,
              RestartLoop.NONE.restarted("guest-reset", NOW.minusSeconds(20), 5, Optional.empty()));
      assertThat(c.reconcile(c.vmi)).isFalse(); // claimed (write 1), then waits
      backoffUntil = c.record.loop().backoffUntil().orElseThrow();
      assertThat(backoffUntil).isEqualTo(NOW.plusSeconds(10));
      c.now = NOW.plusSeconds(9);
      assertThat(c.reconcile(c.vmi)).isFalse(); // any controller waits for the rest of it
      assertThat(c.starts).isZero();
      c.now = backoffUntil;
    }
    c.crashAfter = crashAfter;
    boolean crashed = c.reconcile(c.vmi);
    assertThat(crashed).isEqualTo(crashAfter > (backoff ? 1 : 0));
    for (int i = 0; i < progress; i++) {
      c.virtController();
    }
    if (userStops) {
      c.vmi = null; // virtctl stop on the new VMI, done before the next controller looks
    }
    c.crashAfter = -1;
    c.reconcile(staleCache ? atCrash : c.vmi);
    for (int round = 0; round < 5; round++) {
      c.now = c.now.plusSeconds(4);
      c.virtController();
      c.reconcile(c.vmi);
    }

    assertThat(c.starts).isEqualTo(1);
    assertThat(c.startedAt).isAfterOrEqualTo(backoffUntil);
    assertThat(c.record.vmiUid()).isEqualTo("A");
    assertThat(c.record.isDone()).isTrue();
    assertThat(c.record.loop().backoffUntil()).isEmpty();
    assertThat(c.record.loop().restarts()).containsEntry("guest-reset", backoff ? 2L : 1L);
    assertThat(c.record.loop().streak()).isEqualTo(backoff ? 2 : 1);
    assertThat(c.events).containsExactly("A/RestartedAfterGuestReboot");
    assertThat(c.vmi).isEqualTo(userStops ? null : new VmSnapshot.Vmi("B", "Running", false));
  }

  /** A Manual VM whose guest rebooted in VMI A, and just enough of KubeVirt and the API. */
  private static final class Cluster {
    PowerEventRecord record;
    Instant now = NOW;
    Instant startedAt;
    boolean requests;
    VmSnapshot.Vmi vmi = new VmSnapshot.Vmi("A", "Succeeded", false);
    int starts;
    final java.util.Set<String> events = new java.util.TreeSet<>();
    int crashAfter;
    int writes;

    private static final class Crash extends RuntimeException {
      private static final long serialVersionUID = 1L;
    }

    /** One reconcile with the real decision; true when the controller stopped in the middle. */
    boolean reconcile(VmSnapshot.Vmi cached) {
      VmSnapshot s =
          Snapshots.vm("Manual")
              .record(record)
              .stateChangeRequests(requests)
              .vmi(cached == null ? "none" : cached.uid() + " " + cached.phase())
              .pods(cached == null ? new LauncherPod[0] : new LauncherPod[] {pod(cached)})
              .now(now)
              .build();
      try {
        for (int i = 0; i < 8; i++) {
          Step step = Snapshots.DECISION.decide(s);
          if (step instanceof Step.ReadFresh read) {
            s =
                read.what() == Step.ReadFresh.Source.VMI
                    ? s.withFreshVmi(vmi)
                    : s.withFreshPods(
                        vmi == null ? java.util.List.of() : java.util.List.of(pod(vmi)));
          } else if (step instanceof Step.Claim claim) {
            assertThat(s.vm().record()).isEqualTo(java.util.Optional.ofNullable(record));
            record =
                PowerEventRecord.starting(
                    claim.vmiUid(), claim.outcome().reason(), now, claim.loop());
            written();
            s = s.withClaim(vm(s), claim);
          } else if (step instanceof Step.Start start) {
            startRequest();
            event(start.claim(), start.outcome());
            confirm(start.claim());
            return false;
          } else if (step instanceof Step.FinishClaim finish) {
            event(finish.claim(), finish.outcome());
            confirm(finish.claim());
            return false;
          } else if (step instanceof Step.Nothing || step instanceof Step.WaitForBackoff) {
            return false;
          } else {
            throw new AssertionError("unexpected " + step);
          }
        }
        throw new AssertionError("no final step");
      } catch (Crash e) {
        return true;
      }
    }

    /** virt-api's start (runStrategy Manual): accepted unless a VMI runs or requests pend. */
    private void startRequest() {
      if (!requests && (vmi == null || vmi.isFinal())) {
        starts++;
        startedAt = now;
        requests = true;
        written();
      }
    }

    private void event(PowerEventRecord claim, Outcome outcome) {
      events.add(claim.vmiUid() + "/" + outcome.eventReason()); // a fixed name: one Event
      written();
    }

    /** The JSON-patch test on the record: only a record that still says this claim. */
    private void confirm(PowerEventRecord claim) {
      if (claim.equals(record)) {
        record = claim.completed(now);
        written();
      }
    }

    /** virt-controller honouring stop + start: deletes the old VMI, then creates B. */
    void virtController() {
      if (!requests) {
        return;
      }
      if (vmi != null && vmi.isFinal()) {
        vmi = null;
      } else {
        vmi = new VmSnapshot.Vmi("B", "Running", false);
        requests = false;
      }
    }

    private void written() {
      if (++writes == crashAfter) {
        throw new Crash();
      }
    }

    private VmSnapshot.Vm vm(VmSnapshot s) {
      VmSnapshot.Vm v = s.vm();
      return new VmSnapshot.Vm(
          v.namespace(),
          v.name(),
          v.uid(),
          v.resourceVersion() + "1",
          v.deleting(),
          v.policy(),
          v.stateChangeRequests(),
          v.startPending(),
          java.util.Optional.of(record));
    }
  }

  private static final Instant NOW = Snapshots.NOW;

  /** "Starting A", "Done A", or "Starting A +30s" (a backoff until 30 s after NOW; -1s, +365d). */
  private static PowerEventRecord record(String text) {
    if (text == null) {
      return null;
    }
    String[] parts = text.split(" ");
    RestartLoop loop = RestartLoop.NONE;
    if (parts.length > 2) {
      String offset = parts[2];
      long n = Long.parseLong(offset.substring(0, offset.length() - 1));
      java.time.Duration d =
          offset.endsWith("d") ? java.time.Duration.ofDays(n) : java.time.Duration.ofSeconds(n);
      loop =
          RestartLoop.NONE.restarted(
              "guest-reset", CLAIMED_AT, 5, java.util.Optional.of(NOW.plus(d)));
    }
    PowerEventRecord starting =
        PowerEventRecord.starting(parts[1], "guest-reset", CLAIMED_AT, loop);
    return parts[0].equals("Done") ? starting.completed(CLAIMED_AT.plusSeconds(1)) : starting;
  }

  /** The pod of a VMI: ended with a guest reset when the VMI has ended, else running. */
  private static LauncherPod pod(VmSnapshot.Vmi vmi) {
    String name = vmi.uid().toLowerCase();
    return vmi.isFinal() ? ended(name, 1, RESET) : running(name, 1);
  }
}
