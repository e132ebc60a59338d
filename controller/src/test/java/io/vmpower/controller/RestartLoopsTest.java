package io.vmpower.controller;

import static io.vmpower.controller.Snapshots.NOW;
import static io.vmpower.controller.Snapshots.RESET;
import static io.vmpower.controller.Snapshots.ended;
import static org.assertj.core.api.Assertions.assertThat;

import io.vmpower.api.power.RestartLoop;
import io.vmpower.controller.Outcome.EventReason;
import io.vmpower.controller.VmSnapshot.Vmi;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Restart-loop protection as pure tables: backoff, healthy runs, give-up, user starts, bad input.
 */
class RestartLoopsTest {
  private static final RestartLoops.Limits LIMITS = RestartLoops.Limits.DEFAULTS;

  @ParameterizedTest(name = "restart {0} of a streak waits {1}")
  @CsvSource({
    "0, 0",
    "1, 10",
    "2, 20",
    "3, 40",
    "4, 80",
    "5, 160",
    "6, 300",
    "7, 300",
    "10000, 300"
  })
  void backoffDoublesFrom10sTo5min(int streak, long seconds) {
    assertThat(LIMITS.delay(streak)).isEqualTo(Duration.ofSeconds(seconds));
  }

  /** The loop after {@code n} restarts {@code apart} each, the last one at NOW. */
  private static RestartLoop afterRestarts(int n, Duration apart) {
    RestartLoop loop = RestartLoop.NONE;
    for (int i = n - 1; i >= 0; i--) {
      loop = loop.restarted("vmi-failed", NOW.minus(apart.multipliedBy(i)), 5, Optional.empty());
    }
    return loop;
  }

  @Test
  void aGuestThatKeepsFailingIsRestartedWithBackoffThenGivenUp() {
    // Each VMI runs 30 s and fails; the controller restarts as soon as it may.
    RestartLoop loop = RestartLoop.NONE;
    Instant now = NOW;
    List<Long> waits = new ArrayList<>();
    RestartLoops.Verdict verdict;
    while (true) {
      verdict =
          RestartLoops.restart(
              loop, "vmi-failed", Optional.of(Duration.ofSeconds(30)), now, LIMITS);
      if (verdict instanceof RestartLoops.Verdict.GiveUp) {
        break;
      }
      loop = ((RestartLoops.Verdict.Restart) verdict).loop();
      Instant start = loop.backoffUntil().orElse(now);
      waits.add(Duration.between(now, start).toSeconds());
      now = start.plusSeconds(30);
    }
    // Immediate, then 10, 20, 40, 80 s: five restarts, then the sixth end is given up on.
    assertThat(waits).containsExactly(0L, 10L, 20L, 40L, 80L);
    RestartLoops.Verdict.GiveUp giveUp = (RestartLoops.Verdict.GiveUp) verdict;
    assertThat(giveUp.restarts()).isEqualTo(5);
    assertThat(giveUp.loop().gaveUp()).contains(now);
    assertThat(giveUp.loop().restarts()).isEqualTo(Map.of("vmi-failed", 5L));
    assertThat(giveUp.loop().backoffUntil()).isEmpty();
  }

  @Test
  void aRunOfTenMinutesEndsTheStreak() {
    RestartLoop loop = afterRestarts(4, Duration.ofMinutes(1));
    var verdict =
        (RestartLoops.Verdict.Restart)
            RestartLoops.restart(
                loop, "guest-reset", Optional.of(Duration.ofMinutes(10)), NOW, LIMITS);
    assertThat(verdict.loop().backoffUntil()).isEmpty(); // immediate again
    assertThat(verdict.loop().streak()).isEqualTo(1);
    assertThat(verdict.loop().recent()).containsExactly(NOW);
    assertThat(verdict.loop().restarts())
        .containsEntry("vmi-failed", 4L)
        .containsEntry("guest-reset", 1L);
  }

  @Test
  void anUnknownRunTimeDoesNotEndTheStreak() {
    RestartLoop loop = afterRestarts(1, Duration.ofMinutes(1));
    var verdict =
        (RestartLoops.Verdict.Restart)
            RestartLoops.restart(loop, "guest-reset", Optional.empty(), NOW, LIMITS);
    assertThat(verdict.loop().backoffUntil()).contains(NOW.plusSeconds(10));
  }

  @Test
  void restartsOlderThanTheWindowDoNotCountTowardsGivingUp() {
    // Five restarts, 20 minutes apart, none of whose VMIs ran 10 minutes: only those within the
    // last hour count.
    RestartLoop loop =
        afterRestarts(5, Duration.ofMinutes(20))
            .withRecent(
                List.of(
                    NOW.minus(Duration.ofMinutes(80)),
                    NOW.minus(Duration.ofMinutes(60)),
                    NOW.minus(Duration.ofMinutes(40)),
                    NOW.minus(Duration.ofMinutes(20)),
                    NOW));
    var verdict =
        RestartLoops.restart(loop, "vmi-failed", Optional.of(Duration.ofMinutes(9)), NOW, LIMITS);
    assertThat(verdict).isInstanceOf(RestartLoops.Verdict.Restart.class);
    assertThat(((RestartLoops.Verdict.Restart) verdict).loop().recent()).hasSize(4);
  }

  @Test
  void aLimitOfZeroNeverGivesUp() {
    RestartLoops.Limits never =
        new RestartLoops.Limits(
            LIMITS.base(), LIMITS.max(), LIMITS.resetAfter(), 0, LIMITS.window());
    RestartLoop loop = RestartLoop.NONE;
    for (int i = 0; i < 100; i++) {
      var verdict =
          RestartLoops.restart(loop, "guest-reset", Optional.of(Duration.ZERO), NOW, never);
      assertThat(verdict).isInstanceOf(RestartLoops.Verdict.Restart.class);
      loop = ((RestartLoops.Verdict.Restart) verdict).loop();
    }
    assertThat(loop.backoffUntil()).contains(NOW.plus(LIMITS.max()));
    assertThat(loop.recent()).isEmpty();
  }

  @Test
  void restartTimesInTheFutureCountAsNow() {
    // Edited by hand to a year ahead: they count (a give-up comes no later), and leave the
    // window an hour from now rather than never.
    RestartLoop future =
        RestartLoop.NONE.withRecent(
            List.of(NOW.plus(Duration.ofDays(365)), NOW.plus(Duration.ofDays(366))));
    var verdict =
        (RestartLoops.Verdict.Restart)
            RestartLoops.restart(future, "guest-reset", Optional.empty(), NOW, LIMITS);
    assertThat(verdict.loop().recent()).containsExactly(NOW, NOW, NOW);
  }

  @ParameterizedTest(name = "backoff until now + {0}s: wait {1}")
  @CsvSource({"30, true", "300, true", "301, false", "31536000, false", "0, false", "-5, false"})
  void aBackoffFurtherAheadThanTheLongestIsNotKept(long seconds, boolean waits) {
    RestartLoop loop =
        RestartLoop.NONE.restarted("guest-reset", NOW, 5, Optional.of(NOW.plusSeconds(seconds)));
    assertThat(RestartLoops.waitUntil(loop, NOW, LIMITS).isPresent()).isEqualTo(waits);
  }

  @Test
  void reasonsAreBounded() {
    RestartLoop loop = RestartLoop.NONE;
    for (int i = 0; i < 100; i++) {
      loop = loop.restarted("reason-" + i, NOW, 5, Optional.empty());
    }
    assertThat(loop.restarts()).hasSize(RestartLoop.MAX_REASONS);
    assertThat(loop.restarts())
        .containsEntry(RestartLoop.OTHER, 100L - (RestartLoop.MAX_REASONS - 1));
    assertThat(loop.total()).isEqualTo(100);
    assertThat(loop.recent()).hasSize(5);
  }

  @Nested
  class InTheDecision {
    /** A Manual VM whose guest rebooted in VMI B, which ran {@code ran} since going Running. */
    private Snapshots.Builder rebooted(PowerEventRecord record, Duration ran) {
      Vmi b =
          new Vmi(
              "B",
              "Succeeded",
              false,
              "node-1",
              Optional.empty(),
              Optional.of(NOW.minus(ran).minusSeconds(20)),
              Optional.of(NOW.minus(ran)),
              Optional.of(NOW));
      return Snapshots.vm("Manual").record(record).vmi(b).pods(ended("b", 1, RESET));
    }

    private PowerEventRecord startedA(RestartLoop loop) {
      return PowerEventRecord.done("A", "guest-reset", PowerEventRecord.START, NOW, loop);
    }

    @Test
    void theSecondQuickRebootWaits10s() {
      Step step =
          rebooted(startedA(afterRestarts(1, Duration.ZERO)), Duration.ofSeconds(40)).decide();
      Step.Claim claim = (Step.Claim) step;
      assertThat(claim.loop().backoffUntil()).contains(NOW.plusSeconds(10));
      assertThat(claim.loop().streak()).isEqualTo(2);
    }

    @Test
    void aRebootAfterTenMinutesIsImmediate() {
      Step step =
          rebooted(startedA(afterRestarts(4, Duration.ZERO)), Duration.ofMinutes(11)).decide();
      assertThat(((Step.Claim) step).loop().backoffUntil()).isEmpty();
    }

    @Test
    void theSixthQuickEndIsGivenUpOn() {
      Step step =
          rebooted(startedA(afterRestarts(5, Duration.ofSeconds(30))), Duration.ofSeconds(5))
              .decide();
      Step.Stay stay = (Step.Stay) step;
      assertThat(stay.vmiUid()).isEqualTo("B");
      assertThat(stay.outcome().eventReason()).isEqualTo(EventReason.GaveUpRestarting);
      assertThat(stay.outcome().reason()).isEqualTo("guest-reset");
      assertThat(stay.outcome().message())
          .contains("5 times within 1h", "running 10m", "virtctl start", "vmi-failed 5");
      assertThat(stay.loop().hasGivenUp()).isTrue();
    }

    @Test
    void aStayCarriesTheLoopOn() {
      RestartLoop loop = afterRestarts(3, Duration.ofSeconds(30));
      Step step =
          Snapshots.vm("Manual")
              .record(startedA(loop))
              .vmi("B Succeeded")
              .pods(ended("b", 1, Snapshots.POWEROFF))
              .decide();
      assertThat(((Step.Stay) step).loop()).isEqualTo(loop);
    }

    @Test
    void aVmiTheControllerDidNotStartEndsTheStreak() {
      // The record says the controller left A stopped: B was started by a user.
      PowerEventRecord stayed =
          PowerEventRecord.done(
              "A", "guest-shutdown", PowerEventRecord.NONE, NOW, afterRestarts(4, Duration.ZERO));
      Step step = rebooted(stayed, Duration.ofSeconds(5)).decide();
      Step.Claim claim = (Step.Claim) step;
      assertThat(claim.loop().backoffUntil()).isEmpty();
      assertThat(claim.loop().streak()).isEqualTo(1);
    }

    @Test
    void aGiveUpHoldsWhileItsVmiIsThere() {
      PowerEventRecord gaveUp =
          PowerEventRecord.done(
              "B",
              "vmi-failed",
              PowerEventRecord.NONE,
              NOW,
              afterRestarts(5, Duration.ZERO).givenUp(NOW));
      Step step =
          Snapshots.vm("AlwaysOnUnlessStoppedManually")
              .record(gaveUp)
              .vmi("B Failed")
              .pods(ended("b", 1, ""))
              .decide();
      assertThat(step).isInstanceOf(Step.Nothing.class);
    }

    @Test
    void aUserStartAfterAGiveUpClearsIt() {
      PowerEventRecord gaveUp =
          PowerEventRecord.done(
              "B",
              "vmi-failed",
              PowerEventRecord.NONE,
              NOW,
              afterRestarts(5, Duration.ZERO).givenUp(NOW));
      // While the user's start is under way: stand back.
      assertThat(
              Snapshots.vm("Manual")
                  .record(gaveUp)
                  .stateChangeRequests(true)
                  .vmi("B Failed")
                  .decide())
          .isInstanceOf(Step.Nothing.class);
      // Then a new VMI runs: the give-up is cleared.
      Step step = Snapshots.vm("Manual").record(gaveUp).vmi("C Running").decide();
      assertThat(step).isEqualTo(new Step.ClearGiveUp(gaveUp, "C"));
      // Even if C has ended already when the controller looks.
      assertThat(Snapshots.vm("Manual").record(gaveUp).vmi("C Failed").decide())
          .isEqualTo(new Step.ClearGiveUp(gaveUp, "C"));
    }
  }

  @Nested
  class AnUnreadableRecord {
    @Test
    void leavesAnEndedVmiStoppedAndSaysWhy() {
      Step step =
          Snapshots.vm("AlwaysOnUnlessStoppedManually")
              .unreadableRecord("not JSON")
              .vmi("A Failed")
              .pods(ended("a", 1, ""))
              .decide();
      Step.Stay stay = (Step.Stay) step;
      assertThat(stay.outcome().eventReason()).isEqualTo(EventReason.UnreadablePowerRecord);
      assertThat(stay.outcome().reason()).isEqualTo("unreadable-record");
      assertThat(stay.outcome().message()).contains("not JSON", "virtctl start");
      assertThat(stay.loop()).isEqualTo(RestartLoop.NONE);
    }

    @Test
    void isRewrittenWhileTheVmRuns() {
      assertThat(Snapshots.vm("Manual").unreadableRecord("no vmiUid").vmi("A Running").decide())
          .isEqualTo(new Step.RepairRecord("no vmiUid"));
      assertThat(Snapshots.vm("Manual").unreadableRecord("no vmiUid").decide())
          .isEqualTo(new Step.RepairRecord("no vmiUid"));
    }

    @Test
    void isLeftAloneWhereKubeVirtActs() {
      assertThat(Snapshots.vm("AlwaysOn").unreadableRecord("x").vmi("A Running").decide())
          .isInstanceOf(Step.Nothing.class);
    }
  }
}
