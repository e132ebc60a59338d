package io.vmpower.node;

import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * VMs with the tiny guest (e2e/node/images/guest-image.sh: a kernel and a busybox initramfs booted
 * by KubeVirt's kernelBoot container), and what the tests read about them: VMIs, their
 * virt-launcher pods, the guest's serial console (KubeVirt's guest-console-log container) and the
 * VM's Events.
 */
final class Guests {
  static final ResourceDefinitionContext VM =
      new ResourceDefinitionContext.Builder()
          .withGroup("kubevirt.io")
          .withVersion("v1")
          .withKind("VirtualMachine")
          .withPlural("virtualmachines")
          .withNamespaced(true)
          .build();
  static final ResourceDefinitionContext VMI =
      new ResourceDefinitionContext.Builder()
          .withGroup("kubevirt.io")
          .withVersion("v1")
          .withKind("VirtualMachineInstance")
          .withPlural("virtualmachineinstances")
          .withNamespaced(true)
          .build();
  static final Duration BOOT = Duration.ofMinutes(4);

  private Guests() {}

  /** A namespace enabled for vmpower. */
  static void enabledNamespace(KubernetesClient client, String name) {
    client
        .namespaces()
        .resource(
            new NamespaceBuilder()
                .withNewMetadata()
                .withName(name)
                .addToLabels("vmpower.io/enabled", "true")
                .endMetadata()
                .build())
        .serverSideApply();
  }

  /**
   * A VM manifest: {@code policy} as vmpower's annotation, the guest told by its kernel command
   * line what to do ({@code reboot}, {@code poweroff} after {@code delay} seconds, or {@code
   * wait}), and {@code mark} printed by the guest and set as a template label, so a test sees which
   * spec a boot came from.
   */
  static String vm(
      String namespace, String name, String policy, String action, int delay, String mark) {
    return vm(namespace, name, policy, action, delay, mark, "");
  }

  /**
   * {@link #vm(String, String, String, String, int, String)} with more entries under {@code
   * spec.template.spec.domain.devices}: YAML lines indented by two spaces, such as {@code
   * "panicDevices: [{model: isa}]"}.
   */
  static String vm(
      String namespace,
      String name,
      String policy,
      String action,
      int delay,
      String mark,
      String devices) {
    String extra = devices.lines().map(l -> "\n          " + l).reduce("", String::concat);
    return """
        apiVersion: kubevirt.io/v1
        kind: VirtualMachine
        metadata:
          name: %s
          namespace: %s
          annotations:
            vmpower.io/run-policy: %s
        spec:
          template:
            metadata:
              labels:
                vmpower-test/mark: "%s"
            spec:
              terminationGracePeriodSeconds: 5
              domain:
                resources:
                  requests:
                    memory: 128Mi
                firmware:
                  kernelBoot:
                    kernelArgs: "console=ttyS0 panic=-1 vmpower.action=%s vmpower.delay=%d vmpower.mark=%s"
                    container:
                      image: vmpower.local/vmpower-guest:1
                      imagePullPolicy: Never
                      kernelPath: /boot/vmlinuz
                      initrdPath: /boot/initrd.img
                devices:
                  autoattachPodInterface: false
                  autoattachMemBalloon: false
                  logSerialConsole: true%s
        """
        .formatted(name, namespace, policy, mark, action, delay, mark, extra);
  }

  static GenericKubernetesResource vmi(KubernetesClient client, String namespace, String name) {
    return client.genericKubernetesResources(VMI).inNamespace(namespace).withName(name).get();
  }

  static String phase(GenericKubernetesResource vmi) {
    Object status = vmi == null ? null : vmi.getAdditionalProperties().get("status");
    return status instanceof Map<?, ?> m && m.get("phase") != null ? m.get("phase").toString() : "";
  }

  /** Waits for a Running VMI of that name whose uid is not {@code notUid}; returns it. */
  static GenericKubernetesResource awaitRunning(
      KubernetesClient client, String namespace, String name, String notUid) {
    return await()
        .atMost(BOOT)
        .pollInterval(Duration.ofMillis(250))
        .until(
            () -> vmi(client, namespace, name),
            v ->
                v != null
                    && !v.getMetadata().getUid().equals(notUid)
                    && phase(v).equals("Running"));
  }

  /** The virt-launcher pod of a VMI (KubeVirt labels it with the VMI's uid). */
  static Pod launcherPod(KubernetesClient client, String namespace, String vmiUid) {
    return await()
        .atMost(BOOT)
        .until(
            () ->
                client
                    .pods()
                    .inNamespace(namespace)
                    .withLabel("kubevirt.io/created-by", vmiUid)
                    .list()
                    .getItems()
                    .stream()
                    .findFirst(),
            Optional::isPresent)
        .orElseThrow();
  }

  /** The guest's serial console so far (KubeVirt's guest-console-log container). */
  static String console(KubernetesClient client, String namespace, String pod) {
    try {
      return client
          .pods()
          .inNamespace(namespace)
          .withName(pod)
          .inContainer("guest-console-log")
          .getLog();
    } catch (RuntimeException e) {
      return "";
    }
  }

  static void awaitConsole(KubernetesClient client, String namespace, String pod, String text) {
    await()
        .atMost(BOOT)
        .pollInterval(Duration.ofMillis(500))
        .until(() -> console(client, namespace, pod).contains(text));
  }

  /**
   * The processes of a launcher pod's {@code compute} container, one line each: {@code pid ppid uid
   * argv[0] name}, where name is the first argument starting with {@code vmpower-} (the monitor's
   * {@code $0}), read from /proc through {@code kubectl exec}.
   */
  static List<String> computeProcesses(Node.Env env, String namespace, String pod) {
    String script =
        """
        for d in /proc/[0-9]*; do
          mapfile -d '' -t a < "$d/cmdline" 2>/dev/null || continue
          ((${#a[@]})) || continue
          ppid=$(awk '/^PPid/{print $2}' "$d/status") uid=$(awk '/^Uid/{print $2}' "$d/status")
          name=""
          for x in "${a[@]}"; do [[ "$x" == vmpower-* ]] && { name=$x; break; }; done
          echo "${d#/proc/} $ppid $uid ${a[0]} $name"
        done
        """;
    return env.kubectl("exec", "-n", namespace, pod, "-c", "compute", "--", "bash", "-c", script)
        .lines()
        .toList();
  }

  /**
   * The domain monitor's log lines in a launcher pod: on the container's log for a root launcher
   * (the monitor writes to PID 1's stderr), in its file for a non-root one (PID 1's fds are closed
   * to it).
   */
  static List<String> monitorLog(Node.Env env, String namespace, String pod, boolean rootLauncher) {
    String text =
        rootLauncher
            ? env.kubectl("logs", "-n", namespace, pod, "-c", "compute")
            : env.kubectl(
                "exec",
                "-n",
                namespace,
                pod,
                "-c",
                "compute",
                "--",
                "cat",
                "/var/run/kubevirt-private/vmpower-domain-monitor.log");
    return text.lines()
        .filter(l -> l.contains("\"component\":\"vmpower-domain-monitor\""))
        .toList();
  }

  /**
   * Waits until the domain monitor of a launcher pod says that set-action took effect: from then on
   * a reset or reboot of the guest ends QEMU instead of resetting it in place.
   */
  static void awaitMonitorArmed(Node.Env env, String namespace, Pod pod) {
    boolean rootLauncher = computeUid(pod) == 0;
    await()
        .atMost(BOOT)
        .pollInterval(Duration.ofSeconds(1))
        .ignoreExceptions()
        .until(
            () ->
                monitorLog(env, namespace, pod.getMetadata().getName(), rootLauncher).stream()
                    .anyMatch(l -> l.contains("\"msg\":\"set-action reboot=shutdown applied\"")));
  }

  /** The uid {@code compute} runs as (KubeVirt's default non-root launcher: 107). */
  static long computeUid(Pod pod) {
    return pod.getSpec().getContainers().stream()
        .filter(c -> c.getName().equals("compute"))
        .findFirst()
        .orElseThrow()
        .getSecurityContext()
        .getRunAsUser();
  }

  /** Events on the VM, newest last. */
  static List<Event> vmEvents(KubernetesClient client, String namespace, String vm) {
    return client.v1().events().inNamespace(namespace).list().getItems().stream()
        .filter(e -> "VirtualMachine".equals(e.getInvolvedObject().getKind()))
        .filter(e -> vm.equals(e.getInvolvedObject().getName()))
        .toList();
  }

  /**
   * Watches a pod and keeps the last termination message its {@code compute} container showed: the
   * pod is deleted soon after the VMI ends, so it is read as it happens.
   */
  static final class TerminationMessage implements AutoCloseable {
    private final Map<String, String> seen = new ConcurrentHashMap<>();
    private final Watch watch;

    TerminationMessage(KubernetesClient client, String namespace, String pod) {
      watch =
          client
              .pods()
              .inNamespace(namespace)
              .withName(pod)
              .watch(
                  new Watcher<>() {
                    @Override
                    public void eventReceived(Action action, Pod p) {
                      record(p);
                    }

                    @Override
                    public void onClose(WatcherException cause) {}
                  });
      record(client.pods().inNamespace(namespace).withName(pod).get());
    }

    private void record(Pod p) {
      if (p == null || p.getStatus() == null || p.getStatus().getContainerStatuses() == null) {
        return;
      }
      for (ContainerStatus s : p.getStatus().getContainerStatuses()) {
        if ("compute".equals(s.getName())
            && s.getState() != null
            && s.getState().getTerminated() != null) {
          String message = s.getState().getTerminated().getMessage();
          seen.put("compute", message == null ? "" : message);
        }
      }
    }

    String awaitMessage() {
      return await().atMost(BOOT).until(() -> seen.get("compute"), m -> m != null);
    }

    @Override
    public void close() {
      watch.close();
    }
  }
}
