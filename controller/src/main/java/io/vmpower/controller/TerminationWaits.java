package io.vmpower.controller;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * When this controller first saw a final VMI with its compute container still running, by VMI uid:
 * the start of the wait for the termination message ({@link Step.Wait}). The decision reads it from
 * the snapshot; the actuator writes it.
 *
 * <p>Kept in memory rather than taken from the VMI's {@code status.phaseTransitionTimestamps}: that
 * is virt-handler's clock on another machine, to the second, and a skewed node would cut the wait
 * short and decide without a message that was about to arrive. Lost on a restart or leader change,
 * the wait starts over: longer, never shorter.
 */
final class TerminationWaits {
  private final Map<String, Instant> since = new ConcurrentHashMap<>();

  Optional<Instant> since(String vmiUid) {
    return Optional.ofNullable(since.get(vmiUid));
  }

  void started(String vmiUid, Instant at) {
    since.putIfAbsent(vmiUid, at);
  }

  /** The VMI is decided on: its wait is over. */
  void ended(String vmiUid) {
    since.remove(vmiUid);
  }
}
