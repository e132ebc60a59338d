package io.vmpower.controller;

import io.vmpower.api.power.RestartLoop;
import io.vmpower.controller.Outcome.EventReason;
import io.vmpower.controller.VmSnapshot.Vmi;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The rules of {@link PowerDecision}'s chain that belong to restart-loop protection ({@link
 * RestartLoops}) and to the record it lives in. Pure.
 */
final class RestartRules {
  private RestartRules() {}

  /**
   * The VM's {@code vmpower.io/last-power-event} is not one the controller writes (edited by hand,
   * or by a tool): whether an ended VMI was handled, how often the VM restarted and whether the
   * controller gave up cannot be told. An ended VMI stays stopped (the safe answer, with an Event);
   * otherwise the record is rewritten empty. Either way the restart count starts over, and at most
   * one decision is taken without it: never a restart loop.
   */
  static Optional<Step> unreadableRecord(VmSnapshot s) {
    Optional<String> problem = s.vm().recordProblem();
    if (problem.isEmpty() || !PowerPolicy.controllerActs(s.vm().policy().orElseThrow())) {
      return Optional.empty();
    }
    Vmi vmi = s.vmi();
    if (vmi != null && vmi.isFinal() && !vmi.deleting()) {
      return Optional.of(
          new Step.Stay(
              vmi.uid(),
              Outcome.stay(
                  PowerEventReason.UNREADABLE_RECORD.code(),
                  EventReason.UnreadablePowerRecord,
                  "The annotation vmpower.io/last-power-event is not a record vmpower writes ("
                      + problem.get()
                      + "): whether this ended VMI was handled already cannot be told, so the VM"
                      + " stays stopped. Start it with virtctl start. The record is rewritten"
                      + " and the restart count starts over."),
              null,
              RestartLoop.NONE));
    }
    return Optional.of(new Step.RepairRecord(problem.get()));
  }

  /**
   * The controller gave up on the VM, and a VMI other than the one it gave up on exists: a user
   * started it (the controller never starts a VM it gave up on). The give-up is cleared.
   */
  static Optional<Step> userStarted(VmSnapshot s) {
    Optional<PowerEventRecord> record = s.vm().record();
    if (record.isEmpty()
        || !record.get().isDone()
        || !record.get().loop().hasGivenUp()
        || s.vmi() == null
        || record.get().isFor(s.vmi().uid())) {
      return Optional.empty();
    }
    return Optional.of(new Step.ClearGiveUp(record.get(), s.vmi().uid()));
  }

  /** The Event for giving up instead of the restart {@code restart} the policy asked for. */
  static Outcome gaveUp(
      Outcome restart, RestartLoops.Verdict.GiveUp verdict, RestartLoops.Limits limits) {
    return Outcome.stay(
        restart.reason(),
        EventReason.GaveUpRestarting,
        "vmpower restarted the VM "
            + verdict.restarts()
            + " times within "
            + human(limits.window())
            + " without it running "
            + human(limits.resetAfter())
            + " in between, and it stopped again ("
            + restart.reason()
            + "): vmpower gives up and the VM stays stopped. Start it with virtctl start, which"
            + " clears this. Restarts by reason: "
            + byReason(verdict.loop().restarts())
            + ".");
  }

  /** The Event for a restart that waits for its backoff. */
  static String backoffMessage(Outcome restart, RestartLoop loop, java.time.Instant now) {
    Duration wait = Duration.between(now, loop.backoffUntil().orElse(now));
    return "The VM stopped again ("
        + restart.reason()
        + ") after a short run: restart "
        + loop.streak()
        + " in a row, vmpower waits "
        + human(wait)
        + " (until "
        + loop.backoffUntil().map(Object::toString).orElse("now")
        + ") before starting it.";
  }

  static String byReason(Map<String, Long> counts) {
    return counts.isEmpty()
        ? "none"
        : counts.entrySet().stream()
            .map(e -> e.getKey() + " " + e.getValue())
            .collect(Collectors.joining(", "));
  }

  /** 90s, 10m, 1h30m: as a person would write it. */
  static String human(Duration d) {
    long s = Math.max(0, d.toSeconds());
    if (s == 0 && !d.isZero()) {
      return d.toMillis() + "ms";
    }
    StringBuilder b = new StringBuilder();
    if (s >= 3600) {
      b.append(s / 3600).append('h');
      s %= 3600;
    }
    if (s >= 60) {
      b.append(s / 60).append('m');
      s %= 60;
    }
    if (s > 0 || b.length() == 0) {
      b.append(s).append('s');
    }
    return b.toString();
  }
}
