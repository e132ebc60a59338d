package io.vmpower.controller;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.vmpower.api.Keys;
import io.vmpower.api.RunPolicy;
import io.vmpower.api.power.LastPowerEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * What the API shows about one VM, as far as {@link PowerDecision} needs it: the VM, the VMI it
 * owns, the pods that ran that VMI, this controller's own memory of the VMI, and the clock. Plain
 * data, built by {@link Gatherer} from the informer caches and from the fresh reads the decision
 * asks for ({@link Step.ReadFresh}).
 *
 * @param key {@code namespace/name} of the VM
 * @param namespaceEnabled whether the namespace carries {@code vmpower.io/enabled=true}
 * @param vm null when the VM is not in the cache (deleted)
 * @param vmi the VMI of the VM's name, null when there is none or it belongs to another VM
 * @param pods the virt-launcher pods owned by {@code vmi}
 * @param podsFresh whether {@code pods} were listed from the API server rather than the cache
 * @param freshVmi the VMI as a GET from the API server returned it, once read
 * @param claimed the start this reconcile has just claimed, with the decision that claimed it
 * @param waitingSince when this controller first saw {@code vmi} final with its compute container
 *     still running ({@link TerminationWaits})
 * @param now the clock when the snapshot was taken
 */
record VmSnapshot(
    String key,
    boolean namespaceEnabled,
    Vm vm,
    Vmi vmi,
    List<LauncherPod> pods,
    boolean podsFresh,
    Optional<FreshVmi> freshVmi,
    Optional<Step.Claim> claimed,
    Optional<Instant> waitingSince,
    Instant now) {

  VmSnapshot {
    pods = List.copyOf(pods);
  }

  /** The VM: its policy, what is pending on it, and the record of the last power event. */
  record Vm(
      String namespace,
      String name,
      String uid,
      String resourceVersion,
      boolean deleting,
      Optional<RunPolicy> policy,
      boolean stateChangeRequests,
      boolean startPending,
      Optional<PowerEventRecord> record,
      Optional<String> recordProblem) {

    /** A VM whose record (if any) is readable. */
    Vm(
        String namespace,
        String name,
        String uid,
        String resourceVersion,
        boolean deleting,
        Optional<RunPolicy> policy,
        boolean stateChangeRequests,
        boolean startPending,
        Optional<PowerEventRecord> record) {
      this(
          namespace,
          name,
          uid,
          resourceVersion,
          deleting,
          policy,
          stateChangeRequests,
          startPending,
          record,
          Optional.empty());
    }

    static Vm of(GenericKubernetesResource vm) {
      LastPowerEvent.Reading reading =
          LastPowerEvent.read(KubeVirt.annotation(vm, Keys.LAST_POWER_EVENT));
      return new Vm(
          vm.getMetadata().getNamespace(),
          vm.getMetadata().getName(),
          vm.getMetadata().getUid(),
          vm.getMetadata().getResourceVersion(),
          KubeVirt.deleting(vm),
          // an invalid value (which the VM webhook denies) counts as unmanaged
          RunPolicy.parse(KubeVirt.annotation(vm, Keys.RUN_POLICY)).map(RunPolicy.Parsed::policy),
          KubeVirt.hasStateChangeRequests(vm),
          KubeVirt.annotation(vm, Keys.START_PENDING) != null,
          reading instanceof LastPowerEvent.Reading.Read r
              ? Optional.of(PowerEventRecord.of(r.record()))
              : Optional.empty(),
          reading instanceof LastPowerEvent.Reading.Unreadable u
              ? Optional.of(u.why())
              : Optional.empty());
    }
  }

  /**
   * The VMI: which one it is, whether it has ended, where it ran last and for how long.
   *
   * @param nodeName {@code status.nodeName}, the node the VMI runs (or ran) on last; empty if unset
   * @param migration {@code status.migrationState}, the VMI's last live migration
   * @param created {@code metadata.creationTimestamp}
   * @param runningSince when it went Running ({@code status.phaseTransitionTimestamps})
   * @param endedAt when it went Succeeded or Failed (same)
   */
  record Vmi(
      String uid,
      String phase,
      boolean deleting,
      String nodeName,
      Optional<Migration> migration,
      Optional<Instant> created,
      Optional<Instant> runningSince,
      Optional<Instant> endedAt) {

    /** A VMI about which only its identity and phase are known. */
    Vmi(String uid, String phase, boolean deleting) {
      this(
          uid,
          phase,
          deleting,
          "",
          Optional.empty(),
          Optional.empty(),
          Optional.empty(),
          Optional.empty());
    }

    static Vmi of(GenericKubernetesResource vmi) {
      return new Vmi(
          vmi.getMetadata().getUid(),
          KubeVirt.phase(vmi),
          KubeVirt.deleting(vmi),
          KubeVirt.nodeName(vmi),
          Migration.of(vmi),
          KubeVirt.instant(vmi.getMetadata().getCreationTimestamp()),
          KubeVirt.phaseTransition(vmi, "Running"),
          KubeVirt.phaseTransition(vmi, "Succeeded")
              .or(() -> KubeVirt.phaseTransition(vmi, "Failed")));
    }

    /**
     * How long the VMI ran, from cluster facts: from going Running (else from its creation) to
     * going final (else to {@code now}); empty when neither start is known. Never negative: a start
     * later than its end (clock skew, a hand-edited status) counts as no time at all.
     */
    Optional<Duration> ranFor(Instant now) {
      Optional<Instant> start = runningSince.or(() -> created);
      if (start.isEmpty()) {
        return Optional.empty();
      }
      Duration d = Duration.between(start.get(), endedAt.orElse(now));
      return Optional.of(d.isNegative() ? Duration.ZERO : d);
    }

    /** Succeeded or Failed: the VMI has ended and will not run again. */
    boolean isFinal() {
      return PowerPolicy.isFinal(phase);
    }
  }

  /**
   * The VMI's last live migration ({@code status.migrationState}, KubeVirt v1.8 {@code
   * VirtualMachineInstanceMigrationState}): its pods and nodes and how it ended.
   *
   * @param migrationUid the VirtualMachineInstanceMigration's uid; the target pod carries it as
   *     label {@code kubevirt.io/migrationJobUID}
   */
  record Migration(
      String sourcePod,
      String targetPod,
      String sourceNode,
      String targetNode,
      String migrationUid,
      boolean completed,
      boolean failed) {

    static Optional<Migration> of(GenericKubernetesResource vmi) {
      Object state = vmi.get("status", "migrationState");
      if (!(state instanceof java.util.Map<?, ?> m)) {
        return Optional.empty();
      }
      return Optional.of(
          new Migration(
              text(m.get("sourcePod")),
              text(m.get("targetPod")),
              text(m.get("sourceNode")),
              text(m.get("targetNode")),
              text(m.get("migrationUid")),
              Boolean.TRUE.equals(m.get("completed")),
              Boolean.TRUE.equals(m.get("failed"))));
    }

    /** The guest moved to the target: completed without failing. */
    boolean movedToTarget() {
      return completed && !failed;
    }

    private static String text(Object o) {
      return o instanceof String str ? str : "";
    }
  }

  /** The VMI as read fresh from the API server: {@code vmi} null when there is none. */
  record FreshVmi(Vmi vmi) {}

  /**
   * A virt-launcher pod of the VMI.
   *
   * @param terminationMessage the compute container's termination message, present (possibly empty)
   *     once the container has terminated
   */
  record LauncherPod(
      String name,
      String uid,
      Instant created,
      long resourceVersion,
      String phase,
      boolean injected,
      boolean ephemeral,
      Optional<String> terminationMessage,
      String node,
      String migrationJob) {

    /** A pod whose node and migration are not known (not bound, not a migration target). */
    LauncherPod(
        String name,
        String uid,
        Instant created,
        long resourceVersion,
        String phase,
        boolean injected,
        boolean ephemeral,
        Optional<String> terminationMessage) {
      this(
          name,
          uid,
          created,
          resourceVersion,
          phase,
          injected,
          ephemeral,
          terminationMessage,
          "",
          "");
    }

    static LauncherPod of(Pod pod) {
      return new LauncherPod(
          pod.getMetadata().getName(),
          pod.getMetadata().getUid(),
          creationTime(pod),
          resourceVersionOf(pod),
          KubeVirt.podPhase(pod),
          KubeVirt.annotation(pod, Keys.INJECTION_STATUS) != null,
          KubeVirt.annotation(pod, Keys.KUBEVIRT_EPHEMERAL_PROVISIONING) != null,
          KubeVirt.terminatedMessage(pod),
          pod.getSpec() == null || pod.getSpec().getNodeName() == null
              ? ""
              : pod.getSpec().getNodeName(),
          Optional.ofNullable(pod.getMetadata().getLabels())
              .map(l -> l.get(Keys.KUBEVIRT_MIGRATION_JOB))
              .orElse(""));
    }

    boolean running() {
      return "Running".equals(phase);
    }

    /** The compute container has terminated, or the whole pod has. */
    boolean ended() {
      return terminationMessage.isPresent() || "Succeeded".equals(phase) || "Failed".equals(phase);
    }

    private static Instant creationTime(Pod p) {
      try {
        return Instant.parse(p.getMetadata().getCreationTimestamp());
      } catch (RuntimeException e) {
        return Instant.EPOCH;
      }
    }

    private static long resourceVersionOf(Pod p) {
      try {
        return Long.parseLong(p.getMetadata().getResourceVersion());
      } catch (RuntimeException e) {
        return 0;
      }
    }
  }

  /**
   * The pod that ran the VMI last (DESIGN.md section 9, "Migration"): a live migration leaves more
   * than one pod, and a failed one leaves a finished target pod newer than the source that still
   * runs the guest. In this order —
   *
   * <ol>
   *   <li>after the VMI's last migration, the pod it names: the target if the guest moved there
   *       (completed, not failed), else the source;
   *   <li>the newest pod on {@code status.nodeName}, the node the VMI ran on last;
   *   <li>the newest pod (no placement known, e.g. pods not bound yet)
   * </ol>
   *
   * — in 2 and 3 never the target pod of a migration that did not move the guest. Ties (creation
   * times have second precision) are broken by the later resourceVersion, a weak but harmless hint.
   */
  Optional<LauncherPod> lastPod() {
    if (pods.isEmpty()) {
      return Optional.empty();
    }
    Optional<Migration> migration = vmi == null ? Optional.empty() : vmi.migration();
    if (migration.isPresent()) {
      Migration m = migration.get();
      String named = m.movedToTarget() ? m.targetPod() : m.sourcePod();
      Optional<LauncherPod> pod = pods.stream().filter(p -> p.name().equals(named)).findFirst();
      if (!named.isEmpty() && pod.isPresent()) {
        return pod;
      }
    }
    List<LauncherPod> candidates =
        pods.stream().filter(p -> !abandonedTarget(p, migration)).toList();
    String node = vmi == null ? "" : vmi.nodeName();
    Optional<LauncherPod> onNode =
        newest(candidates.stream().filter(p -> !node.isEmpty() && node.equals(p.node())).toList());
    return onNode.isPresent() ? onNode : newest(candidates);
  }

  /** The target pod of a migration that did not move the guest there. */
  private static boolean abandonedTarget(LauncherPod p, Optional<Migration> migration) {
    if (migration.isEmpty() || migration.get().movedToTarget()) {
      return false;
    }
    Migration m = migration.get();
    return (!m.targetPod().isEmpty() && m.targetPod().equals(p.name()))
        || (!m.migrationUid().isEmpty() && m.migrationUid().equals(p.migrationJob()));
  }

  private static Optional<LauncherPod> newest(List<LauncherPod> pods) {
    return pods.stream()
        .max(
            Comparator.comparing(LauncherPod::created)
                .thenComparingLong(LauncherPod::resourceVersion));
  }

  VmSnapshot withVm(Vm newVm) {
    return new VmSnapshot(
        key, namespaceEnabled, newVm, vmi, pods, podsFresh, freshVmi, claimed, waitingSince, now);
  }

  VmSnapshot withFreshPods(List<LauncherPod> fresh) {
    return new VmSnapshot(
        key, namespaceEnabled, vm, vmi, fresh, true, freshVmi, claimed, waitingSince, now);
  }

  VmSnapshot withFreshVmi(Vmi fresh) {
    return new VmSnapshot(
        key,
        namespaceEnabled,
        vm,
        vmi,
        pods,
        podsFresh,
        Optional.of(new FreshVmi(fresh)),
        claimed,
        waitingSince,
        now);
  }

  VmSnapshot withClaim(Vm newVm, Step.Claim claim) {
    return new VmSnapshot(
        key,
        namespaceEnabled,
        newVm,
        vmi,
        pods,
        podsFresh,
        freshVmi,
        Optional.of(claim),
        waitingSince,
        now);
  }
}
