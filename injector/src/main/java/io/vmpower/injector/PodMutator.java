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
 * Makes the {@code compute} container of a managed virt-launcher pod start the domain monitor
 * before it execs the launcher (DESIGN.md section 3).
 *
 * <p>The new command is {@code /bin/bash -c <wrapper> vmpower-launcher <original command...>};
 * {@code args} are left alone, so the launcher gets exactly the argv it had (for both pod shapes:
 * everything in {@code command}, or {@code command} + {@code args}). The wrapper starts the monitor
 * in the background and {@code exec}s {@code "$@"}: the launcher keeps its PID, signals and exit
 * code.
 *
 * <p>A pod it cannot inject is let through unchanged with a warning: a VM must never fail to start
 * because of vmpower.
 */
public final class PodMutator implements Mutator {
  /** {@code $0} of the wrapper shell: what {@code ps} shows until the launcher is exec'd. */
  static final String WRAPPER_NAME = "vmpower-launcher";

  private static final String DEFAULT_TERMINATION_LOG = "/dev/termination-log";
  private static final JsonMapper JSON = new JsonMapper();

  private final String script;
  private final String statusAnnotation;

  /**
   * The wrapper for the default termination log, built once: quoting the 11 KB script on every
   * review was a tenth of a pod review's cost (bench/BENCHMARKS.md).
   */
  private final String defaultWrapper;

  public PodMutator(String script, String scriptSha256, String version) {
    this.script = script;
    Map<String, String> status = new LinkedHashMap<>();
    status.put("version", version);
    status.put("container", Keys.COMPUTE_CONTAINER);
    status.put("script", "sha256:" + scriptSha256);
    this.statusAnnotation = JSON.valueToTree(status).toString();
    this.defaultWrapper = buildWrapper(DEFAULT_TERMINATION_LOG);
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
        "compute container command is not a list of strings; domain monitor not injected"),
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
    if (!command.isArray() || !allStrings(command)) {
      return skip(pod, Skip.BAD_COMMAND);
    }
    if (!annotations.isMissingNode() && !annotations.isNull() && !annotations.isObject()) {
      return skip(pod, Skip.MALFORMED);
    }

    TreeEdit edit = new TreeEdit((ObjectNode) pod);
    ObjectNode copy = edit.root();
    ArrayNode copyContainers = edit.array(edit.object(copy, "spec"), "containers");
    ObjectNode copyCompute = edit.object(copyContainers, computeIndex);
    ArrayNode injected = edit.newArray(copyCompute, "command");
    for (String part : launchCommand(compute)) {
      injected.add(part);
    }
    injected.addAll((ArrayNode) command);
    // metadata is an object (it had the launcher's labels) and annotations one or absent (above)
    edit.objectOrNew(edit.object(copy, "metadata"), "annotations")
        .put(Keys.INJECTION_STATUS, statusAnnotation);
    return new Verdict.Allow(copy, List.of(), "mutated");
  }

  /**
   * The wrapper for the default termination log: the same instance in every patch, so the answer
   * writer JSON-encodes it once instead of on every review (bench/BENCHMARKS.md).
   */
  public Set<String> recurringStrings() {
    return Set.of(defaultWrapper);
  }

  /** The argv prefix placed before the launcher's original command. */
  List<String> launchCommand(JsonNode compute) {
    List<String> prefix = new ArrayList<>(4);
    prefix.add("/bin/bash");
    prefix.add("-c");
    prefix.add(wrapper(terminationLog(compute)));
    prefix.add(WRAPPER_NAME);
    return prefix;
  }

  /**
   * The wrapper: the monitor runs as its own bash in the background with the launcher's argv (it
   * reads {@code --namespace}/{@code --name} from it), stdin closed so it never competes for it.
   */
  String wrapper(String terminationLog) {
    return DEFAULT_TERMINATION_LOG.equals(terminationLog)
        ? defaultWrapper
        : buildWrapper(terminationLog);
  }

  private String buildWrapper(String terminationLog) {
    String environment =
        DEFAULT_TERMINATION_LOG.equals(terminationLog)
            ? ""
            : "VMPOWER_TERMINATION_LOG=" + singleQuoted(terminationLog) + " ";
    return "# vmpower: start the domain monitor, then become the launcher ("
        + Keys.INJECTION_STATUS
        + ")\n"
        + environment
        + "/bin/bash -c "
        + singleQuoted(script)
        + " vmpower-domain-monitor \"$@\" </dev/null &\n"
        + "exec \"$@\"\n";
  }

  private static String terminationLog(JsonNode compute) {
    JsonNode path = compute.get("terminationMessagePath");
    return path != null && path.isTextual() && !path.textValue().isEmpty()
        ? path.textValue()
        : DEFAULT_TERMINATION_LOG;
  }

  /** POSIX single quoting: the only character needing care inside '...' is ' itself. */
  static String singleQuoted(String text) {
    return "'" + text.replace("'", "'\\''") + "'";
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
