package io.vmpower.controller;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.vmpower.api.Keys;
import io.vmpower.api.RunPolicy;
import io.vmpower.api.termination.TerminationMessages;
import io.vmpower.controller.Outcome.EventReason;
import io.vmpower.controller.PowerPolicy.PodEnd;
import io.vmpower.controller.VirtApi.StartResult;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reconciles one VM from the informer caches (level-triggered): looks at the VM, its VMI and the
 * VMI's newest pod, decides with {@link PowerPolicy}, and acts through virt-api. Every write is
 * conditional, so a stale cache or a second actor makes a write fail and the key is retried from
 * fresh state instead of acting twice.
 */
final class Reconciler {
  private static final Logger log = LoggerFactory.getLogger(Reconciler.class);
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final String RECORD_POINTER =
      "/metadata/annotations/" + Keys.LAST_POWER_EVENT.replace("~", "~0").replace("/", "~1");

  /** Read access to the informer caches. */
  record Caches(
      Function<String, GenericKubernetesResource> vm,
      Function<String, GenericKubernetesResource> vmi,
      Function<String, List<Pod>> podsOfVmi,
      Predicate<String> namespaceEnabled) {}

  /** Thrown when leadership ended: the session is closing, nothing is retried. */
  static final class NotLeaderException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    NotLeaderException() {
      super("not the leader", null, false, false);
    }
  }

  private final KubernetesClient client;
  private final Caches caches;
  private final VirtApi virtApi;
  private final Events events;
  private final ControllerMetrics metrics;
  private final BooleanSupplier leader;
  private final ControllerSettings settings;
  private final Clock clock;

  /** When a final VMI was first seen with its compute container still running, by VMI uid. */
  private final Map<String, Instant> waitingSince = new ConcurrentHashMap<>();

  /** Pods already reported as not injected (the Event name dedups across restarts as well). */
  private final Set<String> reportedPods = ConcurrentHashMap.newKeySet();

  Reconciler(
      KubernetesClient client,
      Caches caches,
      VirtApi virtApi,
      Events events,
      ControllerMetrics metrics,
      BooleanSupplier leader,
      ControllerSettings settings,
      Clock clock) {
    this.client = client;
    this.caches = caches;
    this.virtApi = virtApi;
    this.events = events;
    this.metrics = metrics;
    this.leader = leader;
    this.settings = settings;
    this.clock = clock;
  }

  /**
   * Reconciles the VM {@code namespace/name}. Returns a delay after which to look again even
   * without an event; throws to be retried with backoff.
   */
  Optional<Duration> reconcile(String key) {
    String ns = key.substring(0, key.indexOf('/'));
    if (!caches.namespaceEnabled().test(ns)) {
      return Optional.empty();
    }
    GenericKubernetesResource vm = caches.vm().apply(key);
    if (vm == null || KubeVirt.deleting(vm)) {
      return Optional.empty();
    }
    Optional<RunPolicy> parsed =
        RunPolicy.parse(KubeVirt.annotation(vm, Keys.RUN_POLICY)).map(RunPolicy.Parsed::policy);
    if (parsed.isEmpty()) {
      return Optional.empty(); // not managed (or an invalid value, which the VM webhook denies)
    }
    RunPolicy policy = parsed.get();
    GenericKubernetesResource vmi = caches.vmi().apply(key);
    if (vmi != null && !ownedBy(vmi, vm)) {
      vmi = null;
    }
    if (vmi != null) {
      reportUninjectedPods(vm, vmi, policy);
    }
    if (KubeVirt.hasStateChangeRequests(vm)) {
      // A start/stop/restart is under way (the user's or ours): stand back. The VM's status
      // update that clears the requests brings the key back.
      log.debug("{}: state change requests pending, standing back", key);
      return Optional.empty();
    }
    if (KubeVirt.annotation(vm, Keys.START_PENDING) != null) {
      return startPending(vm, vmi, policy);
    }
    Optional<PowerEventRecord> record =
        PowerEventRecord.parse(KubeVirt.annotation(vm, Keys.LAST_POWER_EVENT));
    if (vmi == null || !PowerPolicy.isFinal(KubeVirt.phase(vmi))) {
      if (record.isPresent() && !record.get().isDone()) {
        // A claimed start whose VMI has been replaced (or removed) has happened.
        complete(vm, record.get(), policy);
      }
      return Optional.empty();
    }
    if (KubeVirt.deleting(vmi)) {
      return Optional.empty(); // virtctl stop/restart or a deletion is under way
    }
    String vmiUid = vmi.getMetadata().getUid();
    if (record.isPresent() && record.get().isFor(vmiUid)) {
      if (record.get().isDone()) {
        return Optional.empty(); // handled already, by us or a previous leader
      }
      // Claimed but not confirmed (a crash or a leader change in between): finish the start.
      return start(
          vm,
          vmiUid,
          policy,
          record.get(),
          PowerPolicy.recordedStart(policy, record.get().reason()));
    }
    if (!PowerPolicy.controllerActs(policy)) {
      return Optional.empty(); // AlwaysOn/AlwaysOff: KubeVirt's runStrategy acts
    }
    Optional<PodEnd> end = podEnd(key, vmiUid);
    if (end.isEmpty()) {
      Instant since = waitingSince.get(vmiUid);
      Duration left = settings.podTerminationWait().minus(Duration.between(since, clock.instant()));
      log.debug("{}: VMI final, compute container not terminated yet; waiting up to {}", key, left);
      return Optional.of(left);
    }
    Outcome outcome = PowerPolicy.decide(policy, KubeVirt.phase(vmi), end.get());
    if (!outcome.start()) {
      requireLeader();
      events.require(vm, vmiUid, outcome.eventReason(), outcome.message());
      writeGuarded(
          vm, PowerEventRecord.done(vmiUid, outcome.reason(), PowerEventRecord.NONE, now()));
      waitingSince.remove(vmiUid);
      metrics.action(policy, outcome.reason(), "none");
      log.info(
          "VirtualMachine {}: VMI {} ended ({}), policy {}: stays stopped",
          key,
          vmiUid,
          outcome.reason(),
          policy.value());
      return Optional.empty();
    }
    // Claim first: the conditional write makes this actor the only one that starts for this VMI.
    requireLeader();
    PowerEventRecord claim = PowerEventRecord.starting(vmiUid, outcome.reason(), now());
    GenericKubernetesResource claimed = writeGuarded(vm, claim);
    waitingSince.remove(vmiUid);
    return start(claimed, vmiUid, policy, claim, outcome);
  }

  /** Starts the VM for a claimed power event, unless the VMI has been replaced meanwhile. */
  private Optional<Duration> start(
      GenericKubernetesResource vm,
      String vmiUid,
      RunPolicy policy,
      PowerEventRecord claim,
      Outcome outcome) {
    String ns = vm.getMetadata().getNamespace();
    String name = vm.getMetadata().getName();
    // Fresh read, not the cache: after a crash between start and confirmation the cache may
    // still show the old VMI for a moment; a second start would then restart the new one.
    GenericKubernetesResource current =
        client.genericKubernetesResources(KubeVirt.VMI).inNamespace(ns).withName(name).get();
    if (current == null || !vmiUid.equals(current.getMetadata().getUid())) {
      complete(vm, claim, policy);
      return Optional.empty();
    }
    if (KubeVirt.deleting(current)) {
      return Optional.empty(); // a user's stop is under way; its end brings us back
    }
    requireLeader();
    StartResult result;
    try {
      result = virtApi.start(ns, name);
    } catch (VirtApi.StartFailedException e) {
      metrics.startRequest("error");
      events.emit(
          vm,
          vmiUid + "/start-failed",
          EventReason.StartFailed,
          "Starting the VM failed (" + e.getMessage() + "); vmpower retries with backoff.");
      throw e;
    }
    metrics.startRequest(result.tag());
    log.info(
        "VirtualMachine {}/{}: start for VMI {} ({}), policy {}: {}",
        ns,
        name,
        vmiUid,
        claim.reason(),
        policy.value(),
        result.tag());
    events.require(vm, vmiUid, outcome.eventReason(), outcome.message());
    metrics.action(policy, claim.reason(), "start");
    completeClaim(vm, claim);
    return Optional.empty();
  }

  /** The start-pending annotation: start an AlwaysOnUnlessStoppedManually VM once, then drop it. */
  private Optional<Duration> startPending(
      GenericKubernetesResource vm, GenericKubernetesResource vmi, RunPolicy policy) {
    String ns = vm.getMetadata().getNamespace();
    String name = vm.getMetadata().getName();
    if (policy != RunPolicy.ALWAYS_ON_UNLESS_STOPPED_MANUALLY) {
      // Switched away before the first start: nothing is owed any more.
      requireLeader();
      removeStartPending(vm, null);
      log.info(
          "VirtualMachine {}/{}: dropped start-pending, policy is {}", ns, name, policy.value());
      return Optional.empty();
    }
    if (vmi != null && KubeVirt.deleting(vmi)) {
      return Optional.empty();
    }
    boolean running = vmi != null && !PowerPolicy.isFinal(KubeVirt.phase(vmi));
    String vmiUid = vmi == null ? "" : vmi.getMetadata().getUid();
    StartResult result = StartResult.ALREADY_RUNNING;
    if (!running) {
      requireLeader();
      try {
        result = virtApi.start(ns, name);
      } catch (VirtApi.StartFailedException e) {
        metrics.startRequest("error");
        throw e;
      }
      metrics.startRequest(result.tag());
    }
    if (result == StartResult.STARTED) {
      events.emit(
          vm,
          null,
          EventReason.StartedFirstTime,
          "Started the VM for the first time (run policy " + policy.value() + ").");
      metrics.action(policy, "start-pending", "start");
    }
    log.info(
        "VirtualMachine {}/{}: first start ({}), removing {}",
        ns,
        name,
        result.tag(),
        Keys.START_PENDING);
    // Started (or running already) before removing the annotation: a crash in between only
    // repeats a start that virt-api answers with "already running".
    requireLeader();
    removeStartPending(
        vm,
        vmi != null && PowerPolicy.isFinal(KubeVirt.phase(vmi))
            ? PowerEventRecord.done(vmiUid, "start-pending", PowerEventRecord.START, now())
            : null);
    return Optional.empty();
  }

  /** The pod end of a final VMI, or empty while its compute container is still running. */
  private Optional<PodEnd> podEnd(String key, String vmiUid) {
    Optional<Pod> pod = KubeVirt.newest(caches.podsOfVmi().apply(vmiUid));
    if (pod.isEmpty()) {
      // "Lost" decides a start for AlwaysOnUnlessStoppedManually: confirm it with a fresh read.
      pod = KubeVirt.newest(freshPods(key, vmiUid));
      if (pod.isEmpty()) {
        return Optional.of(new PodEnd.Lost());
      }
    }
    Optional<PodEnd> ended = ended(pod.get());
    if (ended.isPresent()) {
      return ended;
    }
    Instant since = waitingSince.computeIfAbsent(vmiUid, u -> clock.instant());
    if (Duration.between(since, clock.instant()).compareTo(settings.podTerminationWait()) < 0) {
      return Optional.empty();
    }
    // Before deciding without a message, make sure the cache (a dropped watch?) did not miss it.
    Optional<Pod> fresh = KubeVirt.newest(freshPods(key, vmiUid));
    if (fresh.isEmpty()) {
      return Optional.of(new PodEnd.Lost());
    }
    ended = ended(fresh.get());
    if (ended.isPresent()) {
      return ended;
    }
    log.warn(
        "VirtualMachine {}: compute container of pod {} did not terminate within {}; deciding"
            + " without its termination message",
        key,
        fresh.get().getMetadata().getName(),
        settings.podTerminationWait());
    return Optional.of(new PodEnd.Terminated(TerminationMessages.parse(null)));
  }

  private static Optional<PodEnd> ended(Pod pod) {
    Optional<String> message = KubeVirt.terminatedMessage(pod);
    if (message.isPresent()) {
      return Optional.of(new PodEnd.Terminated(TerminationMessages.parse(message.get())));
    }
    if (KubeVirt.podFinished(pod)) {
      return Optional.of(new PodEnd.Terminated(TerminationMessages.parse(null)));
    }
    return Optional.empty();
  }

  private List<Pod> freshPods(String key, String vmiUid) {
    return client
        .pods()
        .inNamespace(key.substring(0, key.indexOf('/')))
        .withLabel(Keys.KUBEVIRT_APP, Keys.KUBEVIRT_APP_LAUNCHER)
        .list()
        .getItems()
        .stream()
        .filter(p -> KubeVirt.ownerUid(p, KubeVirt.VMI_KIND).filter(vmiUid::equals).isPresent())
        .toList();
  }

  /** Event and metric for running launcher pods that the pod webhook did not inject. */
  private void reportUninjectedPods(
      GenericKubernetesResource vm, GenericKubernetesResource vmi, RunPolicy policy) {
    for (Pod pod : caches.podsOfVmi().apply(vmi.getMetadata().getUid())) {
      if (!KubeVirt.podRunning(pod)
          || KubeVirt.annotation(pod, Keys.INJECTION_STATUS) != null
          || KubeVirt.annotation(pod, Keys.KUBEVIRT_EPHEMERAL_PROVISIONING) != null
          || !reportedPods.add(pod.getMetadata().getUid())) {
        continue;
      }
      metrics.notInjected(policy);
      log.warn(
          "VirtualMachine {}/{}: pod {} runs without the vmpower domain monitor",
          vm.getMetadata().getNamespace(),
          vm.getMetadata().getName(),
          pod.getMetadata().getName());
      if (leader.getAsBoolean()) {
        events.emit(
            vm,
            "pod/" + pod.getMetadata().getUid(),
            EventReason.PodNotInjected,
            "virt-launcher pod "
                + pod.getMetadata().getName()
                + " runs without the vmpower domain monitor (the pod webhook was unavailable or"
                + " skipped it): a guest reboot stays inside the pod and spec changes wait for an"
                + " external restart.");
      }
    }
  }

  /** Confirms a claimed start whose VMI is gone or replaced (a restart or new leader finishing). */
  private void complete(GenericKubernetesResource vm, PowerEventRecord claim, RunPolicy policy) {
    requireLeader();
    Outcome outcome = PowerPolicy.recordedStart(policy, claim.reason());
    events.require(vm, claim.vmiUid(), outcome.eventReason(), outcome.message());
    completeClaim(vm, claim);
    log.info(
        "VirtualMachine {}/{}: start for VMI {} had happened already; record completed",
        vm.getMetadata().getNamespace(),
        vm.getMetadata().getName(),
        claim.vmiUid());
  }

  /**
   * Writes the record with the VM's resourceVersion as precondition: fails with 409 when the VM
   * changed since it was read (stale cache, or another actor), and the key is retried.
   */
  private GenericKubernetesResource writeGuarded(
      GenericKubernetesResource vm, PowerEventRecord record) {
    ObjectNode patch = JSON.createObjectNode();
    ObjectNode meta = patch.putObject("metadata");
    meta.put("resourceVersion", vm.getMetadata().getResourceVersion());
    meta.putObject("annotations").put(Keys.LAST_POWER_EVENT, record.toJson());
    return vmResource(vm).patch(PatchContext.of(PatchType.JSON_MERGE), patch.toString());
  }

  /**
   * Starting → Done, as a compare-and-swap on the annotation itself (JSON patch test): the VM's
   * status moves on after a start, so its resourceVersion cannot serve as the precondition here.
   */
  private void completeClaim(GenericKubernetesResource vm, PowerEventRecord claim) {
    ArrayNode ops = JSON.createArrayNode();
    ops.addObject().put("op", "test").put("path", RECORD_POINTER).put("value", claim.toJson());
    ops.addObject()
        .put("op", "replace")
        .put("path", RECORD_POINTER)
        .put("value", claim.completed(now()).toJson());
    vmResource(vm).patch(PatchContext.of(PatchType.JSON), ops.toString());
  }

  private void removeStartPending(GenericKubernetesResource vm, PowerEventRecord record) {
    ObjectNode patch = JSON.createObjectNode();
    ObjectNode annotations = patch.putObject("metadata").putObject("annotations");
    annotations.putNull(Keys.START_PENDING);
    if (record != null) {
      annotations.put(Keys.LAST_POWER_EVENT, record.toJson());
    }
    vmResource(vm).patch(PatchContext.of(PatchType.JSON_MERGE), patch.toString());
  }

  private io.fabric8.kubernetes.client.dsl.Resource<GenericKubernetesResource> vmResource(
      GenericKubernetesResource vm) {
    return client
        .genericKubernetesResources(KubeVirt.VM)
        .inNamespace(vm.getMetadata().getNamespace())
        .withName(vm.getMetadata().getName());
  }

  private static boolean ownedBy(GenericKubernetesResource vmi, GenericKubernetesResource vm) {
    return KubeVirt.ownerUid(vmi, KubeVirt.VM_KIND)
        .map(uid -> uid.equals(vm.getMetadata().getUid()))
        .orElse(true);
  }

  private void requireLeader() {
    if (!leader.getAsBoolean()) {
      throw new NotLeaderException();
    }
  }

  private Instant now() {
    return clock.instant();
  }
}
