package io.vmpower.controller;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.vmpower.api.Keys;
import io.vmpower.api.RunPolicy;
import io.vmpower.controller.Outcome.EventReason;
import io.vmpower.controller.PowerPolicy.PodEnd;
import io.vmpower.controller.VirtApi.StartResult;
import io.vmpower.controller.VmSnapshot.LauncherPod;
import io.vmpower.controller.VmSnapshot.Vm;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Performs a {@link Step}: the writes to the VM, the start requests to virt-api, Events, metrics
 * and logs. Every write checks leadership first and is conditional, so a stale cache or a second
 * actor makes it fail and the key is retried from fresh state instead of acting twice.
 */
final class Actuator {
  private static final Logger log = LoggerFactory.getLogger(Actuator.class);
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final String RECORD_POINTER =
      "/metadata/annotations/" + Keys.LAST_POWER_EVENT.replace("~", "~0").replace("/", "~1");

  /** Thrown when leadership ended: the session is closing, nothing is retried. */
  static final class NotLeaderException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    NotLeaderException() {
      super("not the leader", null, false, false);
    }
  }

  /** What performing a step left. */
  sealed interface After {
    /** The reconcile is over; look again after {@code again} even without an event. */
    record Done(Optional<Duration> again) implements After {}

    /** The step changed or added facts: decide again on {@code snapshot}. */
    record DecideAgain(VmSnapshot snapshot) implements After {}
  }

  private static final After DONE = new After.Done(Optional.empty());

  private final KubernetesClient client;
  private final Gatherer gatherer;
  private final VirtApi virtApi;
  private final Events events;
  private final ControllerMetrics metrics;
  private final BooleanSupplier leader;
  private final TerminationWaits waits;
  private final Clock clock;

  /** Pods already reported as not injected (the Event name dedups across restarts as well). */
  private final Set<String> reportedPods = ConcurrentHashMap.newKeySet();

  private final RestartActions restarts;

  Actuator(
      KubernetesClient client,
      Gatherer gatherer,
      VirtApi virtApi,
      Events events,
      ControllerMetrics metrics,
      BooleanSupplier leader,
      TerminationWaits waits,
      Clock clock) {
    this.client = client;
    this.gatherer = gatherer;
    this.virtApi = virtApi;
    this.events = events;
    this.metrics = metrics;
    this.leader = leader;
    this.waits = waits;
    this.clock = clock;
    this.restarts = new RestartActions(this, events, metrics);
  }

  After act(Step step, VmSnapshot s) {
    if (step instanceof Step.Nothing nothing) {
      log.debug("{}: nothing to do ({})", s.key(), nothing.why());
      return DONE;
    }
    if (step instanceof Step.Wait wait) {
      waits.started(wait.vmiUid(), wait.since());
      log.debug(
          "{}: VMI final, compute container not terminated yet; waiting up to {}",
          s.key(),
          wait.left());
      return new After.Done(Optional.of(wait.left()));
    }
    if (step instanceof Step.ReadFresh read) {
      return new After.DecideAgain(gatherer.readFresh(s, read.what()));
    }
    if (step instanceof Step.Stay stay) {
      stay(s, stay);
      return DONE;
    }
    if (step instanceof Step.Claim claim) {
      return new After.DecideAgain(claim(s, claim));
    }
    if (step instanceof Step.Start start) {
      start(s, start);
      return DONE;
    }
    if (step instanceof Step.FinishClaim finish) {
      finishClaim(s, finish);
      return DONE;
    }
    if (step instanceof Step.FirstStart first) {
      firstStart(s, first);
      return DONE;
    }
    if (RestartActions.handles(step)) {
      return restarts.act(step, s);
    }
    if (step instanceof Step.DropStartPending drop) {
      requireLeader();
      removeStartPending(s.vm(), null);
      log.info("VirtualMachine {}: dropped start-pending, {}", s.key(), drop.why());
      return DONE;
    }
    throw new IllegalStateException("no action for " + step);
  }

  /** What the gauges of restart-loop protection count, as this snapshot shows the VM. */
  void observe(VmSnapshot s) {
    metrics.restartLoops().observe(s);
  }

  /** Event and metric for running launcher pods that the pod webhook did not inject. */
  void reportUninjected(VmSnapshot s, List<LauncherPod> pods) {
    for (LauncherPod pod : pods) {
      if (!reportedPods.add(pod.uid())) {
        continue;
      }
      metrics.notInjected(policy(s));
      log.warn(
          "VirtualMachine {}: pod {} runs without the vmpower domain monitor", s.key(), pod.name());
      if (leader.getAsBoolean()) {
        events.emit(
            s.vm(),
            "pod/" + pod.uid(),
            EventReason.PodNotInjected,
            "virt-launcher pod "
                + pod.name()
                + " runs without the vmpower domain monitor (the pod webhook was unavailable or"
                + " skipped it): a guest reboot stays inside the pod and spec changes wait for an"
                + " external restart.");
      }
    }
  }

  private void stay(VmSnapshot s, Step.Stay stay) {
    requireLeader();
    warnIfUnterminated(s, stay.end());
    Outcome outcome = stay.outcome();
    events.require(s.vm(), stay.vmiUid(), outcome.eventReason(), outcome.message());
    writeGuarded(
        s.vm(),
        PowerEventRecord.done(
            stay.vmiUid(), outcome.reason(), PowerEventRecord.NONE, now(), stay.loop()));
    waits.ended(stay.vmiUid());
    metrics.action(policy(s), outcome.reason(), "none");
    log.info(
        "VirtualMachine {}: VMI {} ended ({}), policy {}: stays stopped",
        s.key(),
        stay.vmiUid(),
        outcome.reason(),
        policy(s).value());
  }

  /** Claim first: the conditional write makes this actor the only one that starts for this VMI. */
  private VmSnapshot claim(VmSnapshot s, Step.Claim claim) {
    requireLeader();
    warnIfUnterminated(s, claim.end());
    GenericKubernetesResource claimed =
        writeGuarded(
            s.vm(),
            PowerEventRecord.starting(
                claim.vmiUid(), claim.outcome().reason(), now(), claim.loop()));
    waits.ended(claim.vmiUid());
    if (claim.loop().backoffUntil().isPresent()) {
      restarts.backingOff(s, claim);
    }
    return s.withClaim(Vm.of(claimed), claim);
  }

  private void start(VmSnapshot s, Step.Start start) {
    PowerEventRecord claim = start.claim();
    StartResult result;
    try {
      result = startRequest(s.vm());
    } catch (VirtApi.StartFailedException e) {
      events.emit(
          s.vm(),
          claim.vmiUid() + "/start-failed",
          EventReason.StartFailed,
          "Starting the VM failed (" + e.getMessage() + "); vmpower retries with backoff.");
      throw e;
    }
    log.info(
        "VirtualMachine {}: start for VMI {} ({}), policy {}: {}",
        s.key(),
        claim.vmiUid(),
        claim.reason(),
        policy(s).value(),
        result.tag());
    events.require(
        s.vm(), claim.vmiUid(), start.outcome().eventReason(), start.outcome().message());
    metrics.action(policy(s), claim.reason(), "start");
    confirm(s.vm(), claim);
  }

  /** A claimed start whose VMI is gone or replaced (a restart or new leader finishing). */
  private void finishClaim(VmSnapshot s, Step.FinishClaim finish) {
    requireLeader();
    PowerEventRecord claim = finish.claim();
    events.require(
        s.vm(), claim.vmiUid(), finish.outcome().eventReason(), finish.outcome().message());
    confirm(s.vm(), claim);
    log.info(
        "VirtualMachine {}: start for VMI {} had happened already; record completed",
        s.key(),
        claim.vmiUid());
  }

  private void firstStart(VmSnapshot s, Step.FirstStart first) {
    RunPolicy policy = policy(s);
    StartResult result = startRequest(s.vm());
    if (result == StartResult.STARTED) {
      events.emit(
          s.vm(),
          null,
          EventReason.StartedFirstTime,
          "Started the VM for the first time (run policy " + policy.value() + ").");
      metrics.action(policy, PowerEventReason.START_PENDING.code(), "start");
    }
    log.info(
        "VirtualMachine {}: first start ({}), removing {}",
        s.key(),
        result.tag(),
        Keys.START_PENDING);
    requireLeader();
    removeStartPending(
        s.vm(),
        first.endedVmiUid() == null
            ? null
            : PowerEventRecord.done(
                first.endedVmiUid(),
                PowerEventReason.START_PENDING.code(),
                PowerEventRecord.START,
                now(),
                RestartLoops.carried(s.vm().record())));
  }

  /** virt-api's start, counted by its result; a failure propagates to be retried with backoff. */
  private StartResult startRequest(Vm vm) {
    requireLeader();
    try {
      StartResult result = virtApi.start(vm.namespace(), vm.name());
      metrics.startRequest(result.tag());
      return result;
    } catch (VirtApi.StartFailedException e) {
      metrics.startRequest("error");
      throw e;
    }
  }

  private void warnIfUnterminated(VmSnapshot s, PodEnd end) {
    if (end instanceof PodEnd.Unterminated u) {
      log.warn(
          "VirtualMachine {}: compute container of pod {} did not terminate in time; deciding"
              + " without its termination message",
          s.key(),
          u.pod());
    }
  }

  /**
   * Writes the record with the VM's resourceVersion as precondition: fails with 409 when the VM
   * changed since it was read (stale cache, or another actor), and the key is retried.
   */
  GenericKubernetesResource writeGuarded(Vm vm, PowerEventRecord record) {
    ObjectNode patch = JSON.createObjectNode();
    ObjectNode meta = patch.putObject("metadata");
    meta.put("resourceVersion", vm.resourceVersion());
    meta.putObject("annotations").put(Keys.LAST_POWER_EVENT, record.toJson());
    return vmResource(vm).patch(PatchContext.of(PatchType.JSON_MERGE), patch.toString());
  }

  /**
   * Starting → Done, as a compare-and-swap on the annotation itself (JSON patch test): the VM's
   * status moves on after a start, so its resourceVersion cannot serve as the precondition here.
   */
  private void confirm(Vm vm, PowerEventRecord claim) {
    replaceRecord(vm, claim, claim.completed(now()));
  }

  /** {@code expected} → {@code next}, as a compare-and-swap on the annotation (JSON patch test). */
  void replaceRecord(Vm vm, PowerEventRecord expected, PowerEventRecord next) {
    ArrayNode ops = JSON.createArrayNode();
    ops.addObject().put("op", "test").put("path", RECORD_POINTER).put("value", expected.toJson());
    ops.addObject().put("op", "replace").put("path", RECORD_POINTER).put("value", next.toJson());
    vmResource(vm).patch(PatchContext.of(PatchType.JSON), ops.toString());
  }

  private void removeStartPending(Vm vm, PowerEventRecord record) {
    ObjectNode patch = JSON.createObjectNode();
    ObjectNode annotations = patch.putObject("metadata").putObject("annotations");
    annotations.putNull(Keys.START_PENDING);
    if (record != null) {
      annotations.put(Keys.LAST_POWER_EVENT, record.toJson());
    }
    vmResource(vm).patch(PatchContext.of(PatchType.JSON_MERGE), patch.toString());
  }

  private Resource<GenericKubernetesResource> vmResource(Vm vm) {
    return client
        .genericKubernetesResources(KubeVirt.VM)
        .inNamespace(vm.namespace())
        .withName(vm.name());
  }

  static RunPolicy policy(VmSnapshot s) {
    return s.vm().policy().orElseThrow();
  }

  void requireLeader() {
    if (!leader.getAsBoolean()) {
      throw new NotLeaderException();
    }
  }

  java.time.Instant now() {
    return clock.instant();
  }
}
