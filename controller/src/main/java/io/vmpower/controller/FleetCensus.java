package io.vmpower.controller;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.vmpower.api.Keys;
import io.vmpower.api.NamespaceDefault;
import io.vmpower.api.ResourceType;
import io.vmpower.api.RunPolicy;
import io.vmpower.api.status.Maintenance;
import java.util.Collection;
import java.util.EnumMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The fleet as the metrics show it, counted from the informer caches (no API calls): managed VMs by
 * policy, those in maintenance, running launchers of managed VMs without the domain monitor,
 * enabled namespaces whose default is invalid.
 *
 * @param vms managed VMs (a valid own policy) by policy, every policy present
 * @param inMaintenance the same, in maintenance
 */
record FleetCensus(
    Map<RunPolicy, Integer> vms,
    Map<RunPolicy, Integer> inMaintenance,
    int unmonitoredLaunchers,
    int invalidNamespaceDefaults) {

  static final FleetCensus EMPTY =
      take(java.util.List.of(), java.util.List.of(), k -> null, java.util.List.of());

  /**
   * @param vm the VM of a {@code namespace/name} key, or null
   */
  static FleetCensus take(
      Collection<GenericKubernetesResource> vms,
      Collection<Pod> launchers,
      Function<String, GenericKubernetesResource> vm,
      Collection<Namespace> enabledNamespaces) {
    Map<RunPolicy, Integer> byPolicy = zeros();
    Map<RunPolicy, Integer> maintenance = zeros();
    for (GenericKubernetesResource v : vms) {
      RunPolicy policy = policyOf(v);
      if (policy != null) {
        byPolicy.merge(policy, 1, Integer::sum);
        if (Maintenance.isOn(KubeVirt.annotation(v, Keys.MAINTENANCE))) {
          maintenance.merge(policy, 1, Integer::sum);
        }
      }
    }
    int unmonitored = 0;
    for (Pod pod : launchers) {
      boolean uninjected =
          "Running".equals(KubeVirt.podPhase(pod))
              && KubeVirt.annotation(pod, Keys.INJECTION_STATUS) == null
              && KubeVirt.annotation(pod, Keys.KUBEVIRT_EPHEMERAL_PROVISIONING) == null;
      if (uninjected) {
        // the pod's VMI has the VM's name
        String vmi =
            KubeVirt.owner(pod, ResourceType.VIRTUAL_MACHINE_INSTANCE)
                .map(OwnerReference::getName)
                .orElse(null);
        GenericKubernetesResource owner =
            vmi == null ? null : vm.apply(pod.getMetadata().getNamespace() + "/" + vmi);
        if (owner != null && policyOf(owner) != null) {
          unmonitored++;
        }
      }
    }
    int invalid = 0;
    for (Namespace ns : enabledNamespaces) {
      String value =
          ns.getMetadata().getAnnotations() == null
              ? null
              : ns.getMetadata().getAnnotations().get(Keys.DEFAULT_RUN_POLICY);
      if (NamespaceDefault.of(value) instanceof NamespaceDefault.Invalid) {
        invalid++;
      }
    }
    return new FleetCensus(byPolicy, maintenance, unmonitored, invalid);
  }

  private static RunPolicy policyOf(GenericKubernetesResource vm) {
    return RunPolicy.parse(KubeVirt.annotation(vm, Keys.RUN_POLICY))
        .map(RunPolicy.Parsed::policy)
        .orElse(null);
  }

  private static Map<RunPolicy, Integer> zeros() {
    Map<RunPolicy, Integer> m = new EnumMap<>(RunPolicy.class);
    for (RunPolicy p : RunPolicy.values()) {
      m.put(p, 0);
    }
    return m;
  }
}
