package io.vmpower.e2e;

import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;

/** KubeVirt's resources the suite reads and writes, as fabric8 generic resources. */
final class KubeVirtKinds {
  private KubeVirtKinds() {}

  static final ResourceDefinitionContext VM = kind("kubevirt.io", "VirtualMachine", true);
  static final ResourceDefinitionContext VMI = kind("kubevirt.io", "VirtualMachineInstance", true);
  static final ResourceDefinitionContext MIGRATION =
      kind("kubevirt.io", "VirtualMachineInstanceMigration", true);
  static final ResourceDefinitionContext KUBEVIRT = kind("kubevirt.io", "KubeVirt", true);
  static final ResourceDefinitionContext SNAPSHOT =
      kind("snapshot.kubevirt.io", "VirtualMachineSnapshot", true, "v1beta1");
  static final ResourceDefinitionContext RESTORE =
      kind("snapshot.kubevirt.io", "VirtualMachineRestore", true, "v1beta1");
  static final ResourceDefinitionContext API_SERVICE =
      kind("apiregistration.k8s.io", "APIService", false);

  private static ResourceDefinitionContext kind(String group, String kind, boolean namespaced) {
    return kind(group, kind, namespaced, "v1");
  }

  private static ResourceDefinitionContext kind(
      String group, String kind, boolean namespaced, String version) {
    return new ResourceDefinitionContext.Builder()
        .withGroup(group)
        .withVersion(version)
        .withKind(kind)
        .withPlural(kind.toLowerCase(java.util.Locale.ROOT) + "s")
        .withNamespaced(namespaced)
        .build();
  }
}
