package io.vmpower.controller;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.vmpower.admission.InLine;
import io.vmpower.api.Keys;
import io.vmpower.api.RunPolicy;
import io.vmpower.api.status.Maintenance;
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

  /**
   * The VM: its policy, what is pending on it, the record of the last power event, and its upkeep
   * (maintenance, whether it is as the VM webhook would store it).
   */
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
      Upkeep upkeep) {

    /** The VM without the check against the webhook's rules (taken as in line). */
    static Vm of(GenericKubernetesResource vm) {
      return of(vm, new InLine.Consistent());
    }

    /** The VM, with what the webhook's rules make of it as stored ({@link InLine}). */
    static Vm of(GenericKubernetesResource vm, InLine.Result alignment) {
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
          PowerEventRecord.parse(KubeVirt.annotation(vm, Keys.LAST_POWER_EVENT)),
          Upkeep.of(vm, alignment));
    }

    boolean inMaintenance() {
      return upkeep.maintenance();
    }
  }

  /**
   * Issue 15's part of the VM: maintenance as the user (or the webhook) set it and as the
   * controller last saw it, and the verdict of the webhook's rules on the VM as stored.
   *
   * @param maintenanceReason {@code vmpower.io/maintenance-reason}, empty when absent
   * @param maintenanceSince {@code vmpower.io/maintenance-since}: the controller has seen the VM in
   *     maintenance since then
   */
  record Upkeep(
      boolean maintenance,
      String maintenanceReason,
      Optional<String> maintenanceSince,
      InLine.Result alignment) {

    static final Upkeep NONE = new Upkeep(false, "", Optional.empty(), new InLine.Consistent());

    static Upkeep of(GenericKubernetesResource vm, InLine.Result alignment) {
      String reason = KubeVirt.annotation(vm, Keys.MAINTENANCE_REASON);
      return new Upkeep(
          Maintenance.isOn(KubeVirt.annotation(vm, Keys.MAINTENANCE)),
          reason == null ? "" : reason,
          Optional.ofNullable(KubeVirt.annotation(vm, Keys.MAINTENANCE_SINCE)),
          alignment);
    }
  }

  /** The VMI: which one it is and whether it has ended. */
  record Vmi(String uid, String phase, boolean deleting) {
    static Vmi of(GenericKubernetesResource vmi) {
      return new Vmi(vmi.getMetadata().getUid(), KubeVirt.phase(vmi), KubeVirt.deleting(vmi));
    }

    /** Succeeded or Failed: the VMI has ended and will not run again. */
    boolean isFinal() {
      return PowerPolicy.isFinal(phase);
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
      Optional<String> terminationMessage) {

    static LauncherPod of(Pod pod) {
      return new LauncherPod(
          pod.getMetadata().getName(),
          pod.getMetadata().getUid(),
          creationTime(pod),
          resourceVersionOf(pod),
          KubeVirt.podPhase(pod),
          KubeVirt.annotation(pod, Keys.INJECTION_STATUS) != null,
          KubeVirt.annotation(pod, Keys.KUBEVIRT_EPHEMERAL_PROVISIONING) != null,
          KubeVirt.terminatedMessage(pod));
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
   * The pod that ran the VMI last is its newest pod; an older one is a live-migration source. Ties
   * (second precision) are broken by the later resourceVersion, a weak but harmless hint.
   */
  Optional<LauncherPod> newestPod() {
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
