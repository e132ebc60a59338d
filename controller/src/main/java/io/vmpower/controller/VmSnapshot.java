package io.vmpower.controller;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.vmpower.api.Keys;
import io.vmpower.api.RunPolicy;
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
      Optional<PowerEventRecord> record) {

    static Vm of(GenericKubernetesResource vm) {
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
          PowerEventRecord.parse(KubeVirt.annotation(vm, Keys.LAST_POWER_EVENT)));
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
