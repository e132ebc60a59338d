package io.vmpower.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The other ways a VM stops (issue 14's table), each on a real node: what KubeVirt, libvirt and
 * QEMU really do for {@code virtctl reset}, {@code virtctl soft-reboot} without the guest agent, a
 * watchdog the guest stops feeding and a guest kernel panic, what the domain monitor records in the
 * old pod's termination message, and what the controller makes of it (a new VMI or none, its Event,
 * {@code vmpower.io/last-power-event}). One VM per scenario.
 */
@ExtendWith(Node.class)
@Order(5)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StopReasonsNodeE2E {
  private static final String NS = "node-stops";

  @BeforeAll
  static void namespace() {
    Guests.enabledNamespace(Node.env().client, NS);
  }

  /**
   * {@code virtctl reset} (QMP system_reset through libvirt's virDomainReset): with set-action QEMU
   * ends with {@code SHUTDOWN guest:false host-qmp-system-reset}, and Manual restarts it.
   */
  @Test
  @Order(1)
  void manualResetIsARestart() {
    resetIsARestart("resets", "Manual");
  }

  /** The same for AlwaysOnUnlessStoppedManually (first started by vmpower's controller). */
  @Test
  @Order(2)
  void alwaysOnUnlessStoppedManuallyResetIsARestart() {
    resetIsARestart("resets-aousm", "AlwaysOnUnlessStoppedManually");
  }

  private static void resetIsARestart(String vm, String policy) {
    Node.Env env = Node.env();
    Started first = start(env, vm, policy, "wait", 0, "", "vmpower-guest-up reset");
    GenericKubernetesResource second;
    try (var record = new Guests.TerminationMessage(env.client, NS, first.podName())) {
      env.virtctl("reset", vm, "-n", NS);
      second = Guests.awaitRunning(env.client, NS, vm, first.uid());
      assertThat(say(first, record.awaitMessage()))
          .contains("\"event\":\"SHUTDOWN\",\"guest\":false,\"reason\":\"host-qmp-system-reset\"")
          .doesNotContain("\"guest\":true");
    }
    assertRestarted(env, vm, first, second, "RestartedAfterReset", "Normal", "host-reset");
  }

  /**
   * {@code virtctl soft-reboot} without the guest agent: KubeVirt v1.8.4's virt-launcher calls
   * virDomainReboot with VIR_DOMAIN_REBOOT_ACPI_POWER_BTN (SoftRebootVMI in
   * pkg/virt-launcher/virtwrap/manager.go; ACPI is on by default), the guest powers off on the
   * button, and libvirt's "fake reboot" resets it, which set-action turns into a second SHUTDOWN.
   */
  @Test
  @Order(3)
  void manualSoftRebootWithoutTheAgentIsARestart() {
    Node.Env env = Node.env();
    String vm = "soft-reboots";
    Started first = start(env, vm, "Manual", "acpi", 0, "", "vmpower-guest-ready soft");
    GenericKubernetesResource second;
    AtomicReference<String> console = new AtomicReference<>("");
    try (var record = new Guests.TerminationMessage(env.client, NS, first.podName())) {
      env.virtctl("soft-reboot", vm, "-n", NS);
      // Read at once: the old pod goes away with the restart.
      await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(250))
          .until(
              () -> {
                String text = Guests.console(env.client, NS, first.podName());
                if (text.length() > console.get().length()) {
                  console.set(text);
                }
                return console.get().contains("vmpower-power-button soft");
              });
      second = Guests.awaitRunning(env.client, NS, vm, first.uid());
      assertThat(say(first, record.awaitMessage()))
          .contains("\"event\":\"SHUTDOWN\",\"guest\":true,\"reason\":\"guest-shutdown\"")
          .contains("\"event\":\"SHUTDOWN\",\"guest\":false,\"reason\":\"host-qmp-system-reset\"");
    }
    assertRestarted(env, vm, first, second, "RestartedAfterSoftReboot", "Normal", "soft-reboot");
  }

  /**
   * An i6300esb watchdog with action reset that the guest opens and never feeds: QEMU's {@code
   * WATCHDOG action:reset}, then the reset set-action turns into {@code SHUTDOWN guest:true
   * guest-reset}; a restart, announced as the watchdog's (a Warning), not as a reboot.
   */
  @Test
  @Order(4)
  void watchdogResetIsARestartAnnouncedAsTheWatchdog() {
    Node.Env env = Node.env();
    String vm = "watchdog";
    Started first =
        start(
            env,
            vm,
            "Manual",
            "watchdog",
            20,
            "watchdog: {name: watchdog, i6300esb: {action: reset}}",
            "vmpower-guest-up watchdog");
    GenericKubernetesResource second;
    try (var record = new Guests.TerminationMessage(env.client, NS, first.podName())) {
      second = Guests.awaitRunning(env.client, NS, vm, first.uid());
      assertThat(say(first, record.awaitMessage()))
          .contains("\"event\":\"WATCHDOG\",\"action\":\"reset\"")
          .contains("\"event\":\"SHUTDOWN\",\"guest\":true,\"reason\":\"guest-reset\"");
    }
    assertRestarted(env, vm, first, second, "RestartedAfterWatchdog", "Warning", "watchdog");
  }

  /**
   * A guest kernel panic with an ISA pvpanic device (KubeVirt's panicDevices, its PanicDevices gate
   * on in the KubeVirt CR): QEMU's {@code GUEST_PANICKED}, libvirt's default on_crash (destroy)
   * ends QEMU, the VMI fails. AlwaysOnUnlessStoppedManually restarts after infrastructure failures,
   * but a panic is the guest's own doing: it stays stopped.
   */
  @Test
  @Order(5)
  void guestPanicStaysStopped() {
    Node.Env env = Node.env();
    KubernetesClient client = env.client;
    String vm = "panics";
    Started first =
        start(
            env,
            vm,
            "AlwaysOnUnlessStoppedManually",
            "panic",
            20,
            "panicDevices: [{model: isa}]",
            "vmpower-guest-up panic");
    try (var record = new Guests.TerminationMessage(client, NS, first.podName())) {
      await()
          .atMost(Guests.BOOT)
          .until(() -> Guests.phase(Guests.vmi(client, NS, vm)), "Failed"::equals);
      assertThat(say(first, record.awaitMessage()))
          .contains("\"event\":\"GUEST_PANICKED\"")
          .doesNotContain("\"guest\":true");
    }
    assertThat(Guests.console(client, NS, first.podName()))
        .contains("vmpower-guest-panic panic")
        .contains("Kernel panic");
    Event panicked =
        await()
            .atMost(Duration.ofSeconds(60))
            .until(() -> event(client, vm, "GuestPanicked"), e -> e != null);
    Node.say(
        "%s: Event %s %s: %s", vm, panicked.getType(), panicked.getReason(), panicked.getMessage());
    assertThat(panicked.getType()).isEqualTo("Warning");
    Node.say("%s: vmpower.io/last-power-event %s", vm, lastPowerEvent(client, vm));
    assertThat(lastPowerEvent(client, vm)).contains(first.uid()).contains("guest-panic");
    // Still the same failed VMI a while later: nobody started the VM again.
    Node.sleep(Duration.ofSeconds(20));
    GenericKubernetesResource after = Guests.vmi(client, NS, vm);
    assertThat(after.getMetadata().getUid()).isEqualTo(first.uid());
    assertThat(Guests.phase(after)).isEqualTo("Failed");
    assertThat(Guests.vmEvents(client, NS, vm))
        .extracting(Event::getReason)
        .doesNotContain("RestartedAfterFailure");
    env.kubectl("delete", "vm", vm, "-n", NS, "--wait=true");
  }

  /** The first VMI of a VM, Running, its guest booted and its domain monitor armed. */
  private record Started(String uid, String podName) {}

  private static Started start(
      Node.Env env,
      String vm,
      String policy,
      String action,
      int delay,
      String devices,
      String consoleText) {
    String mark = consoleText.substring(consoleText.lastIndexOf(' ') + 1);
    env.kubectlApply(Guests.vm(NS, vm, policy, action, delay, mark, devices));
    if (policy.equals("Manual")) {
      env.virtctl("start", vm, "-n", NS);
    } // AlwaysOnUnlessStoppedManually: vmpower's controller starts it the first time.
    GenericKubernetesResource vmi = Guests.awaitRunning(env.client, NS, vm, "");
    Pod pod = Guests.launcherPod(env.client, NS, vmi.getMetadata().getUid());
    Node.say(
        "%s (%s, %s): VMI %s Running in pod %s",
        vm, policy, action, vmi.getMetadata().getUid(), pod.getMetadata().getName());
    assertThat(pod.getMetadata().getAnnotations()).containsKey("vmpower.io/injection-status");
    Guests.awaitMonitorArmed(env, NS, pod);
    Guests.awaitConsole(env.client, NS, pod.getMetadata().getName(), consoleText);
    return new Started(vmi.getMetadata().getUid(), pod.getMetadata().getName());
  }

  /** A new VMI in a new pod, the Event of that way of stopping, and the record on the VM. */
  private static void assertRestarted(
      Node.Env env,
      String vm,
      Started first,
      GenericKubernetesResource second,
      String eventReason,
      String eventType,
      String recordReason) {
    KubernetesClient client = env.client;
    Pod secondPod = Guests.launcherPod(client, NS, second.getMetadata().getUid());
    Node.say(
        "%s restarted: VMI %s in pod %s",
        vm, second.getMetadata().getUid(), secondPod.getMetadata().getName());
    assertThat(secondPod.getMetadata().getName()).isNotEqualTo(first.podName());
    Event event =
        await()
            .atMost(Duration.ofSeconds(60))
            .until(() -> event(client, vm, eventReason), e -> e != null);
    Node.say("%s: Event %s %s: %s", vm, event.getType(), event.getReason(), event.getMessage());
    assertThat(event.getType()).isEqualTo(eventType);
    Node.say("%s: vmpower.io/last-power-event %s", vm, lastPowerEvent(client, vm));
    assertThat(lastPowerEvent(client, vm)).contains(first.uid()).contains(recordReason);
    env.kubectl("delete", "vm", vm, "-n", NS, "--wait=true");
  }

  /** Prints the old pod's termination message (the domain monitor's record) and returns it. */
  private static String say(Started first, String message) {
    Node.say(
        "termination message of %s:%n  %s", first.podName(), message.strip().replace("\n", "\n  "));
    return message;
  }

  private static Event event(KubernetesClient client, String vm, String reason) {
    return Guests.vmEvents(client, NS, vm).stream()
        .filter(e -> reason.equals(e.getReason()))
        .findFirst()
        .orElse(null);
  }

  private static String lastPowerEvent(KubernetesClient client, String vm) {
    Map<String, String> annotations =
        client
            .genericKubernetesResources(Guests.VM)
            .inNamespace(NS)
            .withName(vm)
            .get()
            .getMetadata()
            .getAnnotations();
    return annotations.getOrDefault("vmpower.io/last-power-event", "");
  }
}
