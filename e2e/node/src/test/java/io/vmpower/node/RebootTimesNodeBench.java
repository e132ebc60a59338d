package io.vmpower.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Figures users care about (BENCHMARKS.md, "Guest reboot on a real node"): from the guest's own
 * {@code reboot -f} to the new VMI Running and to the guest booted again, over N reboots of a guest
 * that reboots 5 s after each boot, with vmpower (Manual) and with KubeVirt's own answer
 * (rebootPolicy Terminate + runStrategy Always, feature gate RebootPolicy) on the same node; and
 * vmpower's share: from the domain monitor's record being visible in the API (the old pod's compute
 * container terminated) to vmpower's start request (its log line). Not part of the suite: run with
 * {@code -Dit.test=RebootTimesNodeBench}; {@code -Dvmpower.node.reboots=N} (default 10).
 *
 * <p>Times: the guest's console lines carry the container runtime's timestamps (this machine's
 * clock, when virt-tail forwarded the line), VMI Running is when this JVM's watch saw it.
 */
@ExtendWith(Node.class)
class RebootTimesNodeBench {
  private static final int REBOOTS = Integer.getInteger("vmpower.node.reboots", 10);
  private static final Pattern TIMESTAMPED = Pattern.compile("^(\\S+) (.*)$");
  private static final Pattern VMPOWER_TS = Pattern.compile("\"@timestamp\":\"([^\"]+)\"");

  @Test
  void guestRebootToRunningAndBootedAgain() {
    KubernetesClient client = Node.env().client;
    Guests.enabledNamespace(client, "bench-vmpower");
    client
        .namespaces()
        .resource(
            new NamespaceBuilder()
                .withNewMetadata()
                .withName("bench-kubevirt")
                .endMetadata()
                .build())
        .serverSideApply();
    // A guest that reboots 5 s after every boot is a boot loop to restart-loop protection (backoff
    // from the second restart, give-up after the fifth): measure the restart itself, with every
    // run counted as healthy, and put the chart's settings back afterwards.
    restartLoopProtection("VMPOWER_CONTROLLER_RESTARTBACKOFFRESET=1s");
    Node.env().kubectlApply(Guests.vm("bench-vmpower", "bench", "Manual", "reboot", 5, "bench"));
    Node.env().virtctl("start", "bench", "-n", "bench-vmpower");
    Series vmpower = measure(client, "bench-vmpower", "bench", true);
    Node.env().kubectl("delete", "vm", "bench", "-n", "bench-vmpower", "--wait=true");
    restartLoopProtection("VMPOWER_CONTROLLER_RESTARTBACKOFFRESET-");

    String kubevirtOwn =
        Guests.vm("bench-kubevirt", "bench", "Manual", "reboot", 5, "bench")
            .replace("    vmpower.io/run-policy: Manual\n", "    kubevirt.io/bench: own\n")
            .replace("spec:\n  template:", "spec:\n  runStrategy: Always\n  template:")
            .replace("      domain:\n", "      domain:\n        rebootPolicy: Terminate\n");
    assertThat(kubevirtOwn).contains("rebootPolicy: Terminate").contains("runStrategy: Always");
    Node.env().kubectlApply(kubevirtOwn);
    Series kubevirt = measure(client, "bench-kubevirt", "bench", false);
    Node.env().kubectl("delete", "vm", "bench", "-n", "bench-kubevirt", "--wait=true");

    Node.say(
        "guest reboot -> new VMI Running: vmpower %s | KubeVirt rebootPolicy Terminate %s",
        stats(vmpower.toRunning), stats(kubevirt.toRunning));
    Node.say(
        "guest reboot -> guest booted again: vmpower %s | KubeVirt rebootPolicy Terminate %s",
        stats(vmpower.toBooted), stats(kubevirt.toBooted));
    Node.say("vmpower: record visible -> start request %s", stats(vmpower.vmpowerShare));
    assertThat(vmpower.toRunning).hasSize(REBOOTS);
    assertThat(kubevirt.toRunning).hasSize(REBOOTS);
  }

  private record Series(
      List<Duration> toRunning, List<Duration> toBooted, List<Duration> vmpowerShare) {}

  private static Series measure(KubernetesClient client, String ns, String vm, boolean vmpower) {
    Map<String, Instant> runningSeen = new ConcurrentHashMap<>();
    Map<String, Instant> recordSeen = new ConcurrentHashMap<>();
    Watch vmis =
        client
            .genericKubernetesResources(Guests.VMI)
            .inNamespace(ns)
            .watch(
                new Watcher<>() {
                  @Override
                  public void eventReceived(Action action, GenericKubernetesResource vmi) {
                    if (Guests.phase(vmi).equals("Running")) {
                      runningSeen.putIfAbsent(vmi.getMetadata().getUid(), Instant.now());
                    }
                  }

                  @Override
                  public void onClose(WatcherException cause) {}
                });
    Watch pods =
        client
            .pods()
            .inNamespace(ns)
            .watch(
                new Watcher<>() {
                  @Override
                  public void eventReceived(Action action, Pod pod) {
                    if (pod.getStatus() != null
                        && pod.getStatus().getContainerStatuses() != null
                        && pod.getStatus().getContainerStatuses().stream()
                            .anyMatch(
                                s ->
                                    s.getName().equals("compute")
                                        && s.getState().getTerminated() != null)) {
                      String vmiUid = pod.getMetadata().getLabels().get("kubevirt.io/created-by");
                      recordSeen.putIfAbsent(vmiUid, Instant.now());
                    }
                  }

                  @Override
                  public void onClose(WatcherException cause) {}
                });
    List<Duration> toRunning = new ArrayList<>();
    List<Duration> toBooted = new ArrayList<>();
    List<Duration> share = new ArrayList<>();
    try {
      GenericKubernetesResource current = Guests.awaitRunning(client, ns, vm, "");
      Pod pod = Guests.launcherPod(client, ns, current.getMetadata().getUid());
      for (int i = 0; i < REBOOTS; i++) {
        String uid = current.getMetadata().getUid();
        String podName = pod.getMetadata().getName();
        // Read while the pod exists: it is deleted soon after the VMI ends.
        Instant reboot =
            org.awaitility.Awaitility.await()
                .atMost(Guests.BOOT)
                .pollInterval(Duration.ofMillis(300))
                .until(
                    () -> consoleTime(client, ns, podName, "vmpower-guest-reboot"),
                    Optional::isPresent)
                .orElseThrow();
        GenericKubernetesResource next = Guests.awaitRunning(client, ns, vm, uid);
        Pod nextPod = Guests.launcherPod(client, ns, next.getMetadata().getUid());
        Guests.awaitConsole(client, ns, nextPod.getMetadata().getName(), "vmpower-guest-up");
        Instant booted =
            consoleTime(client, ns, nextPod.getMetadata().getName(), "vmpower-guest-up")
                .orElseThrow();
        toRunning.add(Duration.between(reboot, runningSeen.get(next.getMetadata().getUid())));
        toBooted.add(Duration.between(reboot, booted));
        if (vmpower) {
          startLogged(client, uid)
              .ifPresent(start -> share.add(Duration.between(recordSeen.get(uid), start)));
        }
        Node.say(
            "%s reboot %d: -> Running %d ms, -> booted %d ms",
            ns, i + 1, toRunning.get(i).toMillis(), toBooted.get(i).toMillis());
        current = next;
        pod = nextPod;
      }
    } finally {
      vmis.close();
      pods.close();
    }
    return new Series(toRunning, toBooted, share);
  }

  /** The container runtime's timestamp of the first console line containing {@code text}. */
  private static Optional<Instant> consoleTime(
      KubernetesClient client, String ns, String pod, String text) {
    String log;
    try {
      log =
          client
              .pods()
              .inNamespace(ns)
              .withName(pod)
              .inContainer("guest-console-log")
              .usingTimestamps()
              .getLog();
    } catch (RuntimeException e) {
      return Optional.empty();
    }
    for (String line : log.split("\n")) {
      Matcher m = TIMESTAMPED.matcher(line);
      if (m.matches() && m.group(2).contains(text)) {
        return Optional.of(Instant.parse(m.group(1)));
      }
    }
    return Optional.empty();
  }

  /** vmpower's log line for the start request of that VMI (any of its pods). */
  private static Optional<Instant> startLogged(KubernetesClient client, String vmiUid) {
    for (Pod p : client.pods().inNamespace(Node.RELEASE_NAMESPACE).list().getItems()) {
      String log =
          client
              .pods()
              .inNamespace(Node.RELEASE_NAMESPACE)
              .withName(p.getMetadata().getName())
              .getLog();
      for (String line : log.split("\n")) {
        if (line.contains("start for VMI " + vmiUid)) {
          Matcher m = VMPOWER_TS.matcher(line);
          if (m.find()) {
            return Optional.of(java.time.OffsetDateTime.parse(m.group(1)).toInstant());
          }
        }
      }
    }
    return Optional.empty();
  }

  /** {@code kubectl set env} on vmpower's Deployment, and its rollout. */
  private static void restartLoopProtection(String env) {
    String deployment = "deployment/" + Node.RELEASE;
    Node.env().kubectl("set", "env", deployment, "-n", Node.RELEASE_NAMESPACE, env);
    Node.env()
        .kubectl("rollout", "status", deployment, "-n", Node.RELEASE_NAMESPACE, "--timeout=180s");
  }

  private static String stats(List<Duration> values) {
    if (values.isEmpty()) {
      return "n=0";
    }
    List<Long> ms = new ArrayList<>(values.stream().map(Duration::toMillis).toList());
    Collections.sort(ms);
    return String.format(
        "n=%d p50=%d ms p99=%d ms min=%d ms max=%d ms",
        ms.size(), percentile(ms, 50), percentile(ms, 99), ms.get(0), ms.get(ms.size() - 1));
  }

  private static long percentile(List<Long> sorted, int p) {
    int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(index, sorted.size() - 1)));
  }
}
