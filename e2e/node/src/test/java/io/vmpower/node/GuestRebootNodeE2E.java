package io.vmpower.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The promise, end to end on a real node: a reboot issued inside the guest becomes a new
 * virt-launcher pod and a new VMI, made from the VM's current spec; the guest powering itself off
 * stays off. Everything is real: kubelet, containerd, KubeVirt's images installed by virt-operator,
 * libvirt and QEMU in the launcher, vmpower from its chart and image, the domain monitor in the
 * pod.
 */
@ExtendWith(Node.class)
@Order(2)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GuestRebootNodeE2E {
  private static final String NS = "node-reboot";

  @BeforeAll
  static void namespace() {
    Guests.enabledNamespace(Node.env().client, NS);
  }

  @Test
  @Order(1)
  void manualGuestRebootIsANewPodAndVmiWithTheSpecChangedBeforeIt() {
    Node.Env env = Node.env();
    KubernetesClient client = env.client;
    String vm = "reboots";
    // The guest reboots itself 40 s after it booted: time to change the spec while it runs.
    env.kubectlApply(Guests.vm(NS, vm, "Manual", "reboot", 40, "first"));
    env.virtctl("start", vm, "-n", NS);
    GenericKubernetesResource first = Guests.awaitRunning(client, NS, vm, "");
    Pod firstPod = Guests.launcherPod(client, NS, first.getMetadata().getUid());
    Node.say(
        "VMI %s Running in pod %s", first.getMetadata().getUid(), firstPod.getMetadata().getName());
    assertThat(firstPod.getMetadata().getAnnotations()).containsKey("vmpower.io/injection-status");
    Guests.awaitConsole(client, NS, firstPod.getMetadata().getName(), "vmpower-guest-up first");
    assertTheMonitorRunsNextToTheLauncher(env, firstPod);

    try (var record = new Guests.TerminationMessage(client, NS, firstPod.getMetadata().getName())) {
      // The change a user makes while the guest runs: KubeVirt applies it to the next VMI only.
      env.kubectl(
          "patch",
          "vm",
          vm,
          "-n",
          NS,
          "--type=merge",
          "-p",
          """
          {"spec":{"template":{"metadata":{"labels":{"vmpower-test/mark":"second"}},
           "spec":{"domain":{"firmware":{"kernelBoot":{"kernelArgs":
           "console=ttyS0 panic=-1 vmpower.action=wait vmpower.mark=second"}}}}}}}
          """);
      GenericKubernetesResource second =
          Guests.awaitRunning(client, NS, vm, first.getMetadata().getUid());
      Pod secondPod = Guests.launcherPod(client, NS, second.getMetadata().getUid());
      Node.say(
          "guest rebooted: new VMI %s in pod %s",
          second.getMetadata().getUid(), secondPod.getMetadata().getName());

      assertThat(secondPod.getMetadata().getName()).isNotEqualTo(firstPod.getMetadata().getName());
      assertThat(second.getMetadata().getLabels()).containsEntry("vmpower-test/mark", "second");
      Guests.awaitConsole(client, NS, secondPod.getMetadata().getName(), "vmpower-guest-up second");
      // The domain monitor's record, written by the old pod's compute container.
      assertThat(record.awaitMessage())
          .contains("\"source\":\"vmpower\"")
          .contains("\"guest\":true")
          .contains("\"reason\":\"guest-reset\"");
    }
    await()
        .atMost(Duration.ofSeconds(60))
        .untilAsserted(
            () ->
                assertThat(Guests.vmEvents(client, NS, vm))
                    .extracting(Event::getReason)
                    .contains("RestartedAfterGuestReboot"));
    Map<String, String> annotations =
        client
            .genericKubernetesResources(Guests.VM)
            .inNamespace(NS)
            .withName(vm)
            .get()
            .getMetadata()
            .getAnnotations();
    assertThat(annotations.get("vmpower.io/last-power-event"))
        .contains(first.getMetadata().getUid())
        .contains("guest-reset");
    env.kubectl("delete", "vm", vm, "-n", NS, "--wait=true");
  }

  /**
   * KubeVirt's launcher as KubeVirt starts it (PID 1, by default non-root), the monitor a process
   * of its own next to it, started by the postStart hook, adopted by PID 1, and its log where users
   * find it, saying that set-action took effect.
   */
  static void assertTheMonitorRunsNextToTheLauncher(Node.Env env, Pod pod) {
    String name = pod.getMetadata().getName();
    long uid = Guests.computeUid(pod);
    boolean rootLauncher = uid == 0;
    assertThat(rootLauncher)
        .as("KubeVirt's Root gate (VMPOWER_NODE_ROOT_LAUNCHER=true) or the default")
        .isEqualTo("true".equals(System.getenv("VMPOWER_NODE_ROOT_LAUNCHER")));
    List<String> processes = Guests.computeProcesses(env, NS, name);
    Node.say(
        "compute of %s (uid %d): pid ppid uid argv0 name%n  %s",
        name, uid, String.join("\n  ", processes));
    assertThat(processes)
        .anyMatch(l -> l.matches("1 0 " + uid + " /usr/bin/virt-launcher-monitor "));
    assertThat(processes)
        .anyMatch(l -> l.matches("\\d+ 1 " + uid + " /bin/bash vmpower-domain-monitor"));
    List<String> log = Guests.monitorLog(env, NS, name, rootLauncher);
    Node.say("domain monitor log of %s:%n  %s", name, String.join("\n  ", log));
    assertThat(log.get(0))
        .contains("\"msg\":\"domain monitor started\"")
        .contains("\"launcherPid\":1")
        .contains(
            rootLauncher
                ? "\"log\":\"/proc/1/fd/2\""
                : "\"log\":\"/var/run/kubevirt-private/vmpower-domain-monitor.log\"");
    assertThat(log).anyMatch(l -> l.contains("\"msg\":\"set-action reboot=shutdown applied\""));
    assertThat(log).noneMatch(l -> l.contains("\"level\":\"error\""));
  }

  @Test
  @Order(2)
  void manualGuestPoweroffStaysStopped() {
    Node.Env env = Node.env();
    KubernetesClient client = env.client;
    String vm = "powers-off";
    env.kubectlApply(Guests.vm(NS, vm, "Manual", "poweroff", 5, "only"));
    env.virtctl("start", vm, "-n", NS);
    GenericKubernetesResource vmi = Guests.awaitRunning(client, NS, vm, "");
    String uid = vmi.getMetadata().getUid();
    await()
        .atMost(Guests.BOOT)
        .until(() -> Guests.phase(Guests.vmi(client, NS, vm)), "Succeeded"::equals);
    await()
        .atMost(Duration.ofSeconds(60))
        .untilAsserted(
            () ->
                assertThat(Guests.vmEvents(client, NS, vm))
                    .extracting(Event::getReason)
                    .contains("GuestPoweredOff"));
    // Still the same, finished VMI a while later: nobody started the VM again.
    Node.sleep(Duration.ofSeconds(20));
    GenericKubernetesResource after = Guests.vmi(client, NS, vm);
    assertThat(after.getMetadata().getUid()).isEqualTo(uid);
    assertThat(Guests.phase(after)).isEqualTo("Succeeded");
    env.kubectl("delete", "vm", vm, "-n", NS, "--wait=true");
  }
}
