package io.vmpower.api;

/**
 * A Kubernetes resource type vmpower reads, writes or reviews: the one place for KubeVirt's group,
 * version, kinds and plurals (the controller builds its fabric8 contexts from these, the admission
 * webhooks check reviews against them).
 *
 * @param group API group, empty for the core group
 * @param version the version vmpower reads and writes
 * @param kind e.g. {@code VirtualMachine}
 * @param plural the resource name in URLs and RBAC rules, e.g. {@code virtualmachines}
 */
public record ResourceType(String group, String version, String kind, String plural) {
  /** KubeVirt's API group. */
  public static final String KUBEVIRT_GROUP = "kubevirt.io";

  /** virt-api's subresources ({@code virtualmachines/NAME/start}). */
  public static final String KUBEVIRT_SUBRESOURCES_GROUP = "subresources.kubevirt.io";

  public static final ResourceType VIRTUAL_MACHINE =
      new ResourceType(KUBEVIRT_GROUP, "v1", "VirtualMachine", "virtualmachines");

  public static final ResourceType VIRTUAL_MACHINE_INSTANCE =
      new ResourceType(KUBEVIRT_GROUP, "v1", "VirtualMachineInstance", "virtualmachineinstances");

  public static final ResourceType POD = new ResourceType("", "v1", "Pod", "pods");

  /** The KubeVirt CR (virt-operator's): read for its feature gates and version. */
  public static final ResourceType KUBEVIRT =
      new ResourceType(KUBEVIRT_GROUP, "v1", "KubeVirt", "kubevirts");

  /** {@code group/version}, or only the version for the core group. */
  public String apiVersion() {
    return group.isEmpty() ? version : group + "/" + version;
  }

  /** How messages name it: {@code kubevirt.io/VirtualMachine}, {@code Pod}. */
  public String qualifiedKind() {
    return group.isEmpty() ? kind : group + "/" + kind;
  }

  /**
   * True for a manifest of this type: the same kind and group, in any version of a named group (the
   * API server converts between a group's served versions), or exactly {@code v1} for the core
   * group, which has no other.
   */
  public boolean describes(String apiVersion, String kind) {
    if (!this.kind.equals(kind) || apiVersion == null) {
      return false;
    }
    return group.isEmpty() ? apiVersion.equals(version) : apiVersion.startsWith(group + "/");
  }

  /** The group of an {@code apiVersion}: empty for the core group. */
  public static String groupOf(String apiVersion) {
    int slash = apiVersion.indexOf('/');
    return slash < 0 ? "" : apiVersion.substring(0, slash);
  }
}
