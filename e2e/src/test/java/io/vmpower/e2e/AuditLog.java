package io.vmpower.e2e;

import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * kube-apiserver's audit log, kept for what the suite asks about: every request to KubeVirt's
 * subresource API (who started or stopped which VM, and virt-api's answer) and every write of a
 * VirtualMachine (who changed it, and whether admission let it through).
 */
final class AuditLog {
  static final String POLICY =
      """
      apiVersion: audit.k8s.io/v1
      kind: Policy
      omitStages: ["RequestReceived"]
      rules:
        - level: Metadata
          resources:
            - group: subresources.kubevirt.io
        - level: Metadata
          verbs: ["create", "update", "patch"]
          resources:
            - group: kubevirt.io
              resources: ["virtualmachines", "virtualmachines/status"]
        - level: None
      """;

  private static final KubernetesSerialization JSON = new KubernetesSerialization();

  /** One audited request: the user, the verb, the object and subresource, the answer's code. */
  record Entry(
      String user,
      String verb,
      String namespace,
      String name,
      String resource,
      String subresource,
      int code) {}

  private final Path file;

  AuditLog(Path file) {
    this.file = file;
  }

  /** Requests for {@code resource[/subresource]} of one object, oldest first. */
  List<Entry> requests(String namespace, String name, String resource, String subresource) {
    return entries().stream()
        .filter(e -> namespace.equals(e.namespace()) && name.equals(e.name()))
        .filter(e -> resource.equals(e.resource()))
        .filter(
            e ->
                subresource == null ? e.subresource() == null : subresource.equals(e.subresource()))
        .toList();
  }

  /** KubeVirt's start subresource for a VM. */
  List<Entry> starts(String namespace, String name) {
    return requests(namespace, name, "virtualmachines", "start");
  }

  @SuppressWarnings("unchecked")
  List<Entry> entries() {
    List<Entry> result = new ArrayList<>();
    List<String> lines;
    try {
      lines = Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    for (String line : lines) {
      if (line.isBlank()) {
        continue;
      }
      Map<String, Object> event = JSON.unmarshal(line, Map.class);
      if (!"ResponseComplete".equals(event.get("stage"))) {
        continue;
      }
      // the effective user: an impersonated one (kubectl --as) is recorded next to the caller
      Map<String, Object> user =
          (Map<String, Object>)
              event.getOrDefault("impersonatedUser", event.getOrDefault("user", Map.of()));
      Map<String, Object> ref = (Map<String, Object>) event.getOrDefault("objectRef", Map.of());
      Map<String, Object> status =
          (Map<String, Object>) event.getOrDefault("responseStatus", Map.of());
      Object code = status.get("code");
      result.add(
          new Entry(
              (String) user.get("username"),
              (String) event.get("verb"),
              (String) ref.get("namespace"),
              (String) ref.get("name"),
              (String) ref.get("resource"),
              (String) ref.get("subresource"),
              code instanceof Number n ? n.intValue() : 0));
    }
    return result;
  }
}
