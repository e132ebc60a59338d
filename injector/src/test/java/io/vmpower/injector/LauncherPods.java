package io.vmpower.injector;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/** virt-launcher pods shaped as KubeVirt creates them. */
final class LauncherPods {
  static final JsonMapper JSON = new JsonMapper();

  static final List<String> LAUNCHER_ARGS =
      List.of(
          "--qemu-timeout", "321s",
          "--name", "db",
          "--uid", "7f1c2a9e-44b1-4f3e-9d0a-2b8f0f6c1d11",
          "--namespace", "team-a",
          "--kubevirt-share-dir", "/var/run/kubevirt",
          "--ephemeral-disk-dir", "/var/run/kubevirt-ephemeral-disks",
          "--container-disk-dir", "/var/run/kubevirt/container-disks",
          "--grace-period-seconds", "45",
          "--hook-sidecars", "0",
          "--ovmf-path", "/usr/share/OVMF");

  enum Shape {
    /** KubeVirt up to 1.9: the whole launcher argv in {@code command}. */
    COMMAND_ONLY,
    /** Later KubeVirt: {@code command} is the binary, the flags are in {@code args}. */
    COMMAND_AND_ARGS
  }

  private LauncherPods() {}

  static ObjectNode pod(Shape shape, long uid) {
    ObjectNode pod = JSON.createObjectNode();
    pod.put("apiVersion", "v1").put("kind", "Pod");
    ObjectNode metadata = pod.putObject("metadata");
    metadata.put("generateName", "virt-launcher-db-").put("namespace", "team-a");
    metadata
        .putObject("labels")
        .put("kubevirt.io", "virt-launcher")
        .put("kubevirt.io/created-by", "7f1c2a9e-44b1-4f3e-9d0a-2b8f0f6c1d11")
        .put("kubevirt.io/domain", "db")
        .put("vm.kubevirt.io/name", "db")
        .put("vmpower.io/run-policy", "Manual");
    metadata
        .putObject("annotations")
        .put("kubevirt.io/domain", "db")
        .put("kubectl.kubernetes.io/default-container", "compute")
        .put(
            "post.hook.backup.velero.io/command",
            "[\"/usr/bin/virt-freezer\", \"--unfreeze\", \"--name\", \"db\", \"--namespace\","
                + " \"team-a\"]");
    metadata
        .putArray("ownerReferences")
        .addObject()
        .put("apiVersion", "kubevirt.io/v1")
        .put("kind", "VirtualMachineInstance")
        .put("name", "db")
        .put("uid", "7f1c2a9e-44b1-4f3e-9d0a-2b8f0f6c1d11")
        .put("controller", true)
        .put("blockOwnerDeletion", true);
    ObjectNode spec = pod.putObject("spec");
    spec.put("automountServiceAccountToken", false).put("terminationGracePeriodSeconds", 60);
    spec.putObject("securityContext").put("runAsUser", uid).put("fsGroup", 107);
    ArrayNode containers = spec.putArray("containers");
    ObjectNode compute = containers.addObject();
    compute.put("name", "compute").put("image", "quay.io/kubevirt/virt-launcher:v1.6.2");
    ArrayNode command = compute.putArray("command");
    command.add("/usr/bin/virt-launcher-monitor");
    ArrayNode flags = shape == Shape.COMMAND_ONLY ? command : compute.putArray("args");
    LAUNCHER_ARGS.forEach(flags::add);
    if (uid != 0) {
      flags.add("--run-as-nonroot");
    }
    ObjectNode securityContext = compute.putObject("securityContext");
    securityContext.put("runAsUser", uid).put("runAsNonRoot", uid != 0);
    securityContext.putObject("capabilities").putArray("drop").add("ALL");
    compute
        .putArray("volumeMounts")
        .addObject()
        .put("name", "private")
        .put("mountPath", "/var/run/kubevirt-private");
    compute.putObject("resources").putObject("requests").put("memory", "2294Mi").put("cpu", "100m");
    ObjectNode disk = containers.addObject();
    disk.put("name", "volumerootdisk").put("image", "quay.io/containerdisks/fedora:41");
    disk.putArray("command").add("/usr/bin/container-disk");
    disk.putArray("args")
        .add("--copy-path")
        .add("/var/run/kubevirt-ephemeral-disks/disk-data/rootdisk/disk");
    spec.putArray("volumes").addObject().put("name", "private").putObject("emptyDir");
    return pod;
  }

  static ObjectNode compute(JsonNode pod) {
    for (JsonNode container : pod.path("spec").path("containers")) {
      if ("compute".equals(container.path("name").asText())) {
        return (ObjectNode) container;
      }
    }
    throw new AssertionError("no compute container");
  }

  static List<String> strings(JsonNode array) {
    return array.isMissingNode()
        ? List.of()
        : java.util.stream.StreamSupport.stream(array.spliterator(), false)
            .map(JsonNode::asText)
            .toList();
  }
}
