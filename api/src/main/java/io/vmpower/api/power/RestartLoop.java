package io.vmpower.api.power;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The power controller's restart-loop state of one VM: how often it restarted the VM and why, how
 * far its backoff has grown, and whether it gave up. Carried in the VM annotation {@code
 * vmpower.io/last-power-event} next to the last power event ({@link LastPowerEvent}), so that it is
 * written in the same conditional writes as the record (exactly once, across restarts and leader
 * changes) and read by anyone who reads the record ({@code vmpower status}, metrics).
 *
 * <p>Bounded by construction: at most {@link #MAX_REASONS} reasons, at most {@link #MAX_RECENT}
 * recent restart times.
 *
 * @param restarts the controller's restarts of the VM by recorded reason ({@code guest-reset},
 *     {@code vmi-failed}, ...), counted since the record exists; sorted by reason
 * @param streak restarts since the VM last ran long enough to count as healthy: the backoff's
 *     exponent (0 = the next restart is immediate)
 * @param recent when the restarts of the current streak happened, oldest first: what giving up is
 *     counted from
 * @param backoffUntil a claimed restart waits until then
 * @param gaveUp when the controller stopped restarting the VM; the VM stays stopped until a user
 *     starts it
 */
public record RestartLoop(
    Map<String, Long> restarts,
    int streak,
    List<Instant> recent,
    Optional<Instant> backoffUntil,
    Optional<Instant> gaveUp) {

  /** At most this many reasons are counted; further ones are counted under {@link #OTHER}. */
  public static final int MAX_REASONS = 16;

  /** At most this many restart times are kept (the give-up limit can be at most this). */
  public static final int MAX_RECENT = 64;

  /** The highest streak kept (the backoff has long reached its cap by then). */
  public static final int MAX_STREAK = 10_000;

  /** The reason under which restarts are counted once {@link #MAX_REASONS} are in use. */
  public static final String OTHER = "other";

  /** No restarts, no backoff, not given up. */
  public static final RestartLoop NONE =
      new RestartLoop(Map.of(), 0, List.of(), Optional.empty(), Optional.empty());

  public RestartLoop {
    restarts = Collections.unmodifiableMap(new TreeMap<>(restarts));
    recent = List.copyOf(recent);
    if (restarts.size() > MAX_REASONS) {
      throw new IllegalArgumentException("more than " + MAX_REASONS + " reasons");
    }
    if (recent.size() > MAX_RECENT) {
      throw new IllegalArgumentException("more than " + MAX_RECENT + " restart times");
    }
    if (streak < 0 || streak > MAX_STREAK) {
      throw new IllegalArgumentException("streak out of range: " + streak);
    }
  }

  /** All restarts counted, over every reason. */
  public long total() {
    return restarts.values().stream().mapToLong(Long::longValue).sum();
  }

  /** Whether the controller has given up restarting the VM. */
  public boolean hasGivenUp() {
    return gaveUp.isPresent();
  }

  /**
   * One more restart for {@code reason} at {@code at}: counted, the streak grown, the time kept
   * (the oldest dropped beyond {@code keep}), no give-up, with {@code backoffUntil} if it waits.
   */
  public RestartLoop restarted(String reason, Instant at, int keep, Optional<Instant> until) {
    Map<String, Long> counts = new TreeMap<>(restarts);
    // One slot stays free for OTHER; a map filled by hand counts only under an OTHER it has.
    String key = counts.containsKey(reason) || counts.size() < MAX_REASONS - 1 ? reason : OTHER;
    if (counts.containsKey(key) || counts.size() < MAX_REASONS) {
      counts.merge(key, 1L, Long::sum);
    }
    List<Instant> times = new ArrayList<>(recent);
    times.add(at);
    int limit = Math.max(0, Math.min(keep, MAX_RECENT));
    List<Instant> kept = times.subList(Math.max(0, times.size() - limit), times.size());
    return new RestartLoop(counts, Math.min(streak + 1, MAX_STREAK), kept, until, Optional.empty());
  }

  /** The streak over (the VM ran long enough, or a user started it): counts kept. */
  public RestartLoop healthy() {
    return new RestartLoop(restarts, 0, List.of(), Optional.empty(), Optional.empty());
  }

  /** Given up at {@code at}: no pending backoff. */
  public RestartLoop givenUp(Instant at) {
    return new RestartLoop(restarts, streak, recent, Optional.empty(), Optional.of(at));
  }

  /** Without a pending backoff (the restart happened, or was superseded). */
  public RestartLoop withoutBackoff() {
    return new RestartLoop(restarts, streak, recent, Optional.empty(), gaveUp);
  }

  /** With the restart times as given (normalised by the controller). */
  public RestartLoop withRecent(List<Instant> times) {
    return new RestartLoop(restarts, streak, times, backoffUntil, gaveUp);
  }
}
