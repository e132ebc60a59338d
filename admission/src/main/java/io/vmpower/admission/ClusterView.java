package io.vmpower.admission;

import io.vmpower.api.NamespaceDefault;
import java.util.Map;

/**
 * What the VM webhook knows about the cluster besides the request: the namespaces' default run
 * policies and the VirtualMachineRestores under way. Answered from memory (an informer cache in the
 * server, fixed values in {@code preview} and tests): a review never waits on the API server.
 */
public interface ClusterView {

  /**
   * The default run policy of {@code namespace}; {@link NamespaceDefault#NOT_LOADED} until known.
   */
  NamespaceDefault namespaceDefault(String namespace);

  /**
   * Whether a VirtualMachineRestore with {@code targetReadinessPolicy: StopTarget} that has not
   * completed names the VM {@code namespace/name} as its target: KubeVirt's restore controller then
   * stops the VM through virt-api, which patches {@code spec.runStrategy: Halted} as itself.
   */
  boolean restoreStopsVm(String namespace, String name);

  /** No cluster: no defaults, no restores (the server without Kubernetes). */
  ClusterView NONE = fixed(Map.of());

  /**
   * The same default (an annotation value) for every namespace, and no restores: {@code preview
   * --default-run-policy}.
   */
  static ClusterView sameDefault(String annotation) {
    NamespaceDefault everywhere = NamespaceDefault.of(annotation);
    return new ClusterView() {
      @Override
      public NamespaceDefault namespaceDefault(String namespace) {
        return everywhere;
      }

      @Override
      public boolean restoreStopsVm(String namespace, String name) {
        return false;
      }
    };
  }

  /** Fixed namespace defaults (annotation values by namespace) and no restores. */
  static ClusterView fixed(Map<String, String> defaults) {
    Map<String, String> copy = Map.copyOf(defaults);
    return new ClusterView() {
      @Override
      public NamespaceDefault namespaceDefault(String namespace) {
        return NamespaceDefault.of(copy.get(namespace));
      }

      @Override
      public boolean restoreStopsVm(String namespace, String name) {
        return false;
      }
    };
  }
}
