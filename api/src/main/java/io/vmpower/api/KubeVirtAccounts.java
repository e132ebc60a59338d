package io.vmpower.api;

/**
 * The Kubernetes users KubeVirt's own components write as: the ServiceAccounts virt-operator
 * creates in KubeVirt's namespace ({@code
 * pkg/virt-operator/resource/generate/components/serviceaccountnames.go}). The namespace is chosen
 * at install time ({@code kubevirt} upstream, {@code openshift-cnv} on OpenShift Virtualization,
 * {@code harvester-system} on Harvester), so it is a setting; the names are not.
 *
 * @param namespace the namespace KubeVirt is installed in
 */
public record KubeVirtAccounts(String namespace) {
  /** Upstream's namespace. */
  public static final String DEFAULT_NAMESPACE = "kubevirt";

  public static final KubeVirtAccounts DEFAULT = new KubeVirtAccounts(DEFAULT_NAMESPACE);

  public KubeVirtAccounts {
    if (namespace == null || namespace.isBlank()) {
      throw new IllegalArgumentException("KubeVirt's namespace must not be empty");
    }
  }

  /**
   * virt-controller: writes the VM after a decentralized live migration ({@code Halted} on the
   * source, the restored runStrategy on the target), for a paused start, and during restores.
   */
  public String controller() {
    return serviceAccount("kubevirt-controller");
  }

  /**
   * virt-api: patches {@code spec.runStrategy} for the start and stop subresources, on behalf of
   * whoever called them.
   */
  public String apiServer() {
    return serviceAccount("kubevirt-apiserver");
  }

  private String serviceAccount(String name) {
    return "system:serviceaccount:" + namespace + ":" + name;
  }
}
