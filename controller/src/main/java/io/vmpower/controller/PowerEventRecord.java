package io.vmpower.controller;

import io.vmpower.api.power.LastPowerEvent;
import io.vmpower.api.power.RestartLoop;
import java.time.Instant;
import java.util.Optional;

/**
 * The {@code vmpower.io/last-power-event} annotation as the controller works with it: which VMI it
 * handled, why, what it did, whether the action is complete, and the VM's restart-loop state. It is
 * the dedup record: a VMI whose uid is recorded with state {@code Done} is never acted on again, by
 * this or any later leader. Its JSON is {@link LastPowerEvent}'s (module {@code api}), shared with
 * anyone who reads the annotation.
 *
 * <p>A start is claimed first ({@code state: Starting}, with the restart counted and any backoff in
 * {@link RestartLoop#backoffUntil()}) and completed after virt-api accepted it ({@code state:
 * Done}); see README "Exactly once" for why.
 *
 * @param vmiUid uid of the VMI that ended (empty for a record not about a VMI)
 * @param reason see {@link LastPowerEvent#reason()}
 * @param action {@code Start} or {@code None}
 * @param state {@code Starting} while a start is claimed but not confirmed, then {@code Done}
 * @param time when the record was written (RFC 3339)
 * @param loop the restart-loop state
 */
record PowerEventRecord(
    String vmiUid, String reason, String action, State state, String time, RestartLoop loop) {

  static final String START = LastPowerEvent.START;
  static final String NONE = LastPowerEvent.NONE;

  /** Whether the action is complete. */
  enum State {
    /** A start is claimed but not confirmed. */
    STARTING(LastPowerEvent.STARTING),
    DONE(LastPowerEvent.DONE);

    private final String value;

    State(String value) {
      this.value = value;
    }

    /**
     * As written; anything but {@code Done} counts as a start in flight, which the next decision
     * confirms or finishes rather than repeats.
     */
    static State parse(String value) {
      return DONE.value.equals(value) ? DONE : STARTING;
    }
  }

  PowerEventRecord {
    loop = loop == null ? RestartLoop.NONE : loop;
  }

  /** A record without restart-loop state. */
  PowerEventRecord(String vmiUid, String reason, String action, State state, String time) {
    this(vmiUid, reason, action, state, time, RestartLoop.NONE);
  }

  static PowerEventRecord of(LastPowerEvent e) {
    return new PowerEventRecord(
        e.vmiUid(), e.reason(), e.action(), State.parse(e.state()), e.time(), e.loop());
  }

  static PowerEventRecord starting(String vmiUid, String reason, Instant now) {
    return starting(vmiUid, reason, now, RestartLoop.NONE);
  }

  static PowerEventRecord starting(String vmiUid, String reason, Instant now, RestartLoop loop) {
    return new PowerEventRecord(vmiUid, reason, START, State.STARTING, now.toString(), loop);
  }

  static PowerEventRecord done(String vmiUid, String reason, String action, Instant now) {
    return done(vmiUid, reason, action, now, RestartLoop.NONE);
  }

  static PowerEventRecord done(
      String vmiUid, String reason, String action, Instant now, RestartLoop loop) {
    return new PowerEventRecord(vmiUid, reason, action, State.DONE, now.toString(), loop);
  }

  boolean isDone() {
    return state == State.DONE;
  }

  boolean isFor(String uid) {
    return uid != null && uid.equals(vmiUid);
  }

  /** The start confirmed: Done, its backoff over. */
  PowerEventRecord completed(Instant now) {
    return new PowerEventRecord(
        vmiUid, reason, action, State.DONE, now.toString(), loop.withoutBackoff());
  }

  /** The claimed start dropped (superseded by someone else's start or stop): Done, no action. */
  PowerEventRecord superseded(Instant now) {
    return new PowerEventRecord(
        vmiUid, reason, NONE, State.DONE, now.toString(), loop.withoutBackoff());
  }

  /** The same record with another restart-loop state. */
  PowerEventRecord withLoop(RestartLoop newLoop, Instant now) {
    return new PowerEventRecord(vmiUid, reason, action, state, now.toString(), newLoop);
  }

  String toJson() {
    return new LastPowerEvent(vmiUid, reason, action, state.value, time, loop).toJson();
  }

  /** Parses the annotation; anything unreadable counts as no record (see {@link VmSnapshot.Vm}). */
  static Optional<PowerEventRecord> parse(String text) {
    return LastPowerEvent.parse(text).map(PowerEventRecord::of);
  }
}
