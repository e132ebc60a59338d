package io.vmpower.controller;

import io.vmpower.api.power.RestartLoop;
import io.vmpower.controller.PowerPolicy.PodEnd;
import java.time.Duration;
import java.time.Instant;

/**
 * The one thing to do next for a VM, as {@link PowerDecision} decides it and {@link Actuator}
 * performs it. A start goes Claim → ReadFresh(VMI) → Start (or FinishClaim when the VMI was
 * replaced meanwhile); README "Exactly once" explains why, {@code ExactlyOnceTest} shows it.
 */
sealed interface Step {

  /** Nothing to do now; a change of the VM, its VMI or its pods brings the key back. */
  record Nothing(String why) implements Step {}

  /**
   * Look again after {@code left}: the VMI is final, but its compute container has not terminated
   * yet (the VMI goes final as soon as virt-handler sees the domain gone, a moment before the
   * container writes its termination message).
   *
   * @param since when the wait began, remembered by {@link TerminationWaits}
   */
  record Wait(String vmiUid, Instant since, Duration left) implements Step {}

  /** Read from the API server, not the cache, before acting on what the cache shows. */
  record ReadFresh(Source what) implements Step {
    enum Source {
      /** The VMI, before starting for a claim: the cache may still show a replaced VMI. */
      VMI,
      /** The VMI's pods, before deciding without a pod or without its termination message. */
      PODS
    }
  }

  /**
   * The VM stays stopped: Event, then the record {@code Done}/{@code None} (guarded by the VM's
   * resourceVersion), so that the decision is neither repeated nor its Event written twice.
   *
   * @param end what the decision was based on (null: not a pod's end)
   * @param loop the restart-loop state the record carries on (given up, for a give-up)
   */
  record Stay(String vmiUid, Outcome outcome, PodEnd end, RestartLoop loop) implements Step {}

  /**
   * Claim the start: the record {@code Starting}, guarded by the VM's resourceVersion, so that only
   * one actor starts for this VMI.
   *
   * @param loop the restart-loop state with this restart counted, and its backoff if it waits
   */
  record Claim(String vmiUid, Outcome outcome, PodEnd end, RestartLoop loop) implements Step {}

  /** Start the claimed VM through virt-api, then Event and confirm ({@code Starting → Done}). */
  record Start(PowerEventRecord claim, Outcome outcome) implements Step {}

  /** The claimed start has happened (its VMI is replaced or gone): Event and confirm only. */
  record FinishClaim(PowerEventRecord claim, Outcome outcome) implements Step {}

  /**
   * The first start of an AlwaysOnUnlessStoppedManually VM ({@code vmpower.io/start-pending}), then
   * the annotation removed.
   *
   * @param endedVmiUid the VMI that had ended before the first start (recorded as done), or null
   */
  record FirstStart(String endedVmiUid) implements Step {}

  /** Remove {@code vmpower.io/start-pending} without starting. */
  record DropStartPending(String why) implements Step {}

  // ---- restart-loop protection (RestartRules, RestartActions) ----------------------------------

  /** The claimed restart waits for its backoff: look again after {@code left}. */
  record WaitForBackoff(String vmiUid, Instant until, Duration left) implements Step {}

  /**
   * A start or stop by someone else came before the claimed restart, which had not been sent (its
   * backoff was still running): Event, and the claim completed without an action.
   */
  record DropClaim(PowerEventRecord claim, Outcome outcome) implements Step {}

  /** A user started a VM the controller had given up on: the give-up cleared, with an Event. */
  record ClearGiveUp(PowerEventRecord record, String newVmiUid) implements Step {}

  /**
   * The VM's record is unreadable and no ended VMI waits for a decision: rewrite it as an empty
   * record, with an Event saying what was wrong.
   */
  record RepairRecord(String problem) implements Step {}
}
