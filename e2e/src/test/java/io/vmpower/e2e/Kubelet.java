package io.vmpower.e2e;

import io.fabric8.kubernetes.api.model.BindingBuilder;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodIP;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * What the suite plays instead of kube-scheduler and the kubelet on two nodes, for the pods
 * virt-controller creates (labelled {@code kubevirt.io=virt-launcher}), and nothing more:
 *
 * <ul>
 *   <li>registers the Nodes {@code node-a} and {@code node-b} ({@code kubevirt.io/schedulable}), as
 *       kubelets and virt-handler's node labeller would;
 *   <li>binds every unbound launcher pod through the {@code binding} subresource, as the scheduler
 *       would: a migration target pod (label {@code kubevirt.io/migrationJobUID}) to the node its
 *       VMI does not run on, every other pod to {@code node-a};
 *   <li>reports a bound pod Running, every container started and ready;
 *   <li>ends containers when asked ({@link #terminate}), with the compute container's termination
 *       message as the kubelet reads it from {@code /dev/termination-log};
 *   <li>finishes a pod that is being deleted: its containers stop (a graceful stop of the launcher
 *       shuts the guest down, which the domain monitor records as {@code guest-shutdown}), then the
 *       pod object is removed, as the kubelet does after the containers exited.
 * </ul>
 */
final class Kubelet implements AutoCloseable {
  static final String NODE_A = "node-a";
  static final String NODE_B = "node-b";
  static final List<String> NODES = List.of(NODE_A, NODE_B);
  static final String LAUNCHER_LABEL = "kubevirt.io";
  static final String MIGRATION_JOB_LABEL = "kubevirt.io/migrationJobUID";

  private final KubernetesClient client;
  private static final Map<String, String> NODE_IPS =
      Map.of(NODE_A, "198.18.0.1", NODE_B, "198.18.0.2");

  /**
   * One thread for everything the node stand-ins do (also virt-handler's): no races between them.
   */
  private final ExecutorService worker =
      Executors.newSingleThreadExecutor(r -> new Thread(r, "node-stand-ins"));

  private final SharedIndexInformer<Pod> informer;
  private final AtomicInteger podIps = new AtomicInteger(10);

  Kubelet(KubernetesClient client) {
    this.client = client;
    for (String node : NODES) {
      registerNode(node);
    }
    informer =
        client
            .pods()
            .inAnyNamespace()
            .withLabel(LAUNCHER_LABEL, "virt-launcher")
            .inform(
                new ResourceEventHandler<>() {
                  @Override
                  public void onAdd(Pod pod) {
                    worker.execute(() -> sync(pod.getMetadata().getNamespace(), name(pod)));
                  }

                  @Override
                  public void onUpdate(Pod old, Pod pod) {
                    worker.execute(() -> sync(pod.getMetadata().getNamespace(), name(pod)));
                  }

                  @Override
                  public void onDelete(Pod pod, boolean unknown) {}
                },
                30_000);
  }

  private void registerNode(String name) {
    client
        .nodes()
        .resource(
            new NodeBuilder()
                .withNewMetadata()
                .withName(name)
                .withLabels(
                    Map.of(
                        "kubernetes.io/hostname",
                        name,
                        "kubernetes.io/os",
                        "linux",
                        "kubernetes.io/arch",
                        "amd64",
                        "kubevirt.io/schedulable",
                        "true"))
                .endMetadata()
                .build())
        .create();
    Suite.say("node %s registered", name);
  }

  /** A node's address (a benchmarking range, never routed: nothing connects to it). */
  static String nodeIp(String node) {
    return NODE_IPS.getOrDefault(node, "198.18.0.9");
  }

  /** The node stand-ins' thread (virt-handler runs on it too). */
  ExecutorService worker() {
    return worker;
  }

  private static String name(Pod pod) {
    return pod.getMetadata().getName();
  }

  /** One step for one pod, from its current state: bind, start, or finish its deletion. */
  private void sync(String ns, String name) {
    try {
      Pod pod = client.pods().inNamespace(ns).withName(name).get();
      if (pod == null) {
        return;
      }
      if (pod.getMetadata().getDeletionTimestamp() != null) {
        finishDeletion(pod);
      } else if (pod.getSpec().getNodeName() == null) {
        bind(pod);
      } else if (pod.getStatus() == null
          || pod.getStatus().getPhase() == null
          || "Pending".equals(pod.getStatus().getPhase())) {
        start(pod);
      }
    } catch (KubernetesClientException e) {
      if (e.getCode() != 404 && e.getCode() != 409) {
        Suite.say("kubelet stand-in: %s/%s: %s", ns, name, e.getMessage());
      }
      if (e.getCode() == 409) {
        worker.execute(() -> sync(ns, name)); // a concurrent write: look again
      }
    } catch (RuntimeException e) {
      Suite.say("kubelet stand-in: %s/%s failed: %s", ns, name, e);
    }
  }

  private void bind(Pod pod) {
    String node = NODE_A;
    if (pod.getMetadata().getLabels().containsKey(MIGRATION_JOB_LABEL)) {
      // the target of a live migration: anywhere but the source (virt-controller's anti-affinity)
      node = NODE_A.equals(sourceNode(pod)) ? NODE_B : NODE_A;
    }
    client
        .bindings()
        .inNamespace(pod.getMetadata().getNamespace())
        .resource(
            new BindingBuilder()
                .withNewMetadata()
                .withName(name(pod))
                .withNamespace(pod.getMetadata().getNamespace())
                .endMetadata()
                .withNewTarget()
                .withKind("Node")
                .withApiVersion("v1")
                .withName(node)
                .endTarget()
                .build())
        .create();
    Suite.say("scheduled pod %s/%s to %s", pod.getMetadata().getNamespace(), name(pod), node);
  }

  /** The node of the pod of the same VMI that is not this one and still running. */
  private String sourceNode(Pod target) {
    String vmiUid = target.getMetadata().getLabels().get("kubevirt.io/created-by");
    return client.pods().inNamespace(target.getMetadata().getNamespace()).list().getItems().stream()
        .filter(
            p ->
                vmiUid != null
                    && vmiUid.equals(p.getMetadata().getLabels().get("kubevirt.io/created-by")))
        .filter(p -> !p.getMetadata().getUid().equals(target.getMetadata().getUid()))
        .filter(p -> p.getSpec().getNodeName() != null)
        .filter(p -> p.getStatus() != null && "Running".equals(p.getStatus().getPhase()))
        .map(p -> p.getSpec().getNodeName())
        .findFirst()
        .orElse(NODE_A);
  }

  private void start(Pod pod) {
    String now = now();
    String node = pod.getSpec().getNodeName();
    String podIp = "198.19.0." + podIps.incrementAndGet();
    editStatus(
        pod,
        p -> {
          p.getStatus().setPhase("Running");
          p.getStatus().setHostIP(nodeIp(node));
          p.getStatus().setPodIP(podIp);
          p.getStatus().setPodIPs(List.of(new PodIP(podIp)));
          p.getStatus().setStartTime(now);
          p.getStatus().setConditions(conditions("True", now));
          List<ContainerStatus> init = new ArrayList<>();
          for (Container c : p.getSpec().getInitContainers()) {
            // a sidecar (restartPolicy Always, e.g. KubeVirt's guest-console-log) keeps running
            // next to the containers; a plain init container has completed
            init.add(sidecar(c) ? running(c, now) : completed(status(c).withReady(true), now, now));
          }
          p.getStatus().setInitContainerStatuses(init);
          List<ContainerStatus> running = new ArrayList<>();
          for (Container c : p.getSpec().getContainers()) {
            running.add(running(c, now));
          }
          p.getStatus().setContainerStatuses(running);
          return p;
        });
    Suite.say("pod %s/%s Running on %s", pod.getMetadata().getNamespace(), name(pod), node);
  }

  /**
   * The containers of a pod end: the compute container with {@code message} as its termination
   * message (null: none written), the others with it; the pod's phase becomes {@code phase}.
   */
  void terminate(Pod pod, String message, String phase) {
    String now = now();
    editStatus(
        pod,
        p -> {
          p.getStatus().setPhase(phase);
          p.getStatus().setConditions(conditions("False", now));
          List<ContainerStatus> ended = new ArrayList<>();
          for (Container c : p.getSpec().getContainers()) {
            boolean compute = "compute".equals(c.getName());
            ended.add(
                status(c)
                    .withReady(false)
                    .withStarted(false)
                    .withNewState()
                    .withNewTerminated()
                    .withExitCode("Failed".equals(phase) ? 1 : 0)
                    .withReason("Failed".equals(phase) ? "Error" : "Completed")
                    .withMessage(compute ? message : null)
                    .withStartedAt(startedAt(p, c.getName(), now))
                    .withFinishedAt(now)
                    .endTerminated()
                    .endState()
                    .build());
          }
          p.getStatus().setContainerStatuses(ended);
          // sidecars stop after the containers
          List<ContainerStatus> init = new ArrayList<>();
          for (ContainerStatus c : p.getStatus().getInitContainerStatuses()) {
            boolean runs = c.getState() != null && c.getState().getRunning() != null;
            init.add(
                runs
                    ? completed(
                        new ContainerStatusBuilder(c).withReady(false).withStarted(false),
                        c.getState().getRunning().getStartedAt(),
                        now)
                    : c);
          }
          p.getStatus().setInitContainerStatuses(init);
          return p;
        });
    Suite.say(
        "pod %s/%s %s (compute message %s)",
        pod.getMetadata().getNamespace(), name(pod), phase, message == null ? "none" : message);
  }

  /** A pod being deleted: stop its containers (a graceful guest shutdown), then remove it. */
  private void finishDeletion(Pod pod) {
    if (!terminated(pod)) {
      terminate(pod, GuestRecords.gracefulStop(pod), "Succeeded");
    }
    client
        .pods()
        .inNamespace(pod.getMetadata().getNamespace())
        .withName(name(pod))
        .withGracePeriod(0)
        .delete();
    Suite.say("pod %s/%s deleted", pod.getMetadata().getNamespace(), name(pod));
  }

  /**
   * Changes a pod's status from its current state; a concurrent write (virt-controller patches
   * launcher pods' metadata) makes the kubelet read again and retry, as its status manager does.
   */
  private void editStatus(Pod pod, UnaryOperator<Pod> change) {
    for (int attempt = 0; ; attempt++) {
      try {
        client
            .pods()
            .inNamespace(pod.getMetadata().getNamespace())
            .withName(name(pod))
            .editStatus(change);
        return;
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409 || attempt >= 10) {
          throw e;
        }
      }
    }
  }

  static boolean terminated(Pod pod) {
    return pod.getStatus() != null
        && pod.getStatus().getContainerStatuses() != null
        && !pod.getStatus().getContainerStatuses().isEmpty()
        && pod.getStatus().getContainerStatuses().stream()
            .allMatch(c -> c.getState() != null && c.getState().getTerminated() != null);
  }

  private static String startedAt(Pod p, String container, String fallback) {
    if (p.getStatus().getContainerStatuses() == null) {
      return fallback;
    }
    return p.getStatus().getContainerStatuses().stream()
        .filter(s -> container.equals(s.getName()))
        .filter(s -> s.getState() != null && s.getState().getRunning() != null)
        .map(s -> s.getState().getRunning().getStartedAt())
        .filter(Objects::nonNull)
        .findFirst()
        .orElse(fallback);
  }

  private static boolean sidecar(Container c) {
    return "Always".equals(c.getRestartPolicy());
  }

  private static ContainerStatus running(Container c, String now) {
    return status(c)
        .withReady(true)
        .withStarted(true)
        .withNewState()
        .withNewRunning()
        .withStartedAt(now)
        .endRunning()
        .endState()
        .build();
  }

  private static ContainerStatus completed(ContainerStatusBuilder c, String started, String now) {
    return c.withNewState()
        .withNewTerminated()
        .withExitCode(0)
        .withReason("Completed")
        .withStartedAt(started)
        .withFinishedAt(now)
        .endTerminated()
        .endState()
        .build();
  }

  private static ContainerStatusBuilder status(Container c) {
    return new ContainerStatusBuilder()
        .withName(c.getName())
        .withImage(c.getImage())
        .withImageID("")
        .withContainerID("containerd://" + Integer.toHexString(c.hashCode()))
        .withRestartCount(0);
  }

  private static List<PodCondition> conditions(String ready, String now) {
    List<PodCondition> conditions = new ArrayList<>();
    for (String type :
        List.of(
            "PodReadyToStartContainers",
            "Initialized",
            "Ready",
            "ContainersReady",
            "PodScheduled")) {
      boolean follows = type.equals("Ready") || type.equals("ContainersReady");
      conditions.add(
          new PodConditionBuilder()
              .withType(type)
              .withStatus(follows ? ready : "True")
              .withLastTransitionTime(now)
              .build());
    }
    return conditions;
  }

  private static String now() {
    return Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
  }

  @Override
  public void close() {
    informer.close();
    worker.shutdownNow();
    try {
      worker.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
