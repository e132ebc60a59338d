package io.vmpower.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.vmpower.e2e.TestCluster.Kubectl;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The pod injector through the real API server: its objectSelector and namespaceSelector decide
 * which virt-launcher pods reach it, and the patched pod passes the API server's pod validation.
 */
@Order(2)
@ExtendWith(Suite.class)
class PodInjectionE2E {
  /** A virt-launcher pod as virt-controller creates it for a VMI of this VM. */
  static Pod launcher(String ns, String vmName, Map<String, String> templateLabels) {
    GenericKubernetesResource vmi = new GenericKubernetesResource();
    vmi.setMetadata(
        new io.fabric8.kubernetes.api.model.ObjectMetaBuilder()
            .withNamespace(ns)
            .withName(vmName)
            .withUid(java.util.UUID.randomUUID().toString())
            .withLabels(templateLabels)
            .build());
    Pod pod = KubeVirtStandIn.launcherPod(vmi);
    // no VMI object exists for these pods: no owner the garbage collector would look for
    pod.getMetadata().setOwnerReferences(List.of());
    pod.getMetadata().setGenerateName(null);
    pod.getMetadata().setName("virt-launcher-" + vmName);
    return pod;
  }

  static Kubectl create(Pod pod) {
    return Suite.env().cluster.kubectl(Vms.JSON.asJson(pod), "create", "-o", "json", "-f", "-");
  }

  static Container compute(Pod pod) {
    return pod.getSpec().getContainers().stream()
        .filter(c -> c.getName().equals("compute"))
        .findFirst()
        .orElseThrow();
  }

  @Test
  void labelledLauncherPodIsInjectedKeepingItsArgv() {
    Pod pod = launcher(Suite.ENABLED_NS, "inject", Map.of("vmpower.io/run-policy", "Manual"));
    List<String> original = compute(pod).getCommand();
    Kubectl r = create(pod);
    assertThat(r.exit()).as(r.toString()).isZero();
    Pod stored = Vms.JSON.unmarshal(r.stdout(), Pod.class);

    List<String> command = compute(stored).getCommand();
    assertThat(command.subList(0, 2)).containsExactly("/bin/bash", "-c");
    assertThat(command.get(2)).as("the wrapper").contains("exec \"$@\"");
    assertThat(command.get(3)).isEqualTo("vmpower-launcher");
    assertThat(command.subList(4, command.size())).isEqualTo(original);
    assertThat(compute(stored).getArgs()).isNullOrEmpty();
    assertThat(stored.getMetadata().getAnnotations().get("vmpower.io/injection-status"))
        .contains("\"container\":\"compute\"", "\"script\":\"sha256:");
    assertThat(Suite.env().reviews(Suite.ENABLED_NS, "virt-launcher-inject"))
        .anyMatch(l -> l.contains("\"decision\":\"mutated\""));
  }

  @Test
  void commandPlusArgsShapeKeepsArgs() {
    Pod pod = launcher(Suite.ENABLED_NS, "split", Map.of("vmpower.io/run-policy", "AlwaysOn"));
    Container c = compute(pod);
    List<String> all = c.getCommand();
    c.setCommand(List.of(all.get(0)));
    c.setArgs(new ArrayList<>(all.subList(1, all.size())));
    Kubectl r = create(pod);
    assertThat(r.exit()).as(r.toString()).isZero();
    Container stored = compute(Vms.JSON.unmarshal(r.stdout(), Pod.class));
    assertThat(stored.getCommand()).hasSize(5).endsWith(all.get(0));
    assertThat(stored.getArgs()).isEqualTo(all.subList(1, all.size()));
  }

  @Test
  void podsWithoutThePolicyLabelNeverReachTheWebhook() {
    Pod pod = launcher(Suite.ENABLED_NS, "unmanaged", Map.of());
    Kubectl r = create(pod);
    assertThat(r.exit()).as(r.toString()).isZero();
    Pod stored = Vms.JSON.unmarshal(r.stdout(), Pod.class);
    assertThat(compute(stored).getCommand()).isEqualTo(compute(pod).getCommand());
    assertThat(Suite.env().reviews(Suite.ENABLED_NS, "virt-launcher-unmanaged"))
        .as("objectSelector")
        .isEmpty();
  }

  @Test
  void launcherPodsInANamespaceThatIsNotEnabledAreUntouched() {
    Pod pod = launcher(Suite.PLAIN_NS, "elsewhere", Map.of("vmpower.io/run-policy", "Manual"));
    Kubectl r = create(pod);
    assertThat(r.exit()).as(r.toString()).isZero();
    Pod stored = Vms.JSON.unmarshal(r.stdout(), Pod.class);
    assertThat(compute(stored).getCommand()).isEqualTo(compute(pod).getCommand());
    assertThat(stored.getMetadata().getAnnotations())
        .doesNotContainKey("vmpower.io/injection-status");
    assertThat(Suite.env().reviews(Suite.PLAIN_NS, "virt-launcher-elsewhere")).isEmpty();
  }

  @Test
  void skippedPodGoesThroughWithItsReasonAsAWarning() {
    Pod pod =
        new PodBuilder(
                launcher(Suite.ENABLED_NS, "ephemeral", Map.of("vmpower.io/run-policy", "Manual")))
            .editMetadata()
            .addToAnnotations("kubevirt.io/ephemeral-provisioning", "true")
            .endMetadata()
            .build();
    Kubectl r = create(pod);
    assertThat(r.exit()).as(r.toString()).isZero();
    assertThat(r.stderr())
        .contains(
            "Warning: vmpower: ephemeral provisioning pod (kubevirt.io/ephemeral-provisioning)");
    Pod stored = Vms.JSON.unmarshal(r.stdout(), Pod.class);
    assertThat(compute(stored).getCommand()).isEqualTo(compute(pod).getCommand());
  }
}
