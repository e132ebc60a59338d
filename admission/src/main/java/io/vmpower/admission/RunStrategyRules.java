package io.vmpower.admission;

import com.fasterxml.jackson.databind.JsonNode;
import io.vmpower.api.Keys;
import io.vmpower.api.KubeVirtAccounts;
import io.vmpower.api.RunPolicy;
import io.vmpower.api.RunStrategy;
import io.vmpower.api.admission.AdmissionInput;
import java.util.Objects;
import java.util.Optional;

/**
 * What the VM webhook does with {@code spec.runStrategy} of a managed VM: enforce the policy's,
 * leave it (maintenance, a migration target), accept KubeVirt's own {@code Halted} and put the VM
 * into maintenance, or refuse the change. Pure; the cases and the KubeVirt source they rest on are
 * in the README ("KubeVirt's own runStrategy writes").
 */
final class RunStrategyRules {
  private RunStrategyRules() {}

  /** The decision. */
  sealed interface Decision {
    /** Set the policy's runStrategy (and drop {@code spec.running}). */
    record Enforce() implements Decision {}

    /** Leave runStrategy and running as submitted: the VM is in maintenance. */
    record Keep() implements Decision {}

    /**
     * A decentralized live migration target: keep {@code WaitAsReceiver}; the runStrategy KubeVirt
     * restores after the migration ({@link Keys#KUBEVIRT_RESTORE_RUN_STRATEGY}) is the policy's.
     */
    record Receive() implements Decision {}

    /** KubeVirt's own {@code Halted}: keep it and put the VM into maintenance, saying why. */
    record HaltedByKubeVirt(String reason) implements Decision {}

    /** A change of runStrategy against the policy: denied with this message. */
    record Refuse(String message) implements Decision {}
  }

  static final Decision ENFORCE = new Decision.Enforce();
  static final Decision KEEP = new Decision.Keep();
  static final Decision RECEIVE = new Decision.Receive();

  static final String MIGRATED_AWAY =
      "KubeVirt halted the VM: a decentralized live migration moved it away";
  static final String RESTORE_STOP =
      "KubeVirt stopped the VM for a VirtualMachineRestore with StopTarget";
  static final String RESTORED_STOPPED = "KubeVirt created the VM stopped, from a restore";

  /**
   * @param policyUnchanged an UPDATE that keeps the stored policy
   * @param maintenance the submitted VM is in maintenance
   * @param wasInMaintenance the stored VM was in maintenance
   */
  static Decision decide(
      AdmissionInput input,
      RunPolicy policy,
      boolean policyUnchanged,
      boolean maintenance,
      boolean wasInMaintenance,
      KubeVirtAccounts kubevirt,
      ClusterView cluster) {
    if (maintenance) {
      return KEEP;
    }
    String submitted = text(input.object().path("spec").get("runStrategy"));
    String stored =
        input.isUpdate() ? text(input.oldObject().path("spec").get("runStrategy")) : null;
    if (RunStrategy.WAIT_AS_RECEIVER.equals(submitted)
        && (input.isCreate() || RunStrategy.WAIT_AS_RECEIVER.equals(stored))) {
      return RECEIVE;
    }
    // restore.go, reconcileSpec: a restore into a new VM creates it Halted (the user starts it).
    if (input.isCreate()
        && RunStrategy.HALTED.equals(submitted)
        && !RunStrategy.HALTED.equals(policy.runStrategy())
        && input.user().is(kubevirt.controller())
        && input.object().path("metadata").path("annotations").has(Keys.KUBEVIRT_LAST_RESTORE)) {
      return new Decision.HaltedByKubeVirt(RESTORED_STOPPED);
    }
    // Leaving WaitAsReceiver is virt-controller's restore after the migration; leaving
    // maintenance restores the policy's runStrategy: neither is a user's power change.
    if (!policyUnchanged || wasInMaintenance || RunStrategy.WAIT_AS_RECEIVER.equals(stored)) {
      return ENFORCE;
    }
    Optional<String> requested = requestedChange(input, policy);
    if (requested.isEmpty()) {
      return ENFORCE;
    }
    if (RunStrategy.ALWAYS.equals(stored) && RunStrategy.HALTED.equals(submitted)) {
      // vm.go, syncRunStrategy: a completed decentralized migration's source VM (only
      // virt-controller writes Halted on its own).
      if (input.user().is(kubevirt.controller())) {
        return new Decision.HaltedByKubeVirt(MIGRATED_AWAY);
      }
      // lifecycle.go, StopVMRequestHandler patches Halted as virt-api for whoever called stop:
      // only a pending restore that stops its target tells KubeVirt's stop from a user's.
      if (input.user().is(kubevirt.apiServer())
          && cluster.restoreStopsVm(input.namespace(), input.name())) {
        return new Decision.HaltedByKubeVirt(RESTORE_STOP);
      }
    }
    return new Decision.Refuse(refusal(input, policy, requested.get()));
  }

  /**
   * The runStrategy or running value an UPDATE that keeps the policy asks for, when it moves away
   * from the policy's: {@code virtctl stop} on an AlwaysOn VM, {@code virtctl start} on an
   * AlwaysOff VM.
   */
  private static Optional<String> requestedChange(AdmissionInput input, RunPolicy policy) {
    JsonNode spec = input.object().path("spec");
    JsonNode oldSpec = input.oldObject().path("spec");
    JsonNode strategy = spec.get("runStrategy");
    JsonNode running = spec.get("running");
    boolean changed =
        !Objects.equals(strategy, oldSpec.get("runStrategy"))
            || !Objects.equals(running, oldSpec.get("running"));
    if (!changed) {
      return Optional.empty();
    }
    if (strategy != null && !strategy.isNull() && !policy.runStrategy().equals(strategy.asText())) {
      return Optional.of("spec.runStrategy: " + BadReviewException.shorten(strategy.asText(), 63));
    }
    if (running != null
        && !running.isNull()
        && !runningMatches(running, policy)
        && oldSpec.has("running")) {
      // vmpower never stores spec.running, so one that appears was re-sent by an apply of the
      // user's manifest (virtctl changes runStrategy on such VMs): removed, not refused.
      return Optional.of("spec.running: " + BadReviewException.shorten(running.asText(), 63));
    }
    return Optional.empty();
  }

  private static boolean runningMatches(JsonNode running, RunPolicy policy) {
    return running.isBoolean()
        && (running.booleanValue() ? RunStrategy.ALWAYS : RunStrategy.HALTED)
            .equals(policy.runStrategy());
  }

  private static String refusal(AdmissionInput input, RunPolicy policy, String requested) {
    return "VirtualMachine "
        + input.namespace()
        + "/"
        + input.name()
        + " has run policy "
        + policy.value()
        + ", which keeps spec.runStrategy: "
        + policy.runStrategy()
        + "; refusing "
        + requested
        + ". "
        + howToChange(policy);
  }

  private static String howToChange(RunPolicy policy) {
    String annotate = "kubectl annotate vm NAME --overwrite " + Keys.RUN_POLICY + "=";
    String maintenance =
        "; or suspend vmpower for it (maintenance): kubectl annotate vm NAME "
            + Keys.MAINTENANCE
            + "=true";
    return switch (policy) {
      case ALWAYS_ON ->
          "To stop it, change its policy first, e.g. " + annotate + "Manual" + maintenance;
      case ALWAYS_OFF ->
          "To start it, change its policy first, e.g. " + annotate + "AlwaysOn" + maintenance;
      case MANUAL, ALWAYS_ON_UNLESS_STOPPED_MANUALLY ->
          "Start and stop it with virtctl start/stop, or change its policy with "
              + annotate
              + "…"
              + maintenance;
    };
  }

  private static String text(JsonNode node) {
    return node != null && node.isTextual() ? node.textValue() : null;
  }
}
