package io.vmpower.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.vmpower.e2e.TestCluster.Kubectl;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The pod injector on the virt-launcher pods KubeVirt's virt-controller creates: the real pod's
 * command (kept) and its new postStart hook, labels (copied from the VM template) and owner
 * references, through the real API server's objectSelector and namespaceSelector. Shapes KubeVirt
 * 1.8 does not produce (command + args, as KubeVirt's main branch does) use a copy of a real pod.
 */
@Order(2)
@ExtendWith(Suite.class)
class PodInjectionE2E {
  static final String NS = Suite.ENABLED_NS;

  private static Pod uninjected;

  /**
   * A launcher pod exactly as virt-controller renders it, not injected: the pod of a VM in a
   * namespace that is not enabled, whose template carries the policy label. Owner, node and the
   * VMI's uid label are dropped, so the copy belongs to no VMI.
   */
  static synchronized Pod realLauncherPod() {
    if (uninjected == null) {
      String vm =
          """
          apiVersion: kubevirt.io/v1
          kind: VirtualMachine
          metadata:
            name: pod-template
            namespace: %s
          spec:
            runStrategy: Always
            template:
              metadata:
                labels:
                  app: e2e
                  vmpower.io/run-policy: Manual
              spec:
                domain:
                  devices: {}
                  resources:
                    requests:
                      memory: 64Mi
          """
              .formatted(Suite.PLAIN_NS);
      Kubectl r = Suite.env().cluster.kubectl(vm, "create", "-f", "-");
      assertThat(r.exit()).as(r.toString()).isZero();
      GenericKubernetesResource vmi = Vms.awaitRunning(Suite.PLAIN_NS, "pod-template");
      Pod real = Suite.env().launcherPods(vmi).get(0);
      assertThat(real.getMetadata().getAnnotations())
          .as("a namespace that is not enabled: virt-controller's pod is not injected")
          .doesNotContainKey("vmpower.io/injection-status");
      Container compute = compute(real);
      Suite.say(
          "virt-controller's launcher pod: containers %s, init containers %s, compute"
              + " terminationMessagePolicy %s, argv %s",
          real.getSpec().getContainers().stream().map(Container::getName).toList(),
          real.getSpec().getInitContainers().stream().map(Container::getName).toList(),
          compute.getTerminationMessagePolicy(),
          compute.getCommand());
      uninjected = real;
    }
    return new PodBuilder(uninjected).build();
  }

  /** A copy of the real launcher pod, under a fixed name, in {@code ns}, owned by nothing. */
  static Pod launcher(String ns, String name, Map<String, String> extraLabels) {
    Pod real = realLauncherPod();
    Map<String, String> labels = new HashMap<>(real.getMetadata().getLabels());
    labels.remove("kubevirt.io/created-by");
    labels.remove("vmpower.io/run-policy");
    labels.putAll(extraLabels);
    Pod copy =
        new PodBuilder(real)
            .withNewMetadata()
            .withNamespace(ns)
            .withName(name)
            .withLabels(labels)
            .withAnnotations(real.getMetadata().getAnnotations())
            .endMetadata()
            .withStatus(null)
            .build();
    copy.getSpec().setNodeName(null);
    return copy;
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
  void virtControllersLauncherPodGetsThePostStartHookAndKeepsItsArgv() {
    GenericKubernetesResource vmi = ControllerE2E.running("inject", "Manual");
    Pod pod = Suite.env().launcherPods(vmi).get(0);

    // KubeVirt's command, untouched: virt-launcher-monitor is the container's process
    List<String> command = compute(pod).getCommand();
    assertThat(command.get(0)).isEqualTo("/usr/bin/virt-launcher-monitor");
    // KubeVirt 1.8's whole argv is in command, naming this VMI
    assertThat(String.join(" ", command))
        .contains("--name inject", "--uid " + vmi.getMetadata().getUid(), "--namespace " + NS);
    assertThat(compute(pod).getArgs()).isNullOrEmpty();
    assertThat(command)
        .as("the same argv virt-controller renders for a pod it does not inject")
        .hasSameSizeAs(compute(realLauncherPod()).getCommand());
    // the monitor starts from a postStart hook, accepted by the API server's pod validation
    assertThat(compute(realLauncherPod()).getLifecycle()).as("KubeVirt sets no hook").isNull();
    List<String> hook = compute(pod).getLifecycle().getPostStart().getExec().getCommand();
    assertThat(hook.subList(0, 2)).containsExactly("/bin/bash", "-c");
    assertThat(hook.get(2)).as("the hook text").contains("vmpower-domain-monitor \"$@\"");
    assertThat(hook.get(2)).endsWith("\nexit 0\n");
    assertThat(hook.get(3)).isEqualTo("vmpower-poststart");
    assertThat(hook.subList(4, hook.size())).as("the launcher's argv").isEqualTo(command);
    assertThat(compute(pod).getLifecycle().getPreStop()).isNull();
    assertThat(pod.getMetadata().getAnnotations().get("vmpower.io/injection-status"))
        .contains("\"mode\":\"postStart\"");
    assertThat(pod.getMetadata().getAnnotations().get("vmpower.io/injection-status"))
        .contains("\"container\":\"compute\"", "\"script\":\"sha256:");
    // labels from the VM template, copied by virt-controller; owned by the VMI
    assertThat(pod.getMetadata().getLabels())
        .containsEntry("app", "e2e")
        .containsEntry("vmpower.io/run-policy", "Manual")
        .containsEntry("kubevirt.io", "virt-launcher")
        .containsEntry("kubevirt.io/created-by", vmi.getMetadata().getUid());
    assertThat(pod.getMetadata().getOwnerReferences())
        .singleElement()
        .satisfies(
            o -> {
              assertThat(o.getKind()).isEqualTo("VirtualMachineInstance");
              assertThat(o.getUid()).isEqualTo(vmi.getMetadata().getUid());
              assertThat(o.getController()).isTrue();
            });
  }

  @Test
  void commandPlusArgsShapeKeepsArgs() {
    Pod pod = launcher(NS, "virt-launcher-split", Map.of("vmpower.io/run-policy", "AlwaysOn"));
    Container c = compute(pod);
    List<String> all = c.getCommand();
    c.setCommand(List.of(all.get(0)));
    c.setArgs(new ArrayList<>(all.subList(1, all.size())));
    Kubectl r = create(pod);
    assertThat(r.exit()).as(r.toString()).isZero();
    Container stored = compute(Vms.JSON.unmarshal(r.stdout(), Pod.class));
    assertThat(stored.getCommand()).containsExactly(all.get(0));
    assertThat(stored.getArgs()).isEqualTo(all.subList(1, all.size()));
    List<String> hook = stored.getLifecycle().getPostStart().getExec().getCommand();
    assertThat(hook.subList(4, hook.size())).as("command + args, in order").isEqualTo(all);
    assertThat(Suite.env().reviews(NS, "virt-launcher-split"))
        .anyMatch(l -> l.contains("\"decision\":\"mutated\""));
  }

  @Test
  void podsWithoutThePolicyLabelNeverReachTheWebhook() {
    // a VM without a policy in an enabled namespace: virt-controller's pod is left alone
    Vms.create(NS, "unmanaged", null, "runStrategy: Always");
    GenericKubernetesResource vmi = Vms.awaitRunning(NS, "unmanaged");
    Pod real = Suite.env().launcherPods(vmi).get(0);
    assertThat(real.getMetadata().getLabels()).doesNotContainKey("vmpower.io/run-policy");
    assertThat(real.getMetadata().getAnnotations())
        .doesNotContainKey("vmpower.io/injection-status");
    // and the API server does not even ask: the objectSelector
    Pod copy = launcher(NS, "virt-launcher-unmanaged", Map.of());
    Kubectl r = create(copy);
    assertThat(r.exit()).as(r.toString()).isZero();
    Pod stored = Vms.JSON.unmarshal(r.stdout(), Pod.class);
    assertThat(compute(stored).getCommand()).isEqualTo(compute(copy).getCommand());
    assertThat(Suite.env().reviews(NS, "virt-launcher-unmanaged")).as("objectSelector").isEmpty();
  }

  @Test
  void launcherPodsInANamespaceThatIsNotEnabledAreUntouched() {
    Pod real = realLauncherPod();
    assertThat(real.getMetadata().getLabels()).containsEntry("vmpower.io/run-policy", "Manual");
    assertThat(real.getMetadata().getAnnotations())
        .doesNotContainKey("vmpower.io/injection-status");
    assertThat(compute(real).getCommand().get(0)).isEqualTo("/usr/bin/virt-launcher-monitor");
    assertThat(Suite.env().reviews(Suite.PLAIN_NS, real.getMetadata().getName()))
        .as("namespaceSelector")
        .isEmpty();
    List<OwnerReference> owners = real.getMetadata().getOwnerReferences();
    assertThat(owners)
        .extracting(OwnerReference::getKind)
        .containsExactly("VirtualMachineInstance");
  }

  @Test
  void skippedPodGoesThroughWithItsReasonAsAWarning() {
    Pod pod =
        new PodBuilder(
                launcher(NS, "virt-launcher-ephemeral", Map.of("vmpower.io/run-policy", "Manual")))
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
    assertThat(compute(stored).getLifecycle()).isNull();
  }
}
