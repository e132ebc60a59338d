package io.vmpower.controller;

import io.vmpower.api.RunPolicy;
import io.vmpower.api.power.RestartLoop;
import io.vmpower.api.termination.TerminationMessages;
import io.vmpower.controller.PowerPolicy.PodEnd;
import io.vmpower.controller.VmSnapshot.LauncherPod;
import io.vmpower.controller.VmSnapshot.Vm;
import io.vmpower.controller.VmSnapshot.Vmi;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Decides the next {@link Step} for one VM from a {@link VmSnapshot}. Pure: no I/O, the clock is
 * the snapshot's. A chain of rules, after cert-manager's certificate policies: each either decides
 * or lets the next one look, in this order —
 *
 * <ol>
 *   <li>{@link #notOurs}: the namespace is not enabled, the VM is gone or unmanaged;
 *   <li>{@link #standBack}: a start/stop/restart is under way (the user's or ours);
 *   <li>{@link #startPending}: the first start of an AlwaysOnUnlessStoppedManually VM;
 *   <li>{@link RestartRules#unreadableRecord}: the VM's record is not one vmpower writes;
 *   <li>{@link RestartRules#userStarted}: a user started a VM the controller had given up on;
 *   <li>{@link #noFinalVmi}: no VMI has ended (a claim whose VMI is gone is finished here, or
 *       dropped when its backoff still ran: superseded by someone else's start or stop);
 *   <li>{@link #vmiDeleting}: a stop or deletion of the VMI is under way;
 *   <li>{@link #recorded}: the VMI is in the record, done or claimed (a claimed restart waits for
 *       its backoff here);
 *   <li>{@link #kubeVirtActs}: AlwaysOn/AlwaysOff, KubeVirt's runStrategy acts;
 *   <li>{@link #podEnd}, then {@link PowerPolicy}: how the VMI ended, and what the policy says (or
 *       wait for the termination message, or read the pods fresh: {@link #waitOrRead}); a restart
 *       goes through {@link RestartLoops} (backoff, give-up).
 * </ol>
 */
final class PowerDecision {

  /** One rule: a step when it applies, empty to let the next rule decide. */
  @FunctionalInterface
  private interface Rule {
    Optional<Step> apply(VmSnapshot s);
  }

  private final List<Rule> chain =
      List.of(
          PowerDecision::notOurs,
          PowerDecision::standBack,
          PowerDecision::startPending,
          RestartRules::unreadableRecord,
          RestartRules::userStarted,
          this::noFinalVmi,
          PowerDecision::vmiDeleting,
          this::recorded,
          PowerDecision::kubeVirtActs);

  private final Duration podTerminationWait;
  private final RestartLoops.Limits limits;

  /** With the default restart-loop limits. */
  PowerDecision(Duration podTerminationWait) {
    this(podTerminationWait, RestartLoops.Limits.DEFAULTS);
  }

  /**
   * @param podTerminationWait how long to wait for the compute container's termination message once
   *     the VMI is final ({@link ControllerSettings#podTerminationWait()})
   * @param limits restart backoff and give-up ({@link ControllerSettings#restartLimits()})
   */
  PowerDecision(Duration podTerminationWait, RestartLoops.Limits limits) {
    this.podTerminationWait = podTerminationWait;
    this.limits = limits;
  }

  Step decide(VmSnapshot s) {
    for (Rule rule : chain) {
      Optional<Step> step = rule.apply(s);
      if (step.isPresent()) {
        return step.get();
      }
    }
    return podEnd(s).map(end -> byPolicy(s, end)).orElseGet(() -> waitOrRead(s));
  }

  /**
   * Running launcher pods of a managed VM that carry no domain monitor (the pod webhook failed open
   * or skipped them): reported, whatever else is decided.
   */
  static List<LauncherPod> uninjectedPods(VmSnapshot s) {
    if (notOurs(s).isPresent() || s.vmi() == null) {
      return List.of();
    }
    return s.pods().stream().filter(p -> p.running() && !p.injected() && !p.ephemeral()).toList();
  }

  private static Optional<Step> notOurs(VmSnapshot s) {
    if (!s.namespaceEnabled()) {
      return nothing("namespace not enabled");
    }
    if (s.vm() == null || s.vm().deleting()) {
      return nothing("VM gone or being deleted");
    }
    if (s.vm().policy().isEmpty()) {
      return nothing("no run policy"); // or an invalid one, which the VM webhook denies
    }
    return Optional.empty();
  }

  /**
   * A start/stop/restart is under way (the user's or ours): the VM's status update that clears the
   * requests brings the key back. {@code virtctl stop} ends in a guest-shutdown record too; this is
   * what keeps it from ever being a reason to start.
   */
  private static Optional<Step> standBack(VmSnapshot s) {
    return s.vm().stateChangeRequests()
        ? nothing("state change requests pending, standing back")
        : Optional.empty();
  }

  /**
   * Started (or running already) before the annotation is removed: a crash in between only repeats
   * a start that virt-api answers with "already running".
   */
  private static Optional<Step> startPending(VmSnapshot s) {
    Vm vm = s.vm();
    if (!vm.startPending()) {
      return Optional.empty();
    }
    RunPolicy policy = vm.policy().orElseThrow();
    if (policy != RunPolicy.ALWAYS_ON_UNLESS_STOPPED_MANUALLY) {
      // Switched away before the first start: nothing is owed any more.
      return Optional.of(new Step.DropStartPending("policy is " + policy.value()));
    }
    Vmi vmi = s.vmi();
    if (vmi == null) {
      return Optional.of(new Step.FirstStart(null));
    }
    if (vmi.deleting()) {
      return nothing("VMI being deleted");
    }
    return Optional.of(
        vmi.isFinal()
            ? new Step.FirstStart(vmi.uid())
            : new Step.DropStartPending("the VM runs already"));
  }

  /** No VMI has ended; a claimed start whose VMI has been replaced (or removed) has happened. */
  private Optional<Step> noFinalVmi(VmSnapshot s) {
    if (s.vmi() != null && s.vmi().isFinal()) {
      return Optional.empty();
    }
    Optional<PowerEventRecord> claim = s.vm().record().filter(r -> !r.isDone());
    return claim.isPresent() ? Optional.of(finishClaim(s, claim.get())) : nothing("no final VMI");
  }

  private static Optional<Step> vmiDeleting(VmSnapshot s) {
    return s.vmi().deleting()
        ? nothing("VMI being deleted") // virtctl stop/restart or a deletion is under way
        : Optional.empty();
  }

  /**
   * The final VMI is in the record: done (by us or a previous leader), or claimed and not confirmed
   * (a crash or a leader change in between). A claim is started only on a fresh read of the VMI:
   * after a crash between start and confirmation the cache may still show the old VMI for a moment,
   * and a second start would restart the new one.
   */
  private Optional<Step> recorded(VmSnapshot s) {
    Optional<PowerEventRecord> record = s.vm().record().filter(r -> r.isFor(s.vmi().uid()));
    if (record.isEmpty()) {
      return Optional.empty();
    }
    PowerEventRecord r = record.get();
    if (r.isDone()) {
      return nothing("handled already");
    }
    Optional<Instant> until = RestartLoops.waitUntil(r.loop(), s.now(), limits);
    if (until.isPresent()) {
      // The claim is in the cluster: a restart or a new leader waits for the rest of it.
      return Optional.of(
          new Step.WaitForBackoff(r.vmiUid(), until.get(), Duration.between(s.now(), until.get())));
    }
    if (s.freshVmi().isEmpty()) {
      return Optional.of(new Step.ReadFresh(Step.ReadFresh.Source.VMI));
    }
    Vmi current = s.freshVmi().get().vmi();
    if (current == null || !current.uid().equals(r.vmiUid())) {
      return Optional.of(finishClaim(s, r));
    }
    if (current.deleting()) {
      return nothing("VMI being deleted"); // a user's stop is under way; its end brings us back
    }
    // The Event of a start claimed in this very reconcile says what was decided; after a restart
    // only the recorded reason is at hand.
    Outcome outcome =
        s.claimed()
            .filter(c -> c.vmiUid().equals(r.vmiUid()))
            .map(Step.Claim::outcome)
            .orElseGet(() -> PowerPolicy.recordedStart(policy(s), r.reason()));
    return Optional.of(new Step.Start(r, outcome));
  }

  private static Optional<Step> kubeVirtActs(VmSnapshot s) {
    return PowerPolicy.controllerActs(policy(s))
        ? Optional.empty()
        : nothing("KubeVirt's runStrategy acts"); // AlwaysOn/AlwaysOff
  }

  /**
   * How the pod that ran the VMI last ended; empty while its compute container may still write the
   * termination message (or the cache may have missed it: {@link #waitOrRead}).
   */
  private Optional<PodEnd> podEnd(VmSnapshot s) {
    Optional<LauncherPod> pod = s.lastPod();
    if (pod.isEmpty()) {
      // "Lost" decides a start for AlwaysOnUnlessStoppedManually: only on a fresh list.
      return s.podsFresh() ? Optional.of(new PodEnd.Lost()) : Optional.empty();
    }
    LauncherPod p = pod.get();
    if (p.ended()) {
      return Optional.of(
          new PodEnd.Terminated(TerminationMessages.parse(p.terminationMessage().orElse(null))));
    }
    // Before deciding without a message, make sure the cache (a dropped watch?) did not miss it.
    return waited(s).isEmpty() && s.podsFresh()
        ? Optional.of(new PodEnd.Unterminated(p.name()))
        : Optional.empty();
  }

  /** What is left to do when {@link #podEnd} cannot tell yet: wait, or list the pods fresh. */
  private Step waitOrRead(VmSnapshot s) {
    Optional<Duration> left = s.lastPod().isEmpty() ? Optional.empty() : waited(s);
    if (left.isPresent()) {
      return new Step.Wait(s.vmi().uid(), s.waitingSince().orElse(s.now()), left.get());
    }
    return new Step.ReadFresh(Step.ReadFresh.Source.PODS);
  }

  /** The rest of the wait for the termination message; empty once it is over. */
  private Optional<Duration> waited(VmSnapshot s) {
    Duration left =
        podTerminationWait.minus(Duration.between(s.waitingSince().orElse(s.now()), s.now()));
    return left.isNegative() || left.isZero() ? Optional.empty() : Optional.of(left);
  }

  /** The policy's answer; a restart paced, or refused, by restart-loop protection. */
  private Step byPolicy(VmSnapshot s, PodEnd end) {
    Outcome outcome = PowerPolicy.decide(policy(s), s.vmi().phase(), end);
    String uid = s.vmi().uid();
    RestartLoop carried = RestartLoops.carried(s.vm().record());
    if (!outcome.start()) {
      return new Step.Stay(uid, outcome, end, carried);
    }
    RestartLoops.Verdict verdict =
        RestartLoops.restart(carried, outcome.reason(), s.vmi().ranFor(s.now()), s.now(), limits);
    if (verdict instanceof RestartLoops.Verdict.GiveUp giveUp) {
      return new Step.Stay(uid, RestartRules.gaveUp(outcome, giveUp, limits), end, giveUp.loop());
    }
    return new Step.Claim(uid, outcome, end, ((RestartLoops.Verdict.Restart) verdict).loop());
  }

  /**
   * A claimed start whose VMI is gone or replaced: it happened — unless its backoff still runs, so
   * that it was never sent, and someone else's start or stop came first.
   */
  private Step finishClaim(VmSnapshot s, PowerEventRecord claim) {
    Outcome recorded = PowerPolicy.recordedStart(policy(s), claim.reason());
    if (RestartLoops.waitUntil(claim.loop(), s.now(), limits).isPresent()) {
      return new Step.DropClaim(
          claim,
          Outcome.stay(
              claim.reason(),
              Outcome.EventReason.RestartSuperseded,
              "The VM was started or stopped by someone else while vmpower waited to restart it"
                  + " ("
                  + claim.reason()
                  + "); vmpower did not start it (run policy "
                  + policy(s).value()
                  + ")."));
    }
    return new Step.FinishClaim(claim, recorded);
  }

  private static RunPolicy policy(VmSnapshot s) {
    return s.vm().policy().orElseThrow();
  }

  private static Optional<Step> nothing(String why) {
    return Optional.of(new Step.Nothing(why));
  }
}
