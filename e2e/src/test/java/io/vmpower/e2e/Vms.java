package io.vmpower.e2e;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.LinkedHashMap;
import java.util.Map;

/** VirtualMachine manifests as users write them, and reading the stored ones. */
final class Vms {
  static final KubernetesSerialization JSON = new KubernetesSerialization();

  private Vms() {}

  /** A VM manifest; {@code annotations} may hold the run policy; {@code specExtra} is YAML. */
  static String manifest(
      String ns, String name, Map<String, String> annotations, String specExtra) {
    StringBuilder y = new StringBuilder();
    y.append("apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: ")
        .append(name)
        .append("\n  namespace: ")
        .append(ns)
        .append('\n');
    if (!annotations.isEmpty()) {
      y.append("  annotations:\n");
      annotations.forEach(
          (k, v) ->
              y.append("    ")
                  .append(k)
                  .append(": ")
                  .append(KubeVirtStandIn.quote(v))
                  .append('\n'));
    }
    y.append("spec:\n");
    if (specExtra != null && !specExtra.isBlank()) {
      specExtra.lines().forEach(l -> y.append("  ").append(l).append('\n'));
    }
    y.append(
        "  template:\n    metadata:\n      labels:\n        app: e2e\n    spec:\n      domain:\n"
            + "        devices: {}\n        resources:\n          requests:\n            memory: 64Mi\n");
    return y.toString();
  }

  static Map<String, String> policy(String value) {
    Map<String, String> a = new LinkedHashMap<>();
    a.put("vmpower.io/run-policy", value);
    return a;
  }

  static GenericKubernetesResource parse(String json) {
    return JSON.unmarshal(json, GenericKubernetesResource.class);
  }

  static String annotation(GenericKubernetesResource vm, String key) {
    Map<String, String> a = vm.getMetadata().getAnnotations();
    return a == null ? null : a.get(key);
  }

  static String templateLabel(GenericKubernetesResource vm, String key) {
    return KubeVirtStandIn.templateLabels(vm).get(key);
  }

  static Object spec(GenericKubernetesResource vm, String field) {
    return vm.get("spec", field);
  }
}
