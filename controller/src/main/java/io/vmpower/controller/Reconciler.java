package io.vmpower.controller;

import java.time.Duration;
import java.util.Optional;

/**
 * Reconciles one VM, level-triggered: gather what the API shows ({@link Gatherer}), decide the next
 * step ({@link PowerDecision}, pure), perform it ({@link Actuator}); again while a step adds facts
 * (a fresh read) or changes them (a claim), until one ends the reconcile.
 */
final class Reconciler {
  /** The longest chain: fresh pods, Claim, fresh VMI, Start. */
  private static final int MAX_STEPS = 8;

  private final Gatherer gatherer;
  private final PowerDecision decision;
  private final Actuator actuator;

  Reconciler(Gatherer gatherer, PowerDecision decision, Actuator actuator) {
    this.gatherer = gatherer;
    this.decision = decision;
    this.actuator = actuator;
  }

  /**
   * Reconciles the VM {@code namespace/name}. Returns a delay after which to look again even
   * without an event; throws to be retried with backoff.
   */
  Optional<Duration> reconcile(String key) {
    VmSnapshot snapshot = gatherer.gather(key);
    actuator.reportUninjected(snapshot, PowerDecision.uninjectedPods(snapshot));
    actuator.observe(snapshot);
    Step step = null;
    for (int i = 0; i < MAX_STEPS; i++) {
      step = decision.decide(snapshot);
      Actuator.After after = actuator.act(step, snapshot);
      if (after instanceof Actuator.After.Done done) {
        return done.again();
      }
      snapshot = ((Actuator.After.DecideAgain) after).snapshot();
    }
    throw new IllegalStateException(
        "no final step for VirtualMachine " + key + " after " + MAX_STEPS + ", last " + step);
  }
}
