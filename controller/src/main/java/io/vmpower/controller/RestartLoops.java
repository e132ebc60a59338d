package io.vmpower.controller;

import io.vmpower.api.power.RestartLoop;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Restart-loop protection (issue 14): how a restart the policy asks for is paced, and when the
 * controller gives up. Pure. KubeVirt gives vmpower's restarts no backoff of its own (its
 * start-failure backoff is cleared under runStrategy Manual and covers only VMIs that never ran,
 * DESIGN.md section 9, "Backoff"), so a guest that reboots or fails every few seconds would
 * otherwise be restarted in a tight loop.
 *
 * <ul>
 *   <li><b>Backoff</b>, like a pod's CrashLoopBackOff: the first restart after a healthy run is
 *       immediate, then {@code base}, doubling up to {@code max} (10 s, 20 s, … 5 min).
 *   <li><b>Healthy run</b>: a VMI that ran at least {@code resetAfter} (10 min), judged from
 *       cluster facts ({@link VmSnapshot.Vmi#ranFor}), ends the streak: backoff and give-up count
 *       start over.
 *   <li><b>Give-up</b>: {@code limit} restarts of the current streak within {@code window} and the
 *       VM ends again: no restart; it stays stopped until a user starts it. {@code limit} 0 never
 *       gives up.
 * </ul>
 *
 * <p>The state lives in the VM's record ({@link RestartLoop}), written with the claim, so it
 * survives restarts and leader changes and is counted exactly once.
 */
final class RestartLoops {

  /**
   * The settings (ControllerSettings, README "Settings").
   *
   * @param base the second restart's delay
   * @param max the longest delay
   * @param resetAfter a VMI that ran this long ends the streak
   * @param limit restarts within {@code window} after which the controller gives up; 0: never
   * @param window the give-up window
   */
  record Limits(Duration base, Duration max, Duration resetAfter, int limit, Duration window) {
    static final Limits DEFAULTS =
        new Limits(
            Duration.ofSeconds(10),
            Duration.ofMinutes(5),
            Duration.ofMinutes(10),
            5,
            Duration.ofHours(1));

    Limits {
      if (resetAfter.isNegative() || resetAfter.isZero() || window.isNegative()) {
        throw new IllegalArgumentException("restart backoff reset and limit window must be > 0");
      }
      if (base.isNegative() || max.compareTo(base) < 0) {
        throw new IllegalArgumentException("restart backoff: 0 <= base <= max");
      }
      if (limit < 0 || limit > RestartLoop.MAX_RECENT) {
        throw new IllegalArgumentException(
            "restart limit must be between 0 and " + RestartLoop.MAX_RECENT);
      }
    }

    /** The delay before restart number {@code streak + 1} of a streak. */
    Duration delay(int streak) {
      if (streak <= 0) {
        return Duration.ZERO;
      }
      Duration d = base;
      for (int i = 1; i < streak && d.compareTo(max) < 0; i++) {
        d = d.multipliedBy(2);
      }
      return d.compareTo(max) > 0 ? max : d;
    }
  }

  /** What to do about a restart the policy asks for. */
  sealed interface Verdict {
    /** Restart, after {@code loop.backoffUntil()} if present; {@code loop} counts it. */
    record Restart(RestartLoop loop) implements Verdict {}

    /** Do not restart: {@code loop} says given up; {@code restarts} in the window before it. */
    record GiveUp(RestartLoop loop, int restarts) implements Verdict {}
  }

  private RestartLoops() {}

  /**
   * The restart-loop state the VM's record carries into a new decision: the record's, with the
   * streak ended when the controller did not start the VMI that has now ended (its record says it
   * did not act: a user or a first start started the VM since), which also clears a give-up.
   */
  static RestartLoop carried(Optional<PowerEventRecord> record) {
    if (record.isEmpty()) {
      return RestartLoop.NONE;
    }
    PowerEventRecord r = record.get();
    return PowerEventRecord.START.equals(r.action()) ? r.loop() : r.loop().healthy();
  }

  /**
   * A restart for {@code reason} of a VMI that ran {@code ranFor} (empty: unknown, counts as not
   * healthy). Restart times are taken no later than {@code now} (one written in the future by hand
   * counts as now) and only within the window.
   */
  static Verdict restart(
      RestartLoop loop, String reason, Optional<Duration> ranFor, Instant now, Limits limits) {
    RestartLoop current =
        ranFor.isPresent() && ranFor.get().compareTo(limits.resetAfter()) >= 0
            ? loop.healthy()
            : loop;
    Instant from = now.minus(limits.window());
    List<Instant> recent =
        current.recent().stream()
            .map(t -> t.isAfter(now) ? now : t)
            .filter(t -> t.isAfter(from))
            .sorted()
            .toList();
    current = current.withRecent(recent);
    if (limits.limit() > 0 && recent.size() >= limits.limit()) {
      return new Verdict.GiveUp(current.givenUp(now), recent.size());
    }
    Duration delay = limits.delay(current.streak());
    return new Verdict.Restart(
        current.restarted(
            reason,
            now,
            limits.limit(),
            delay.isZero() ? Optional.empty() : Optional.of(now.plus(delay))));
  }

  /**
   * When a claimed restart may start: its backoff, unless that lies further ahead than {@code max}
   * (a hand-edited or foreign value, or a clock that jumped back): such a wait is not kept.
   */
  static Optional<Instant> waitUntil(RestartLoop loop, Instant now, Limits limits) {
    return loop.backoffUntil()
        .filter(until -> until.isAfter(now) && !until.isAfter(now.plus(limits.max())));
  }
}
