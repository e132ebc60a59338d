package io.vmpower.controller.testing;

import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.dsl.HttpMethod;
import io.fabric8.mockwebserver.http.MockResponse;
import io.vmpower.api.Keys;
import io.vmpower.api.RunPolicy;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;

/**
 * A scripted stand-in for KubeVirt: creates VMs, runs them (a VMI and its virt-launcher pod), makes
 * their guests reboot, power off or crash (pod termination messages and VMI phases, as virt-handler
 * and the kubelet would), and answers the start subresource like virt-api (same status codes and
 * messages), replacing the final VMI by a new one shortly after, like virt-controller.
 */
public final class FakeKubeVirt implements AutoCloseable {
  public static final String RESET_MESSAGE =
      "{\"source\":\"vmpower\",\"event\":\"SHUTDOWN\",\"guest\":true,\"reason\":\"guest-reset\",\"timestamp\":\"2026-11-01T10:00:00Z\"}\n"
          + "{\"source\":\"vmpower\",\"event\":\"SHUTDOWN\",\"guest\":false,\"reason\":\"host-signal\",\"timestamp\":\"2026-11-01T10:00:00Z\"}";
  public static final String SHUTDOWN_MESSAGE =
      "{\"source\":\"vmpower\",\"event\":\"SHUTDOWN\",\"guest\":true,\"reason\":\"guest-shutdown\",\"timestamp\":\"2026-11-01T10:00:00Z\"}";

  private static final ResourceDefinitionContext VM = MockCluster.VM;
  private static final ResourceDefinitionContext VMI = MockCluster.VMI;

  private final ScriptedDispatcher dispatcher;
  private final KubernetesClient client;
  private final ScheduledExecutorService controller =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "fake-virt-controller");
            t.setDaemon(true);
            return t;
          });
  private final Map<String, AtomicInteger> startRequests = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> starts = new ConcurrentHashMap<>();
  private final Map<String, List<Instant>> startTimes = new ConcurrentHashMap<>();
  private final Map<String, long[]> lastStartRequest = new ConcurrentHashMap<>();
  private final AtomicInteger podCounter = new AtomicInteger();
  private final AtomicInteger preloaded = new AtomicInteger();
  private final Instant epoch = Instant.now().minusSeconds(86_400);
  private volatile Duration replaceDelay = Duration.ofMillis(100);

  FakeKubeVirt(ScriptedDispatcher dispatcher, KubernetesClient client) {
    this.dispatcher = dispatcher;
    this.client = client;
    dispatcher.onStart(this::virtApiStart);
  }

  /** How long virt-controller takes to replace a VMI after an accepted start. */
  public void replaceDelay(Duration delay) {
    this.replaceDelay = delay;
  }

  // ---- setup -------------------------------------------------------------------------------

  /** A VM with the policy annotation and the runStrategy the VM webhook would have set. */
  public GenericKubernetesResource createVm(
      String ns, String name, String policy, Map<String, String> annotations) {
    GenericKubernetesResource vm = vmObject(ns, name, policy, annotations);
    return client.genericKubernetesResources(VM).inNamespace(ns).resource(vm).create();
  }

  private static GenericKubernetesResource vmObject(
      String ns, String name, String policy, Map<String, String> annotations) {
    Map<String, String> all = new HashMap<>(annotations);
    String strategy = "Manual";
    if (policy != null) {
      all.put(Keys.RUN_POLICY, policy);
      strategy = RunPolicy.parse(policy).orElseThrow().policy().runStrategy();
    }
    return new GenericKubernetesResourceBuilder()
        .withApiVersion("kubevirt.io/v1")
        .withKind("VirtualMachine")
        .withNewMetadata()
        .withNamespace(ns)
        .withName(name)
        .withAnnotations(all)
        .endMetadata()
        .withAdditionalProperties(
            Map.of(
                "spec",
                Map.of(
                    "runStrategy",
                    strategy,
                    "template",
                    Map.of(
                        "metadata",
                        Map.of(
                            "labels",
                            policy == null ? Map.of() : Map.of(Keys.RUN_POLICY, policy))))))
        .build();
  }

  /** Starts the VM: a Running VMI and its (injected) virt-launcher pod. */
  public GenericKubernetesResource run(String ns, String name) {
    return run(ns, name, true);
  }

  public GenericKubernetesResource run(String ns, String name, boolean injected) {
    GenericKubernetesResource vmi = vmiObject(vm(ns, name));
    vmi = client.genericKubernetesResources(VMI).inNamespace(ns).resource(vmi).create();
    newPod(vmi, injected, FIRST_NODE);
    return vmi;
  }

  /** The node every VMI starts on; migrations move it to {@code node-2}, {@code node-3}, … */
  public static final String FIRST_NODE = "node-1";

  private final AtomicInteger nodes = new AtomicInteger(1);

  private static GenericKubernetesResource vmiObject(GenericKubernetesResource vm) {
    String ns = vm.getMetadata().getNamespace();
    String name = vm.getMetadata().getName();
    return new GenericKubernetesResourceBuilder()
        .withApiVersion("kubevirt.io/v1")
        .withKind("VirtualMachineInstance")
        .withNewMetadata()
        .withNamespace(ns)
        .withName(name)
        .withLabels(templateLabels(vm))
        .withOwnerReferences(
            new OwnerReferenceBuilder()
                .withApiVersion("kubevirt.io/v1")
                .withKind("VirtualMachine")
                .withName(name)
                .withUid(vm.getMetadata().getUid())
                .withController(true)
                .build())
        .endMetadata()
        .withAdditionalProperties(
            Map.of(
                "status",
                Map.of(
                    "phase",
                    "Running",
                    "nodeName",
                    FIRST_NODE,
                    "phaseTransitionTimestamps",
                    List.of(transition("Running")))))
        .build();
  }

  /** A {@code status.phaseTransitionTimestamps} entry for now, at second precision as KubeVirt. */
  private static Map<String, String> transition(String phase) {
    return Map.of(
        "phase",
        phase,
        "phaseTransitionTimestamp",
        Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
  }

  /** A new virt-launcher pod for the VMI, Running (a VMI's first pod or a migration target). */
  public Pod newPod(GenericKubernetesResource vmi, boolean injected) {
    return newPod(vmi, injected, FIRST_NODE);
  }

  /** A new virt-launcher pod for the VMI on {@code node}, Running. */
  public Pod newPod(GenericKubernetesResource vmi, boolean injected, String node) {
    Pod pod = podObject(vmi, injected);
    pod.getSpec().setNodeName(node);
    return client.pods().inNamespace(pod.getMetadata().getNamespace()).resource(pod).create();
  }

  private Pod podObject(GenericKubernetesResource vmi, boolean injected) {
    String ns = vmi.getMetadata().getNamespace();
    int n = podCounter.incrementAndGet();
    Map<String, String> labels = new HashMap<>(templateLabelsOf(vmi));
    labels.put(Keys.KUBEVIRT_APP, Keys.KUBEVIRT_APP_LAUNCHER);
    labels.put("kubevirt.io/created-by", vmi.getMetadata().getUid());
    labels.put("vm.kubevirt.io/name", vmi.getMetadata().getName());
    Pod pod =
        new PodBuilder()
            .withNewMetadata()
            .withNamespace(ns)
            .withName("virt-launcher-" + vmi.getMetadata().getName() + "-" + n)
            .withLabels(labels)
            .withAnnotations(injected ? Map.of(Keys.INJECTION_STATUS, "{\"version\":1}") : Map.of())
            .withCreationTimestamp(epoch.plusSeconds(n).toString())
            .withOwnerReferences(
                new OwnerReferenceBuilder()
                    .withApiVersion("kubevirt.io/v1")
                    .withKind("VirtualMachineInstance")
                    .withName(vmi.getMetadata().getName())
                    .withUid(vmi.getMetadata().getUid())
                    .withController(true)
                    .build())
            .endMetadata()
            .withNewSpec()
            .addNewContainer()
            .withName(Keys.COMPUTE_CONTAINER)
            .withImage("virt-launcher")
            .endContainer()
            .endSpec()
            .withNewStatus()
            .withPhase("Running")
            .withContainerStatuses(
                new ContainerStatusBuilder()
                    .withName(Keys.COMPUTE_CONTAINER)
                    .withNewState()
                    .withNewRunning()
                    .endRunning()
                    .endState()
                    .build())
            .endStatus()
            .build();
    return pod;
  }

  /**
   * A running managed VM (VM, VMI, injected pod) written straight into the mock server's store,
   * without requests or watch events: how the scale benchmark fills the cluster before the
   * controller starts (creating 30,000 objects over HTTP takes the mock server, which scans its
   * whole store per request, far too long). Returns the pod's name.
   */
  public String preload(String ns, String name, String policy) {
    int n = preloaded.incrementAndGet();
    GenericKubernetesResource vm = vmObject(ns, name, policy, Map.of());
    stamp(vm, n, 'a');
    dispatcher.store("/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachines", vm);
    GenericKubernetesResource vmi = vmiObject(vm);
    stamp(vmi, n, 'b');
    dispatcher.store("/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachineinstances", vmi);
    Pod pod = podObject(vmi, true);
    stamp(pod, n, 'c');
    dispatcher.store("/api/v1/namespaces/" + ns + "/pods", pod);
    return pod.getMetadata().getName();
  }

  /** What the API server adds on create. */
  private void stamp(io.fabric8.kubernetes.api.model.HasMetadata o, int n, char kind) {
    var m = o.getMetadata();
    m.setUid(String.format("%08x-0000-4000-8000-%c%011d", n, kind, n));
    m.setResourceVersion("1");
    if (m.getCreationTimestamp() == null) {
      m.setCreationTimestamp(epoch.toString());
    }
    m.setGeneration(1L);
  }

  // ---- what guests and the infrastructure do -----------------------------------------------

  /** The guest rebooted: QEMU exits, the monitor's message says guest-reset, the VMI Succeeded. */
  public void guestReset(String ns, String name) {
    end(ns, name, RESET_MESSAGE, "Succeeded");
  }

  /** The guest powered off. */
  public void guestShutdown(String ns, String name) {
    end(ns, name, SHUTDOWN_MESSAGE, "Succeeded");
  }

  /**
   * The compute container of the pod that runs the VMI ends with {@code message} (null: no message)
   * and the VMI goes final.
   */
  public void end(String ns, String name, String message, String vmiPhase) {
    terminatePod(activePod(ns, name), message);
    setVmiPhase(ns, name, vmiPhase);
  }

  /** The node went away: the pod is gone, virt-controller marks the VMI Failed. */
  public void podLost(String ns, String name) {
    pods(ns, name).forEach(p -> client.pods().inNamespace(ns).resource(p).delete());
    setVmiPhase(ns, name, "Failed");
  }

  /** The VMI's phase, with its transition time recorded as KubeVirt does. */
  public void setVmiPhase(String ns, String name, String phase) {
    GenericKubernetesResource vmi = vmi(ns, name);
    List<Object> transitions = new ArrayList<>();
    if (vmi.get("status", "phaseTransitionTimestamps") instanceof List<?> l) {
      transitions.addAll(l);
    }
    transitions.add(transition(phase));
    patchVmiStatus(ns, name, Map.of("phase", phase, "phaseTransitionTimestamps", transitions));
  }

  private void patchVmiStatus(String ns, String name, Map<String, Object> status) {
    client
        .genericKubernetesResources(VMI)
        .inNamespace(ns)
        .withName(name)
        .patch(
            PatchContext.of(PatchType.JSON_MERGE), Serialization.asJson(Map.of("status", status)));
  }

  /** The compute container terminated, with the termination message the kubelet read. */
  public void terminatePod(Pod pod, String message) {
    terminatePod(pod, message, "Succeeded");
  }

  private void terminatePod(Pod pod, String message, String phase) {
    Pod done =
        new PodBuilder(pod)
            .editStatus()
            .withPhase(phase)
            .withContainerStatuses(
                new ContainerStatusBuilder()
                    .withName(Keys.COMPUTE_CONTAINER)
                    .withNewState()
                    .withNewTerminated()
                    .withExitCode(0)
                    .withReason("Completed")
                    .withMessage(message)
                    .endTerminated()
                    .endState()
                    .build())
            .endStatus()
            .build();
    client.pods().inNamespace(pod.getMetadata().getNamespace()).resource(done).updateStatus();
  }

  /**
   * Live migration: a target pod starts on another node, the source pod completes, the VMI keeps
   * running on the target's node ({@code status.nodeName}, {@code status.migrationState}).
   */
  public Pod migrate(String ns, String name, String sourceMessage) {
    Pod source = activePod(ns, name);
    String node = "node-" + nodes.incrementAndGet();
    Pod target = newPod(vmi(ns, name), true, node);
    terminatePod(source, sourceMessage);
    patchVmiStatus(
        ns,
        name,
        Map.of(
            "nodeName",
            node,
            "migrationState",
            migrationState(source, target, "migration-" + node, false)));
    return target;
  }

  /**
   * A live migration that failed: its target pod (newer than the source, labelled with the
   * migration's uid) ends without a guest, the VMI runs on in the source pod.
   */
  public Pod failedMigration(String ns, String name) {
    Pod source = activePod(ns, name);
    String node = "node-" + nodes.incrementAndGet();
    String uid = "migration-" + node;
    Pod target = podObject(vmi(ns, name), true);
    target.getSpec().setNodeName(node);
    target.getMetadata().getLabels().put(Keys.KUBEVIRT_MIGRATION_JOB, uid);
    target = client.pods().inNamespace(ns).resource(target).create();
    terminatePod(target, "", "Failed");
    patchVmiStatus(ns, name, Map.of("migrationState", migrationState(source, target, uid, true)));
    return target;
  }

  private static Map<String, Object> migrationState(
      Pod source, Pod target, String uid, boolean failed) {
    return Map.of(
        "sourcePod",
        source.getMetadata().getName(),
        "targetPod",
        target.getMetadata().getName(),
        "sourceNode",
        source.getSpec().getNodeName(),
        "targetNode",
        target.getSpec().getNodeName(),
        "migrationUid",
        uid,
        "completed",
        true,
        "failed",
        failed);
  }

  /** The pod that runs the VMI: the newest on its {@code status.nodeName}. */
  public Pod activePod(String ns, String vmName) {
    GenericKubernetesResource vmi = vmiOrNull(ns, vmName);
    Object node = vmi == null ? null : vmi.get("status", "nodeName");
    return pods(ns, vmName).stream()
        .filter(p -> node == null || node.equals(p.getSpec().getNodeName()))
        .max(Comparator.comparing(p -> Instant.parse(p.getMetadata().getCreationTimestamp())))
        .orElseGet(() -> newestPod(ns, vmName));
  }

  /**
   * {@code virtctl stop}: a stop request on the VM, the VMI deleted; the guest is asked to power
   * off, so the pod ends with guest-shutdown and the VMI Succeeded while it is being deleted.
   */
  public void virtctlStop(String ns, String name) {
    GenericKubernetesResource vmi = vmi(ns, name);
    patchVmStatus(
        ns,
        name,
        "{\"status\":{\"stateChangeRequests\":[{\"action\":\"Stop\",\"uid\":\""
            + vmi.getMetadata().getUid()
            + "\"}]}}");
    client
        .genericKubernetesResources(VMI)
        .inNamespace(ns)
        .withName(name)
        .patch(
            PatchContext.of(PatchType.JSON_MERGE),
            "{\"metadata\":{\"finalizers\":[\"kubevirt.io/virtualMachineControllerFinalize\"]}}");
    client.genericKubernetesResources(VMI).inNamespace(ns).withName(name).delete();
    end(ns, name, SHUTDOWN_MESSAGE, "Succeeded");
    client
        .genericKubernetesResources(VMI)
        .inNamespace(ns)
        .withName(name)
        .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"finalizers\":null}}");
    pods(ns, name).forEach(p -> client.pods().inNamespace(ns).resource(p).delete());
    patchVmStatus(ns, name, "{\"status\":{\"stateChangeRequests\":null}}");
  }

  // ---- virt-api and virt-controller --------------------------------------------------------

  /** virt-api's StartVMRequestHandler, for the strategies vmpower uses. Runs on the event loop. */
  private MockResponse virtApiStart(Matcher path) {
    String ns = path.group(1);
    String name = path.group(2);
    lastStartRequest.put(ns + "/" + name, new long[] {System.nanoTime(), dispatcher.crudNanos()});
    startRequests.computeIfAbsent(ns + "/" + name, k -> new AtomicInteger()).incrementAndGet();
    MockResponse vmResponse = dispatcher.call(HttpMethod.GET, vmPath(ns, name), null, null);
    if (vmResponse.code() == 404) {
      return ScriptedDispatcher.status(
          404, "virtualmachine.kubevirt.io \"" + name + "\" not found");
    }
    GenericKubernetesResource vm = read(vmResponse);
    MockResponse vmiResponse = dispatcher.call(HttpMethod.GET, vmiPath(ns, name), null, null);
    GenericKubernetesResource vmi = vmiResponse.code() == 200 ? read(vmiResponse) : null;
    String phase = vmi == null ? "" : String.valueOf(vmi.<Object>get("status", "phase"));
    boolean finalVmi = "Succeeded".equals(phase) || "Failed".equals(phase);
    if (vmi != null && !finalVmi && !phase.isEmpty() && !"Unknown".equals(phase)) {
      return conflict(name, "VM is already running");
    }
    String strategy = vm.get("spec", "runStrategy");
    if ("Always".equals(strategy) || "Once".equals(strategy)) {
      return conflict(name, strategy + " does not support manual start requests");
    }
    Object pending = vm.get("status", "stateChangeRequests");
    if (pending instanceof List<?> l && !l.isEmpty()) {
      return ScriptedDispatcher.status(
          500, "Internal error occurred: unable to complete request: stop/start already underway");
    }
    String requests =
        finalVmi
            ? "[{\"action\":\"Stop\",\"uid\":\""
                + vmi.getMetadata().getUid()
                + "\"},{\"action\":\"Start\"}]"
            : "[{\"action\":\"Start\"}]";
    dispatcher.call(
        HttpMethod.PATCH,
        vmPath(ns, name) + "/status",
        "application/merge-patch+json",
        "{\"status\":{\"stateChangeRequests\":" + requests + "}}");
    starts.computeIfAbsent(ns + "/" + name, k -> new AtomicInteger()).incrementAndGet();
    startTimes
        .computeIfAbsent(ns + "/" + name, k -> new java.util.concurrent.CopyOnWriteArrayList<>())
        .add(Instant.now());
    controller.schedule(() -> replace(ns, name), replaceDelay.toMillis(), TimeUnit.MILLISECONDS);
    return new MockResponse().setResponseCode(202);
  }

  /** virt-controller: honour the stop request (delete the final VMI), then start a new VMI. */
  private void replace(String ns, String name) {
    try {
      GenericKubernetesResource old = vmiOrNull(ns, name);
      if (old != null) {
        pods(ns, name).forEach(p -> client.pods().inNamespace(ns).resource(p).delete());
        client.genericKubernetesResources(VMI).inNamespace(ns).withName(name).delete();
      }
      run(ns, name);
      patchVmStatus(ns, name, "{\"status\":{\"stateChangeRequests\":null}}");
    } catch (RuntimeException e) {
      // A test that ended meanwhile; nothing to clean up here.
    }
  }

  private void patchVmStatus(String ns, String name, String patch) {
    client
        .genericKubernetesResources(VM)
        .inNamespace(ns)
        .withName(name)
        .subresource("status")
        .patch(PatchContext.of(PatchType.JSON_MERGE), patch);
  }

  private static MockResponse conflict(String name, String message) {
    return ScriptedDispatcher.status(
        409,
        "Operation cannot be fulfilled on virtualmachine.kubevirt.io \"" + name + "\": " + message);
  }

  // ---- observations ------------------------------------------------------------------------

  /** Start requests virt-api accepted (each one replaces the VMI): the user-visible starts. */
  public int starts(String ns, String name) {
    AtomicInteger n = starts.get(ns + "/" + name);
    return n == null ? 0 : n.get();
  }

  /** When virt-api accepted each start of the VM, oldest first. */
  public List<Instant> startTimes(String ns, String name) {
    return List.copyOf(startTimes.getOrDefault(ns + "/" + name, List.of()));
  }

  /**
   * When the last start request for the VM arrived ({@link System#nanoTime()}), and {@link
   * ScriptedDispatcher#crudNanos()} at that moment; zeros if none arrived.
   */
  public long[] lastStartRequest(String ns, String name) {
    return lastStartRequest.getOrDefault(ns + "/" + name, new long[2]);
  }

  /** All start requests, accepted or not. */
  public int startRequests(String ns, String name) {
    AtomicInteger n = startRequests.get(ns + "/" + name);
    return n == null ? 0 : n.get();
  }

  public GenericKubernetesResource vm(String ns, String name) {
    return client.genericKubernetesResources(VM).inNamespace(ns).withName(name).get();
  }

  public GenericKubernetesResource vmi(String ns, String name) {
    GenericKubernetesResource vmi = vmiOrNull(ns, name);
    if (vmi == null) {
      throw new IllegalStateException("no VMI " + ns + "/" + name);
    }
    return vmi;
  }

  public GenericKubernetesResource vmiOrNull(String ns, String name) {
    return client.genericKubernetesResources(VMI).inNamespace(ns).withName(name).get();
  }

  public String vmiPhase(String ns, String name) {
    GenericKubernetesResource vmi = vmiOrNull(ns, name);
    return vmi == null ? null : vmi.get("status", "phase");
  }

  public List<Pod> pods(String ns, String vmName) {
    // By label first, as KubeVirt's own lookups do: listing every pod gets slow with many VMs.
    return client
        .pods()
        .inNamespace(ns)
        .withLabel("vm.kubevirt.io/name", vmName)
        .list()
        .getItems()
        .stream()
        .filter(
            p ->
                p.getMetadata().getOwnerReferences().stream()
                    .anyMatch(r -> vmName.equals(r.getName())))
        .toList();
  }

  public Pod newestPod(String ns, String vmName) {
    return pods(ns, vmName).stream()
        .max(Comparator.comparing(p -> Instant.parse(p.getMetadata().getCreationTimestamp())))
        .orElseThrow();
  }

  private static Map<String, String> templateLabels(GenericKubernetesResource vm) {
    Object labels = vm.get("spec", "template", "metadata", "labels");
    Map<String, String> out = new HashMap<>();
    if (labels instanceof Map<?, ?> m) {
      m.forEach((k, v) -> out.put(String.valueOf(k), String.valueOf(v)));
    }
    return out;
  }

  private static Map<String, String> templateLabelsOf(GenericKubernetesResource vmi) {
    return vmi.getMetadata().getLabels() == null
        ? Map.of()
        : new HashMap<>(vmi.getMetadata().getLabels());
  }

  private static GenericKubernetesResource read(MockResponse response) {
    return Serialization.unmarshal(response.getBody().readUtf8(), GenericKubernetesResource.class);
  }

  private static String vmPath(String ns, String name) {
    return "/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachines/" + name;
  }

  private static String vmiPath(String ns, String name) {
    return "/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachineinstances/" + name;
  }

  @Override
  public void close() {
    controller.shutdownNow();
  }

  static List<String> names(List<Pod> pods) {
    List<String> out = new ArrayList<>();
    pods.forEach(p -> out.add(p.getMetadata().getName()));
    return out;
  }
}
