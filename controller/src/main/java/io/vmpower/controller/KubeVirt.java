package io.vmpower.controller;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.vmpower.api.Keys;
import java.time.Instant;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** KubeVirt's resources as fabric8 generic resources, and the few fields the controller reads. */
final class KubeVirt {
  private KubeVirt() {}

  static final String GROUP = "kubevirt.io";
  static final String VERSION = "v1";
  static final String API_VERSION = GROUP + "/" + VERSION;
  static final String VM_KIND = "VirtualMachine";
  static final String VMI_KIND = "VirtualMachineInstance";

  static final ResourceDefinitionContext VM =
      new ResourceDefinitionContext.Builder()
          .withGroup(GROUP)
          .withVersion(VERSION)
          .withKind(VM_KIND)
          .withPlural("virtualmachines")
          .withNamespaced(true)
          .build();

  static final ResourceDefinitionContext VMI =
      new ResourceDefinitionContext.Builder()
          .withGroup(GROUP)
          .withVersion(VERSION)
          .withKind(VMI_KIND)
          .withPlural("virtualmachineinstances")
          .withNamespaced(true)
          .build();

  /** The start subresource; with runStrategy Manual and a final VMI virt-api replaces the VMI. */
  static String startPath(String namespace, String name) {
    return "apis/subresources.kubevirt.io/v1/namespaces/"
        + namespace
        + "/virtualmachines/"
        + name
        + "/start";
  }

  static String annotation(HasMetadata o, String key) {
    Map<String, String> a = o.getMetadata().getAnnotations();
    return a == null ? null : a.get(key);
  }

  static String label(HasMetadata o, String key) {
    Map<String, String> l = o.getMetadata().getLabels();
    return l == null ? null : l.get(key);
  }

  static boolean deleting(HasMetadata o) {
    String ts = o.getMetadata().getDeletionTimestamp();
    return ts != null && !ts.isEmpty();
  }

  static String phase(GenericKubernetesResource vmi) {
    Object phase = vmi.get("status", "phase");
    return phase instanceof String s ? s : "";
  }

  /** The VM's pending start/stop requests: a user's (or our) action under way. */
  static boolean hasStateChangeRequests(GenericKubernetesResource vm) {
    Object requests = vm.get("status", "stateChangeRequests");
    return requests instanceof Collection<?> c && !c.isEmpty();
  }

  static String runStrategy(GenericKubernetesResource vm) {
    Object s = vm.get("spec", "runStrategy");
    return s instanceof String str ? str : null;
  }

  /** The VMI's owning VM uid, when KubeVirt created it for a VM. */
  static Optional<String> ownerUid(HasMetadata o, String kind) {
    List<OwnerReference> refs = o.getMetadata().getOwnerReferences();
    if (refs == null) {
      return Optional.empty();
    }
    return refs.stream()
        .filter(r -> kind.equals(r.getKind()))
        .map(OwnerReference::getUid)
        .findFirst();
  }

  static Optional<String> ownerName(HasMetadata o, String kind) {
    List<OwnerReference> refs = o.getMetadata().getOwnerReferences();
    if (refs == null) {
      return Optional.empty();
    }
    return refs.stream()
        .filter(r -> kind.equals(r.getKind()))
        .map(OwnerReference::getName)
        .findFirst();
  }

  /**
   * The pod that ended a VMI is its newest pod; an older one is a live-migration source. Ties
   * (second precision) are broken by the later resourceVersion, a weak but harmless hint.
   */
  static Optional<Pod> newest(Collection<Pod> pods) {
    return pods.stream()
        .max(
            Comparator.comparing((Pod p) -> created(p)).thenComparingLong(p -> resourceVersion(p)));
  }

  private static Instant created(Pod p) {
    try {
      return Instant.parse(p.getMetadata().getCreationTimestamp());
    } catch (RuntimeException e) {
      return Instant.EPOCH;
    }
  }

  private static long resourceVersion(Pod p) {
    try {
      return Long.parseLong(p.getMetadata().getResourceVersion());
    } catch (RuntimeException e) {
      return 0;
    }
  }

  static Optional<ContainerStatus> compute(Pod pod) {
    if (pod.getStatus() == null || pod.getStatus().getContainerStatuses() == null) {
      return Optional.empty();
    }
    return pod.getStatus().getContainerStatuses().stream()
        .filter(c -> Keys.COMPUTE_CONTAINER.equals(c.getName()))
        .findFirst();
  }

  /** The compute container's termination message, once it has terminated. */
  static Optional<String> terminatedMessage(Pod pod) {
    return compute(pod)
        .filter(c -> c.getState() != null && c.getState().getTerminated() != null)
        .map(c -> nullToEmpty(c.getState().getTerminated().getMessage()));
  }

  static boolean podFinished(Pod pod) {
    String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
    return "Succeeded".equals(phase) || "Failed".equals(phase);
  }

  static boolean podRunning(Pod pod) {
    return pod.getStatus() != null && "Running".equals(pod.getStatus().getPhase());
  }

  static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }
}
