package io.vmpower.controller;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.vmpower.admission.InLine;
import io.vmpower.api.Keys;
import io.vmpower.controller.Outcome.EventReason;
import io.vmpower.controller.VmSnapshot.Vm;
import java.time.Clock;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Performs the upkeep steps ({@link UpkeepRules}): writes to the VM, each conditional on what the
 * decision saw, and their Events.
 */
final class UpkeepActions {
  private static final Logger log = LoggerFactory.getLogger(UpkeepActions.class);
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final int MAX_EVENT_MESSAGE = 1000;

  private final KubernetesClient client;
  private final Events events;
  private final ControllerMetrics metrics;
  private final BooleanSupplier leader;
  private final Clock clock;

  /** VMs (uid and message) whose refusal was reported by this process. */
  private final Set<String> reportedRefusals = ConcurrentHashMap.newKeySet();

  UpkeepActions(
      KubernetesClient client,
      Events events,
      ControllerMetrics metrics,
      BooleanSupplier leader,
      Clock clock) {
    this.client = client;
    this.events = events;
    this.metrics = metrics;
    this.leader = leader;
    this.clock = clock;
  }

  /** Whether {@code step} is one of these. */
  static boolean handles(Step step) {
    return step instanceof Step.BringInLine
        || step instanceof Step.ReportRefused
        || step instanceof Step.EnterMaintenance
        || step instanceof Step.LeaveMaintenance;
  }

  void act(Step step, VmSnapshot s) {
    if (!leader.getAsBoolean()) {
      throw new Actuator.NotLeaderException();
    }
    if (step instanceof Step.BringInLine inLine) {
      bringInLine(s.vm(), inLine.change());
    } else if (step instanceof Step.ReportRefused refused) {
      reportRefused(s.vm(), refused.message());
    } else if (step instanceof Step.EnterMaintenance) {
      enterMaintenance(s.vm());
    } else if (step instanceof Step.LeaveMaintenance leave) {
      leaveMaintenance(s.vm(), leave.endedVmiUid());
    } else {
      throw new IllegalStateException("not an upkeep step: " + step);
    }
  }

  /**
   * The webhook's own answer, written as a JSON patch guarded by the resourceVersion the decision
   * saw: a VM changed meanwhile fails the test and is looked at again. The API server calls the VM
   * webhook for this write too, which then finds nothing to change.
   */
  private void bringInLine(Vm vm, InLine.Misaligned change) {
    String policy =
        change.desired().path("metadata").path("annotations").path(Keys.RUN_POLICY).asText("");
    String summary = String.join("; ", change.changes());
    ArrayNode ops = JSON.createArrayNode();
    ops.addObject()
        .put("op", "test")
        .put("path", "/metadata/resourceVersion")
        .put("value", vm.resourceVersion());
    change.patch().forEach(ops::add);
    patch(vm, PatchType.JSON, ops);
    // After the write: only the one write that passed its test says so.
    if (!change.onlyLabels()) {
      events.emit(
          vm,
          "in-line/" + vm.resourceVersion(),
          EventReason.BroughtInLine,
          cap(
              "Brought in line with run policy "
                  + policy
                  + " (the VM webhook had not seen this VM as stored): "
                  + summary
                  + (change.warnings().isEmpty()
                      ? ""
                      : " (" + String.join("; ", change.warnings()) + ")")));
    }
    metrics.broughtInLine(policy, change.onlyLabels() ? "labels" : "policy");
    log.info(
        "VirtualMachine {}/{}: brought in line with run policy {}: {}",
        vm.namespace(),
        vm.name(),
        policy,
        summary);
  }

  /** Once per VM and message in this process; the Event's name dedups across restarts. */
  private void reportRefused(Vm vm, String message) {
    if (!reportedRefusals.add(vm.uid() + "\n" + message)) {
      return;
    }
    log.warn(
        "VirtualMachine {}/{}: the VM webhook refuses this VM as stored: {}",
        vm.namespace(),
        vm.name(),
        message);
    events.emit(
        vm,
        "refused/" + Events.hash(message),
        EventReason.InvalidRunPolicy,
        cap(
            "vmpower cannot manage this VM, and its VM webhook refuses every write of it until"
                + " this is fixed: "
                + message));
  }

  /** The write first, guarded: of concurrent attempts only one writes, and only it says so. */
  private void enterMaintenance(Vm vm) {
    String now = clock.instant().toString();
    ObjectNode patch = JSON.createObjectNode();
    ObjectNode meta = patch.putObject("metadata");
    meta.put("resourceVersion", vm.resourceVersion());
    meta.putObject("annotations").put(Keys.MAINTENANCE_SINCE, now);
    patch(vm, PatchType.JSON_MERGE, patch);
    String reason = vm.upkeep().maintenanceReason();
    events.emit(
        vm,
        "maintenance/" + now,
        EventReason.MaintenanceStarted,
        cap(
            "In maintenance ("
                + Keys.MAINTENANCE
                + "=true"
                + (reason.isEmpty() ? "" : ": " + reason)
                + "): vmpower lets any runStrategy through and neither starts nor restarts the VM"
                + " until the annotation is removed."));
    metrics.maintenance("started");
    log.info("VirtualMachine {}/{}: in maintenance", vm.namespace(), vm.name());
  }

  private void leaveMaintenance(Vm vm, String endedVmiUid) {
    String since = vm.upkeep().maintenanceSince().orElse("");
    ObjectNode patch = JSON.createObjectNode();
    ObjectNode meta = patch.putObject("metadata");
    meta.put("resourceVersion", vm.resourceVersion());
    ObjectNode annotations = meta.putObject("annotations");
    annotations.putNull(Keys.MAINTENANCE_SINCE);
    if (endedVmiUid != null) {
      annotations.put(
          Keys.LAST_POWER_EVENT,
          PowerEventRecord.done(endedVmiUid, "maintenance", PowerEventRecord.NONE, clock.instant())
              .toJson());
    }
    patch(vm, PatchType.JSON_MERGE, patch);
    String policy =
        vm.policy().map(p -> p.value() + " (runStrategy " + p.runStrategy() + ")").orElse("none");
    events.emit(
        vm,
        "maintenance-end/" + since,
        EventReason.MaintenanceEnded,
        "Maintenance over (since "
            + since
            + "): vmpower manages the VM again with run policy "
            + policy
            + (endedVmiUid == null
                ? "."
                : "; the VMI that ended during maintenance is not acted on."));
    metrics.maintenance("ended");
    log.info("VirtualMachine {}/{}: maintenance over", vm.namespace(), vm.name());
  }

  private void patch(Vm vm, PatchType type, JsonNode body) {
    client
        .genericKubernetesResources(KubeVirt.VM)
        .inNamespace(vm.namespace())
        .withName(vm.name())
        .patch(PatchContext.of(type), body.toString());
  }

  private static String cap(String message) {
    return message.length() <= MAX_EVENT_MESSAGE
        ? message
        : message.substring(0, MAX_EVENT_MESSAGE - 1) + "…";
  }
}
