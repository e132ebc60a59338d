package io.vmpower.e2e;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.time.Duration;
import java.util.HashMap;
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
          (k, v) -> y.append("    ").append(k).append(": ").append(quote(v)).append('\n'));
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

  /** Creates the VM with kubectl (through both webhooks), failing the test if it is refused. */
  static void create(String ns, String name, String policy, String specExtra) {
    TestCluster.Kubectl r =
        Suite.env()
            .cluster
            .kubectl(
                manifest(ns, name, policy == null ? Map.of() : policy(policy), specExtra),
                "create",
                "-f",
                "-");
    if (r.exit() != 0) {
      throw new AssertionError("creating VM " + ns + "/" + name + " failed: " + r);
    }
  }

  /**
   * Waits until the VM has a Running VMI (virt-controller created it and its pod, the kubelet and
   * virt-handler stand-ins ran them) other than {@code notUid}, and returns it.
   */
  static GenericKubernetesResource awaitRunning(String ns, String name, String notUid) {
    GenericKubernetesResource[] found = new GenericKubernetesResource[1];
    Suite.await(
        "a Running VMI of " + ns + "/" + name + (notUid == null ? "" : " other than " + notUid),
        Duration.ofSeconds(60),
        () -> {
          GenericKubernetesResource vmi = Suite.env().vmi(ns, name);
          found[0] = vmi;
          return vmi != null
              && !vmi.getMetadata().getUid().equals(notUid)
              && "Running".equals(VirtHandler.phase(vmi));
        });
    return found[0];
  }

  static GenericKubernetesResource awaitRunning(String ns, String name) {
    return awaitRunning(ns, name, null);
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
    return templateLabels(vm).get(key);
  }

  @SuppressWarnings("unchecked")
  static Map<String, String> templateLabels(GenericKubernetesResource vm) {
    Object labels = vm.get("spec", "template", "metadata", "labels");
    return labels instanceof Map<?, ?> m ? new HashMap<>((Map<String, String>) m) : new HashMap<>();
  }

  /** A JSON string literal (also a YAML double-quoted scalar). */
  static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }

  static Object spec(GenericKubernetesResource vm, String field) {
    return vm.get("spec", field);
  }
}
