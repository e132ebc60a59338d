package io.vmpower.controller;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.vmpower.api.Keys;
import io.vmpower.api.ResourceType;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** KubeVirt's resources as fabric8 generic resources, and the few fields the controller reads. */
final class KubeVirt {
  private KubeVirt() {}

  static final ResourceDefinitionContext VM = ResourceContexts.of(ResourceType.VIRTUAL_MACHINE);
  static final ResourceDefinitionContext VMI =
      ResourceContexts.of(ResourceType.VIRTUAL_MACHINE_INSTANCE);

  /** The start subresource; with runStrategy Manual and a final VMI virt-api replaces the VMI. */
  static String startPath(String namespace, String name) {
    return "apis/"
        + ResourceType.KUBEVIRT_SUBRESOURCES_GROUP
        + "/v1/namespaces/"
        + namespace
        + "/"
        + ResourceType.VIRTUAL_MACHINE.plural()
        + "/"
        + name
        + "/start";
  }

  static String annotation(HasMetadata o, String key) {
    Map<String, String> a = o.getMetadata().getAnnotations();
    return a == null ? null : a.get(key);
  }

  static boolean deleting(HasMetadata o) {
    String ts = o.getMetadata().getDeletionTimestamp();
    return ts != null && !ts.isEmpty();
  }

  /** {@code status.nodeName} of a VMI: the node it runs (or ran) on last; empty when unset. */
  static String nodeName(GenericKubernetesResource vmi) {
    Object node = vmi.get("status", "nodeName");
    return node instanceof String s ? s : "";
  }

  /**
   * When the VMI last went to {@code phase}, from {@code status.phaseTransitionTimestamps}
   * (KubeVirt's clock, second precision); empty when not recorded or unreadable.
   */
  static Optional<Instant> phaseTransition(GenericKubernetesResource vmi, String phase) {
    Object list = vmi.get("status", "phaseTransitionTimestamps");
    if (!(list instanceof Collection<?> entries)) {
      return Optional.empty();
    }
    Optional<Instant> last = Optional.empty();
    for (Object entry : entries) {
      if (entry instanceof Map<?, ?> m && phase.equals(m.get("phase"))) {
        Optional<Instant> at = instant(m.get("phaseTransitionTimestamp"));
        if (at.isPresent() && (last.isEmpty() || at.get().isAfter(last.get()))) {
          last = at;
        }
      }
    }
    return last;
  }

  /** An RFC 3339 time as the API server writes it; empty for anything else. */
  static Optional<Instant> instant(Object text) {
    if (!(text instanceof String s)) {
      return Optional.empty();
    }
    try {
      return Optional.of(Instant.parse(s));
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
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

  /** The owner of kind {@code kind} (a VMI's VM, a pod's VMI), when KubeVirt created it. */
  static Optional<OwnerReference> owner(HasMetadata o, ResourceType kind) {
    List<OwnerReference> refs = o.getMetadata().getOwnerReferences();
    if (refs == null) {
      return Optional.empty();
    }
    return refs.stream().filter(r -> kind.kind().equals(r.getKind())).findFirst();
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

  static String podPhase(Pod pod) {
    return pod.getStatus() == null ? null : pod.getStatus().getPhase();
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }
}
