package io.vmpower.controller;

import io.vmpower.controller.Outcome.EventReason;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Actuator}'s part for restart-loop protection ({@link RestartLoops}, {@link
 * RestartRules}): waiting for a backoff, dropping a superseded claim, clearing a give-up, repairing
 * an unreadable record. Writes go through the actuator's conditional record writes.
 */
final class RestartActions {
  private static final Logger log = LoggerFactory.getLogger(RestartActions.class);

  private final Actuator actuator;
  private final Events events;
  private final ControllerMetrics metrics;

  RestartActions(Actuator actuator, Events events, ControllerMetrics metrics) {
    this.actuator = actuator;
    this.events = events;
    this.metrics = metrics;
  }

  static boolean handles(Step step) {
    return step instanceof Step.WaitForBackoff
        || step instanceof Step.DropClaim
        || step instanceof Step.ClearGiveUp
        || step instanceof Step.RepairRecord;
  }

  Actuator.After act(Step step, VmSnapshot s) {
    if (step instanceof Step.WaitForBackoff wait) {
      log.debug(
          "VirtualMachine {}: restart for VMI {} waits for its backoff until {}",
          s.key(),
          wait.vmiUid(),
          wait.until());
      return new Actuator.After.Done(Optional.of(wait.left()));
    }
    actuator.requireLeader();
    if (step instanceof Step.DropClaim drop) {
      PowerEventRecord claim = drop.claim();
      events.require(
          s.vm(), claim.vmiUid(), drop.outcome().eventReason(), drop.outcome().message());
      actuator.replaceRecord(s.vm(), claim, claim.superseded(actuator.now()));
      metrics.action(Actuator.policy(s), claim.reason(), "none");
      log.info(
          "VirtualMachine {}: restart for VMI {} superseded during its backoff; not started",
          s.key(),
          claim.vmiUid());
    } else if (step instanceof Step.ClearGiveUp clear) {
      PowerEventRecord r = clear.record();
      events.require(
          s.vm(),
          clear.newVmiUid(),
          EventReason.RestartLoopCleared,
          "The VM was started again after vmpower had given up restarting it; vmpower restarts it"
              + " again as its run policy "
              + Actuator.policy(s).value()
              + " says.");
      actuator.writeGuarded(s.vm(), r.withLoop(r.loop().healthy(), actuator.now()));
      log.info("VirtualMachine {}: started by a user after a give-up; cleared", s.key());
    } else if (step instanceof Step.RepairRecord repair) {
      events.require(
          s.vm(),
          "unreadable-record/" + s.vm().resourceVersion(),
          EventReason.UnreadablePowerRecord,
          "The annotation vmpower.io/last-power-event is not a record vmpower writes ("
              + repair.problem()
              + "); rewritten empty, the restart count starts over.");
      actuator.writeGuarded(
          s.vm(),
          PowerEventRecord.done(
              "",
              PowerEventReason.UNREADABLE_RECORD.code(),
              PowerEventRecord.NONE,
              actuator.now()));
      log.warn(
          "VirtualMachine {}: unreadable {} ({}); rewritten",
          s.key(),
          io.vmpower.api.Keys.LAST_POWER_EVENT,
          repair.problem());
    } else {
      throw new IllegalStateException("not a restart-loop step: " + step);
    }
    return new Actuator.After.Done(Optional.empty());
  }

  /** The Event of a claimed restart that waits for its backoff (best effort: the claim stands). */
  void backingOff(VmSnapshot s, Step.Claim claim) {
    events.emit(
        s.vm(),
        claim.vmiUid() + "/backoff",
        EventReason.RestartBackOff,
        RestartRules.backoffMessage(claim.outcome(), claim.loop(), actuator.now()));
    log.info(
        "VirtualMachine {}: restart for VMI {} ({}) waits until {}",
        s.key(),
        claim.vmiUid(),
        claim.outcome().reason(),
        claim.loop().backoffUntil().orElseThrow());
  }
}
