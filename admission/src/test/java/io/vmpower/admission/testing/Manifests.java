package io.vmpower.admission.testing;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;

/** Test manifests written as YAML, the way users write them. */
public final class Manifests {
  private static final YAMLMapper YAML = new YAMLMapper();

  private Manifests() {}

  public static ObjectNode yaml(String text) {
    try {
      return (ObjectNode) YAML.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * A realistic KubeVirt VM; {@code policy} null for none, {@code strategyLines} e.g. "runStrategy:
   * Always".
   */
  public static ObjectNode vm(String name, String policy, String strategyLines) {
    String annotations =
        policy == null ? "" : "  annotations:\n    vmpower.io/run-policy: \"" + policy + "\"\n";
    return yaml(
        """
        apiVersion: kubevirt.io/v1
        kind: VirtualMachine
        metadata:
          name: %s
          namespace: team-a
          labels:
            app: database
        %s
        spec:
          %s
          template:
            metadata:
              labels:
                kubevirt.io/domain: %s
            spec:
              domain:
                cpu:
                  cores: 2
                devices:
                  disks:
                    - name: rootdisk
                      disk:
                        bus: virtio
                resources:
                  requests:
                    memory: 2Gi
              volumes:
                - name: rootdisk
                  containerDisk:
                    image: quay.io/containerdisks/fedora:41
        """
            .formatted(name, annotations.stripTrailing(), strategyLines, name)
            .replace("\n\nspec:", "\nspec:"));
  }
}
