package io.vmpower.e2e;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * What the suite plays instead of virt-handler (the node agent that runs the domain through
 * virt-launcher and owns a VMI once it is scheduled), and nothing more. It writes VMIs as
 * virt-handler's ServiceAccount {@code kubevirt-handler}: VMIs have no status subresource, and
 * KubeVirt's VMI mutator puts the old status back on an update from anyone else.
 *
 * <ul>
 *   <li>a VMI that virt-controller scheduled (phase Scheduled, {@code status.nodeName}) becomes
 *       Running, with the conditions virt-handler reports for a domain without disks or agent
 *       ({@code LiveMigratable} True);
 *   <li>a VMI being deleted (virtctl stop/restart, runStrategy) is shut down gracefully: its pod's
 *       compute container ends with the monitor's {@code guest-shutdown} record and the VMI becomes
 *       Succeeded;
 *   <li>on request: the guest rebooted or powered off (VMI Succeeded, compute container ended with
 *       the monitor's record), the domain crashed (Failed, no record);
 *   <li>live migration, source and target side: once virt-controller handed the migration to the
 *       nodes ({@code migrationState.targetNode}), the target reports its address, the source
 *       starts; then, on request, it completes (the VMI moves to the target node, the source pod
 *       ends) or fails (the target pod ends, the VMI stays on the source).
 * </ul>
 */
final class VirtHandler implements AutoCloseable {
  static final String SERVICE_ACCOUNT = "kubevirt-handler";

  private final KubernetesClient admin;
  private final KubernetesClient asHandler;
  private final Kubelet kubelet;
  private final ExecutorService worker;
  private final SharedIndexInformer<GenericKubernetesResource> informer;

  VirtHandler(KubernetesClient admin, KubernetesClient asHandler, Kubelet kubelet) {
    this.admin = admin;
    this.asHandler = asHandler;
    this.kubelet = kubelet;
    this.worker = kubelet.worker();
    informer =
        admin
            .genericKubernetesResources(KubeVirtKinds.VMI)
            .inAnyNamespace()
            .inform(
                new ResourceEventHandler<>() {
                  @Override
                  public void onAdd(GenericKubernetesResource vmi) {
                    later(vmi);
                  }

                  @Override
                  public void onUpdate(
                      GenericKubernetesResource old, GenericKubernetesResource vmi) {
                    later(vmi);
                  }

                  @Override
                  public void onDelete(GenericKubernetesResource vmi, boolean unknown) {}
                },
                30_000);
  }

  private void later(GenericKubernetesResource vmi) {
    String ns = vmi.getMetadata().getNamespace();
    String name = vmi.getMetadata().getName();
    worker.execute(() -> sync(ns, name));
  }

  private void sync(String ns, String name) {
    try {
      GenericKubernetesResource vmi = vmi(ns, name);
      if (vmi == null) {
        return;
      }
      String phase = phase(vmi);
      boolean active = "Scheduled".equals(phase) || "Running".equals(phase);
      if (vmi.getMetadata().getDeletionTimestamp() != null) {
        if (active) {
          shutDown(vmi);
        }
      } else if ("Scheduled".equals(phase) && nodeName(vmi) != null) {
        run(vmi);
      } else if ("Running".equals(phase)) {
        progressMigration(vmi);
      }
    } catch (KubernetesClientException e) {
      if (e.getCode() == 409) {
        worker.execute(() -> sync(ns, name));
      } else if (e.getCode() != 404) {
        Suite.say("virt-handler stand-in: %s/%s: %s", ns, name, e.getMessage());
      }
    } catch (RuntimeException e) {
      Suite.say("virt-handler stand-in: %s/%s failed: %s", ns, name, e);
    }
  }

  /** The domain started on the node: the VMI is Running. */
  private void run(GenericKubernetesResource vmi) {
    edit(
        vmi,
        status -> {
          status.put("phase", "Running");
          status.put("migrationMethod", "LiveMigration");
          // a node without SELinux (virt-handler's updateSELinuxContext); virt-controller needs
          // it set before it renders a migration target pod
          status.put("selinuxContext", "none");
          List<Object> conditions = list(status.get("conditions"));
          conditions.removeIf(c -> "LiveMigratable".equals(((Map<?, ?>) c).get("type")));
          conditions.add(condition("LiveMigratable", "True"));
          status.put("conditions", conditions);
        });
    Suite.say("VMI %s Running on %s", key(vmi), nodeName(vmi));
  }

  /** Graceful stop (VMI deleted): the guest is shut down, the VMI Succeeded. */
  private void shutDown(GenericKubernetesResource vmi) {
    currentPod(vmi)
        .filter(p -> !Kubelet.terminated(p))
        .ifPresent(p -> kubelet.terminate(p, GuestRecords.gracefulStop(p), "Succeeded"));
    setPhase(vmi, "Succeeded");
    Suite.say("VMI %s shut down (deleted)", key(vmi));
  }

  /** The guest rebooted: with reboot=shutdown QEMU exits; virt-handler reports Succeeded. */
  void guestReset(String ns, String name) {
    end(ns, name, "Succeeded", GuestRecords::reset);
  }

  /** The guest powered itself off. */
  void guestPowerOff(String ns, String name) {
    end(ns, name, "Succeeded", GuestRecords::powerOff);
  }

  /** The domain crashed (no SHUTDOWN event, so no record): the VMI Failed. */
  void crash(String ns, String name) {
    end(ns, name, "Failed", pod -> null);
  }

  /**
   * QEMU ends with {@code record} (the monitor's termination message of the pod) and {@code phase}.
   */
  void end(String ns, String name, String phase, Function<Pod, String> record) {
    run(
        () -> {
          GenericKubernetesResource vmi = vmi(ns, name);
          Pod pod = currentPod(vmi).orElseThrow(() -> new IllegalStateException("no pod"));
          // virt-handler sees the domain go first; the kubelet reports the exited container after
          setPhase(vmi, phase);
          kubelet.terminate(
              pod, record.apply(pod), "Failed".equals(phase) ? "Failed" : "Succeeded");
          Suite.say("VMI %s %s", key(vmi), phase);
        });
  }

  /**
   * The node is gone and fenced: its pod objects are force-deleted (no kubelet confirms them).
   * virt-controller then fails the VMI itself.
   */
  void loseNodeOf(String ns, String name) {
    run(
        () -> {
          GenericKubernetesResource vmi = vmi(ns, name);
          for (Pod p : pods(vmi)) {
            admin
                .pods()
                .inNamespace(ns)
                .withName(p.getMetadata().getName())
                .withGracePeriod(0)
                .delete();
            Suite.say("pod %s/%s force-deleted (node lost)", ns, p.getMetadata().getName());
          }
        });
  }

  // ---- live migration ----------------------------------------------------------------------

  /** Source and target handler steps up to a running migration. */
  private void progressMigration(GenericKubernetesResource vmi) {
    Map<String, Object> state = map(status(vmi).get("migrationState"));
    if (state.isEmpty()
        || Boolean.TRUE.equals(state.get("completed"))
        || state.get("targetNode") == null) {
      return;
    }
    if (state.get("targetNodeAddress") == null) {
      String target = String.valueOf(state.get("targetNode"));
      edit(
          vmi,
          status -> {
            Map<String, Object> s = map(status.get("migrationState"));
            s.put("targetNodeAddress", Kubelet.nodeIp(target));
            s.put("targetDirectMigrationNodePorts", Map.of("49152", 0, "49153", 49153));
            status.put("migrationState", s);
          });
      Suite.say("VMI %s: migration target on %s prepared", key(vmi), target);
    } else if (state.get("startTimestamp") == null) {
      edit(
          vmi,
          status -> {
            Map<String, Object> s = map(status.get("migrationState"));
            s.put("startTimestamp", now());
            s.put("mode", "PreCopy");
            status.put("migrationState", s);
          });
      Suite.say("VMI %s: migration started by the source", key(vmi));
    }
  }

  /** Waits until the source reports the migration running. */
  void awaitMigrationRunning(String ns, String name) {
    Suite.await(
        "migration of " + ns + "/" + name + " running",
        Duration.ofSeconds(60),
        () -> map(status(vmi(ns, name)).get("migrationState")).get("startTimestamp") != null);
  }

  /** The migration succeeded: the VMI runs on the target node; the source launcher exits. */
  void completeMigration(String ns, String name) {
    run(
        () -> {
          GenericKubernetesResource vmi = vmi(ns, name);
          Map<String, Object> state = map(status(vmi).get("migrationState"));
          String target = String.valueOf(state.get("targetNode"));
          Pod source = currentPod(vmi).orElseThrow();
          edit(
              vmi,
              status -> {
                Map<String, Object> s = map(status.get("migrationState"));
                s.put("targetNodeDomainDetected", true);
                s.put("targetNodeDomainReadyTimestamp", now());
                s.put("completed", true);
                s.put("endTimestamp", now());
                status.put("migrationState", s);
                status.put("nodeName", target);
              },
              labels -> labels.put("kubevirt.io/nodeName", target));
          // libvirt stops the source QEMU with a signal once the guest runs on the target
          kubelet.terminate(source, GuestRecords.migratedAway(source), "Succeeded");
          Suite.say("VMI %s: migration completed, now on %s", key(vmi), target);
        });
  }

  /** The migration failed: the VMI stays on the source; the target launcher exits. */
  void failMigration(String ns, String name) {
    run(
        () -> {
          GenericKubernetesResource vmi = vmi(ns, name);
          Map<String, Object> state = map(status(vmi).get("migrationState"));
          String targetPod = String.valueOf(state.get("targetPod"));
          edit(
              vmi,
              status -> {
                Map<String, Object> s = map(status.get("migrationState"));
                s.put("completed", true);
                s.put("failed", true);
                s.put("endTimestamp", now());
                s.put("failureReason", "e2e: the target stopped answering");
                status.put("migrationState", s);
              });
          Pod target = admin.pods().inNamespace(ns).withName(targetPod).get();
          kubelet.terminate(target, GuestRecords.migratedAway(target), "Succeeded");
          Suite.say("VMI %s: migration failed, target pod %s ended", key(vmi), targetPod);
        });
  }

  // ---- helpers -----------------------------------------------------------------------------

  /** Runs an action on the stand-in's thread, so it never races with its own reactions. */
  private void run(Runnable action) {
    try {
      worker.submit(action).get(60, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private GenericKubernetesResource vmi(String ns, String name) {
    return admin.genericKubernetesResources(KubeVirtKinds.VMI).inNamespace(ns).withName(name).get();
  }

  /** The VMI's pods (virt-controller labels them with the VMI's uid). */
  List<Pod> pods(GenericKubernetesResource vmi) {
    return admin
        .pods()
        .inNamespace(vmi.getMetadata().getNamespace())
        .withLabel("kubevirt.io/created-by", vmi.getMetadata().getUid())
        .list()
        .getItems();
  }

  /** The pod that runs the domain now: the one on the VMI's node that has not ended. */
  Optional<Pod> currentPod(GenericKubernetesResource vmi) {
    String node = nodeName(vmi);
    return pods(vmi).stream()
        .filter(p -> node == null || node.equals(p.getSpec().getNodeName()))
        .filter(p -> p.getStatus() != null && "Running".equals(p.getStatus().getPhase()))
        .max(Comparator.comparing(p -> p.getMetadata().getCreationTimestamp()));
  }

  private void setPhase(GenericKubernetesResource vmi, String phase) {
    edit(vmi, status -> status.put("phase", phase));
  }

  private void edit(GenericKubernetesResource vmi, Consumer<Map<String, Object>> status) {
    edit(vmi, status, labels -> {});
  }

  /** Read-modify-write of the VMI as kubevirt-handler, retried on conflicts. */
  private void edit(
      GenericKubernetesResource vmi,
      Consumer<Map<String, Object>> status,
      Consumer<Map<String, String>> labels) {
    String ns = vmi.getMetadata().getNamespace();
    String name = vmi.getMetadata().getName();
    for (int attempt = 0; ; attempt++) {
      // virt-handler may list and watch VMIs, not get them: read as admin (its informer cache),
      // write as kubevirt-handler with the resourceVersion read
      GenericKubernetesResource current = vmi(ns, name);
      Map<String, Object> s =
          new LinkedHashMap<>(map(current.getAdditionalProperties().get("status")));
      status.accept(s);
      current.getAdditionalProperties().put("status", s);
      Map<String, String> l =
          new HashMap<>(
              current.getMetadata().getLabels() == null
                  ? Map.of()
                  : current.getMetadata().getLabels());
      labels.accept(l);
      current.getMetadata().setLabels(l);
      try {
        asHandler
            .genericKubernetesResources(KubeVirtKinds.VMI)
            .inNamespace(ns)
            .resource(current)
            .update();
        return;
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409 || attempt >= 10) {
          throw e;
        }
      }
    }
  }

  /**
   * A VMI condition as virt-handler's Go structs serialize it (both times present, the probe time
   * null): virt-controller patches conditions with a JSON-patch "test" of what it read, which fails
   * on any other shape.
   */
  private static Map<String, Object> condition(String type, String status) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("type", type);
    c.put("status", status);
    c.put("lastProbeTime", null);
    c.put("lastTransitionTime", now());
    return c;
  }

  static Map<String, Object> status(GenericKubernetesResource vmi) {
    return map(vmi.getAdditionalProperties().get("status"));
  }

  static String phase(GenericKubernetesResource vmi) {
    Object p = status(vmi).get("phase");
    return p instanceof String s ? s : "";
  }

  static String nodeName(GenericKubernetesResource vmi) {
    Object n = status(vmi).get("nodeName");
    return n instanceof String s && !s.isEmpty() ? s : null;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object o) {
    return o instanceof Map<?, ?> m
        ? new LinkedHashMap<>((Map<String, Object>) m)
        : new LinkedHashMap<>();
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Object o) {
    return o instanceof List<?> l ? new ArrayList<>((List<Object>) l) : new ArrayList<>();
  }

  private static String key(GenericKubernetesResource vmi) {
    return vmi.getMetadata().getNamespace() + "/" + vmi.getMetadata().getName();
  }

  private static String now() {
    return Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
  }

  @Override
  public void close() {
    informer.close();
  }
}
