package io.vmpower.injector;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmpower.api.Keys;
import io.vmpower.api.VmPowerVersion;
import io.vmpower.api.admission.AdmissionInput;
import io.vmpower.api.admission.Mutator;
import io.vmpower.api.admission.TreeEdit;
import io.vmpower.api.admission.Verdict;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Makes the {@code compute} container of a managed virt-launcher pod start the domain monitor next
 * to the launcher (DESIGN.md section 3).
 *
 * <p>The container's {@code command} and {@code args} stay exactly as KubeVirt wrote them, so
 * virt-launcher-monitor is PID 1 with its file capability, signals and exit code; the monitor is
 * started by a {@code postStart} exec hook added to {@code compute} ({@link MonitorHook}), which
 * gets the launcher's argv (both pod shapes: everything in {@code command}, or {@code command} +
 * {@code args}).
 *
 * <p>A pod it cannot inject is let through unchanged with a warning: a VM must never fail to start
 * because of vmpower.
 */
public final class PodMutator implements Mutator {
  /** How the monitor is started, recorded in the injection status (the wrapper had no mode). */
  static final String MODE = "postStart";

  private static final JsonMapper JSON = new JsonMapper();

  private final MonitorHook hook;
  private final String statusAnnotation;

  public PodMutator(String script, String scriptSha256, String version) {
    this.hook = new MonitorHook(script);
    Map<String, String> status = new LinkedHashMap<>();
    status.put("version", version);
    status.put("container", Keys.COMPUTE_CONTAINER);
    status.put("mode", MODE);
    status.put("script", "sha256:" + scriptSha256);
    this.statusAnnotation = JSON.valueToTree(status).toString();
  }

  /** The mutator with the bundled domain monitor. */
  public static PodMutator withBundledMonitor() {
    return new PodMutator(
        DomainMonitorScript.text(), DomainMonitorScript.sha256(), VmPowerVersion.get());
  }

  /** Why a pod was let through without injection; the code is the metrics/log decision. */
  enum Skip {
    NOT_CREATE("ignored", null),
    NOT_MANAGED_LAUNCHER(
        "skipped-not-managed",
        "not a virt-launcher pod with label " + Keys.RUN_POLICY + "; nothing injected"),
    ALREADY_INJECTED(
        "skipped-already-injected",
        "already injected (" + Keys.INJECTION_STATUS + " is set); not injected again"),
    EPHEMERAL_PROVISIONING(
        "skipped-ephemeral",
        "ephemeral provisioning pod ("
            + Keys.KUBEVIRT_EPHEMERAL_PROVISIONING
            + "); nothing injected"),
    NO_COMPUTE("skipped-no-compute", "no container named compute; domain monitor not injected"),
    DUPLICATE_COMPUTE(
        "skipped-duplicate-compute",
        "more than one container named compute; domain monitor not injected"),
    NO_COMMAND(
        "skipped-no-command",
        "compute container has no command (image entrypoint); domain monitor not injected"),
    BAD_COMMAND(
        "skipped-bad-command",
        "compute container command or args is not a list of strings; domain monitor not"
            + " injected"),
    HAS_POST_START(
        "skipped-has-poststart",
        "compute container already has a postStart hook; domain monitor not injected"),
    MALFORMED("skipped-malformed", "pod spec has an unexpected shape; domain monitor not injected");

    final String decision;
    final String warning;

    Skip(String decision, String warning) {
      this.decision = decision;
      this.warning = warning;
    }
  }

  @Override
  public Verdict review(AdmissionInput input) {
    if (!input.isCreate()) {
      return skip(input.object(), Skip.NOT_CREATE);
    }
    JsonNode pod = input.object();
    JsonNode metadata = pod.path("metadata");
    JsonNode labels = metadata.path("labels");
    if (!Keys.KUBEVIRT_APP_LAUNCHER.equals(labels.path(Keys.KUBEVIRT_APP).asText(null))
        || !labels.path(Keys.RUN_POLICY).isTextual()) {
      return skip(pod, Skip.NOT_MANAGED_LAUNCHER);
    }
    JsonNode annotations = metadata.path("annotations");
    if (annotations.has(Keys.INJECTION_STATUS)) {
      // Reinvocation (reinvocationPolicy IfNeeded) or a pod copied from an injected one.
      return skip(pod, Skip.ALREADY_INJECTED);
    }
    if (annotations.has(Keys.KUBEVIRT_EPHEMERAL_PROVISIONING)) {
      return skip(pod, Skip.EPHEMERAL_PROVISIONING);
    }
    JsonNode containers = pod.path("spec").path("containers");
    if (!containers.isArray()) {
      return skip(pod, Skip.MALFORMED);
    }
    int computeIndex = -1;
    for (int i = 0; i < containers.size(); i++) {
      if (Keys.COMPUTE_CONTAINER.equals(containers.get(i).path("name").asText(null))) {
        if (computeIndex >= 0) {
          return skip(pod, Skip.DUPLICATE_COMPUTE);
        }
        computeIndex = i;
      }
    }
    if (computeIndex < 0) {
      return skip(pod, Skip.NO_COMPUTE);
    }
    JsonNode compute = containers.get(computeIndex);
    if (!compute.isObject()) {
      return skip(pod, Skip.MALFORMED);
    }
    JsonNode command = compute.get("command");
    if (command == null || command.isNull() || (command.isArray() && command.isEmpty())) {
      return skip(pod, Skip.NO_COMMAND);
    }
    JsonNode args = compute.get("args");
    boolean noArgs = args == null || args.isNull();
    if (!command.isArray()
        || !allStrings(command)
        || !(noArgs || args.isArray() && allStrings(args))) {
      return skip(pod, Skip.BAD_COMMAND);
    }
    JsonNode lifecycle = compute.get("lifecycle");
    boolean noLifecycle = lifecycle == null || lifecycle.isNull();
    if (!noLifecycle && !lifecycle.isObject()) {
      return skip(pod, Skip.MALFORMED);
    }
    if (!noLifecycle && lifecycle.hasNonNull("postStart")) {
      // One hook per container: theirs stays, ours is not added (running both in one hook would
      // change what theirs means, and an httpGet or sleep hook cannot be chained at all).
      return skip(pod, Skip.HAS_POST_START);
    }
    if (!annotations.isMissingNode() && !annotations.isNull() && !annotations.isObject()) {
      return skip(pod, Skip.MALFORMED);
    }

    List<String> launcherArgv = new ArrayList<>(command.size() + (noArgs ? 0 : args.size()));
    command.forEach(part -> launcherArgv.add(part.textValue()));
    if (!noArgs) {
      args.forEach(part -> launcherArgv.add(part.textValue()));
    }
    TreeEdit edit = new TreeEdit((ObjectNode) pod);
    ObjectNode copy = edit.root();
    ArrayNode copyContainers = edit.array(edit.object(copy, "spec"), "containers");
    ObjectNode copyCompute = edit.object(copyContainers, computeIndex);
    ObjectNode exec =
        edit.newObject(
            edit.newObject(edit.objectOrNew(copyCompute, "lifecycle"), "postStart"), "exec");
    ArrayNode hookCommand = edit.newArray(exec, "command");
    hook.command(terminationLog(compute), launcherArgv).forEach(hookCommand::add);
    // metadata is an object (it had the launcher's labels) and annotations one or absent (above)
    edit.objectOrNew(edit.object(copy, "metadata"), "annotations")
        .put(Keys.INJECTION_STATUS, statusAnnotation);
    return new Verdict.Allow(copy, List.of(), "mutated");
  }

  /**
   * The hook text for the default termination log: the same instance in every patch, so the answer
   * writer JSON-encodes it once instead of on every review (bench/BENCHMARKS.md).
   */
  public Set<String> recurringStrings() {
    return Set.of(hook.text(MonitorHook.DEFAULT_TERMINATION_LOG));
  }

  /** The postStart hook's command for this compute container (tests). */
  List<String> hookCommand(JsonNode compute, List<String> launcherArgv) {
    return hook.command(terminationLog(compute), launcherArgv);
  }

  private static String terminationLog(JsonNode compute) {
    JsonNode path = compute.get("terminationMessagePath");
    return path != null && path.isTextual() && !path.textValue().isEmpty()
        ? path.textValue()
        : MonitorHook.DEFAULT_TERMINATION_LOG;
  }

  private static boolean allStrings(JsonNode array) {
    for (JsonNode element : array) {
      if (!element.isTextual()) {
        return false;
      }
    }
    return true;
  }

  private static Verdict skip(JsonNode pod, Skip reason) {
    List<String> warnings =
        reason.warning == null ? List.of() : List.of("vmpower: " + reason.warning);
    return new Verdict.Allow(pod, warnings, reason.decision);
  }
}
