package io.vmpower.admission;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmpower.api.Keys;
import io.vmpower.api.RunPolicy;
import io.vmpower.api.admission.AdmissionInput;
import io.vmpower.api.admission.Mutator;
import io.vmpower.api.admission.TreeEdit;
import io.vmpower.api.admission.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Turns a VirtualMachine's run policy annotation into KubeVirt's {@code spec.runStrategy}
 * (DESIGN.md section 2). Works on a copy-on-write edit of the submitted tree ({@link TreeEdit}), so
 * every field it does not own survives as is.
 */
public final class VmMutator implements Mutator {

  private final RebootPolicyGate nativeRebootPolicy;

  /** Without the native reboot policy. */
  public VmMutator() {
    this(RebootPolicyGate.CLOSED);
  }

  /**
   * @param nativeRebootPolicy whether managed VMs get {@code rebootPolicy: Terminate} now (the
   *     setting and KubeVirt's feature gate, answered from memory: {@link NativeRebootPolicy})
   */
  public VmMutator(RebootPolicyGate nativeRebootPolicy) {
    this.nativeRebootPolicy = nativeRebootPolicy;
  }

  private static final String VALID_VALUES =
      RunPolicy.values(false).stream().map(v -> "\"" + v + "\"").collect(Collectors.joining(", "));

  @Override
  public Verdict review(AdmissionInput input) {
    if (!input.isCreate() && !input.isUpdate()) {
      return new Verdict.Allow(input.object(), List.of(), "ignored");
    }
    try {
      return decide(input);
    } catch (MalformedVm e) {
      return new Verdict.Deny(400, "BadRequest", e.getMessage());
    }
  }

  private Verdict decide(AdmissionInput input) throws MalformedVm {
    JsonNode vm = input.object();
    Optional<String> annotation = policyAnnotation(vm);
    Optional<RunPolicy> oldPolicy =
        input.isUpdate() ? oldPolicyOf(input.oldObject()) : Optional.empty();

    if (annotation.isEmpty()) {
      return oldPolicy.isPresent()
              || vm.path("metadata").path("annotations").has(Keys.NATIVE_REBOOT_POLICY)
          ? unmanage(vm)
          : new Verdict.Allow(vm, List.of(), "unmanaged");
    }
    Optional<RunPolicy.Parsed> parsed = RunPolicy.parse(annotation.get());
    if (parsed.isEmpty()) {
      return new Verdict.Deny(
          422,
          "Invalid",
          "metadata.annotations["
              + Keys.RUN_POLICY
              + "]: Unsupported value: \""
              + BadReviewException.shorten(annotation.get(), 63)
              + "\": supported values: "
              + VALID_VALUES);
    }
    RunPolicy policy = parsed.get().policy();
    boolean policyUnchanged = oldPolicy.isPresent() && oldPolicy.get() == policy;
    if (policyUnchanged) {
      Optional<String> refusal = refusedPowerChange(input, policy);
      if (refusal.isPresent()) {
        return new Verdict.Deny(403, "Forbidden", refusal.get());
      }
    }

    TreeEdit edit = new TreeEdit((ObjectNode) vm);
    ObjectNode copy = edit.root();
    List<String> warnings = new ArrayList<>();
    if (parsed.get().alias()) {
      annotations(edit).put(Keys.RUN_POLICY, policy.value());
      warnings.add(
          Keys.RUN_POLICY
              + ": "
              + RunPolicy.LEGACY_ALIAS
              + " is deprecated, stored as "
              + policy.value());
    }
    ObjectNode spec = objectAt(edit, copy, "spec", "spec");
    JsonNode running = spec.remove("running");
    if (running != null) {
      warnings.add(
          "spec.running removed: run policy "
              + policy.value()
              + " sets spec.runStrategy: "
              + policy.runStrategy());
    }
    spec.put("runStrategy", policy.runStrategy());
    ObjectNode template = objectAt(edit, spec, "template", "spec.template");
    ObjectNode templateMetadata = objectAt(edit, template, "metadata", "spec.template.metadata");
    objectAt(edit, templateMetadata, "labels", "spec.template.metadata.labels")
        .put(Keys.RUN_POLICY, policy.value());
    boolean entersUnlessStopped =
        policy == RunPolicy.ALWAYS_ON_UNLESS_STOPPED_MANUALLY
            && (input.isCreate() || oldPolicy.orElse(null) != policy);
    if (entersUnlessStopped) {
      annotations(edit).put(Keys.START_PENDING, "true");
    } else if (policy != RunPolicy.ALWAYS_ON_UNLESS_STOPPED_MANUALLY) {
      removeAnnotation(edit, Keys.START_PENDING);
    }
    NativeRebootPolicy.managed(edit, nativeRebootPolicy.open(), warnings);
    return allow(vm, copy, warnings);
  }

  /** The policy annotation was removed: the VM is no longer ours. runStrategy stays as it is. */
  private static Verdict unmanage(JsonNode vm) {
    TreeEdit edit = new TreeEdit((ObjectNode) vm);
    if (vm.path("spec").path("template").path("metadata").path("labels").has(Keys.RUN_POLICY)) {
      ObjectNode spec = edit.object(edit.root(), "spec");
      ObjectNode metadata = edit.object(edit.object(spec, "template"), "metadata");
      edit.object(metadata, "labels").remove(Keys.RUN_POLICY);
    }
    removeAnnotation(edit, Keys.START_PENDING);
    List<String> warnings = new ArrayList<>();
    NativeRebootPolicy.unmanaged(edit, warnings);
    return allow(vm, edit.root(), warnings);
  }

  private static Verdict allow(JsonNode original, JsonNode copy, List<String> warnings) {
    // An unchanged VM (most UPDATEs) is answered with the submitted tree itself, so the handler
    // skips computing a diff that would be empty.
    return copy.equals(original)
        ? new Verdict.Allow(original, warnings, "unchanged")
        : new Verdict.Allow(copy, warnings, "mutated");
  }

  /**
   * An UPDATE that keeps the policy but moves runStrategy/running away from it is what {@code
   * virtctl stop} on an AlwaysOn VM or {@code virtctl start} on an AlwaysOff VM does: refuse and
   * say how.
   */
  private static Optional<String> refusedPowerChange(AdmissionInput input, RunPolicy policy) {
    JsonNode spec = input.object().path("spec");
    JsonNode oldSpec = input.oldObject().path("spec");
    JsonNode strategy = spec.get("runStrategy");
    JsonNode running = spec.get("running");
    boolean changed =
        !Objects.equals(strategy, oldSpec.get("runStrategy"))
            || !Objects.equals(running, oldSpec.get("running"));
    if (!changed) {
      return Optional.empty();
    }
    String requested;
    if (strategy != null && !strategy.isNull() && !policy.runStrategy().equals(strategy.asText())) {
      requested = "spec.runStrategy: " + BadReviewException.shorten(strategy.asText(), 63);
    } else if (running != null
        && !running.isNull()
        && !runningMatches(running, policy)
        && oldSpec.has("running")) {
      // vmpower never stores spec.running, so one that appears was re-sent by an apply of the
      // user's manifest (virtctl changes runStrategy on such VMs): removed below, not refused.
      requested = "spec.running: " + BadReviewException.shorten(running.asText(), 63);
    } else {
      return Optional.empty();
    }
    return Optional.of(
        "VirtualMachine "
            + input.namespace()
            + "/"
            + input.name()
            + " has run policy "
            + policy.value()
            + ", which keeps spec.runStrategy: "
            + policy.runStrategy()
            + "; refusing "
            + requested
            + ". "
            + howToChange(policy));
  }

  private static boolean runningMatches(JsonNode running, RunPolicy policy) {
    return running.isBoolean()
        && (running.booleanValue() ? "Always" : "Halted").equals(policy.runStrategy());
  }

  private static String howToChange(RunPolicy policy) {
    String annotate = "kubectl annotate vm NAME --overwrite " + Keys.RUN_POLICY + "=";
    return switch (policy) {
      case ALWAYS_ON -> "To stop it, change its policy first, e.g. " + annotate + "Manual";
      case ALWAYS_OFF -> "To start it, change its policy first, e.g. " + annotate + "AlwaysOn";
      case MANUAL, ALWAYS_ON_UNLESS_STOPPED_MANUALLY ->
          "Start and stop it with virtctl start/stop, or change its policy with " + annotate + "…";
    };
  }

  /** The policy annotation of the submitted object; empty when absent. */
  private static Optional<String> policyAnnotation(JsonNode vm) throws MalformedVm {
    JsonNode metadata = vm.get("metadata");
    if (metadata == null || metadata.isNull()) {
      return Optional.empty();
    }
    if (!metadata.isObject()) {
      throw new MalformedVm("metadata must be an object");
    }
    JsonNode annotations = metadata.get("annotations");
    if (annotations == null || annotations.isNull()) {
      return Optional.empty();
    }
    if (!annotations.isObject()) {
      throw new MalformedVm("metadata.annotations must be an object");
    }
    JsonNode value = annotations.get(Keys.RUN_POLICY);
    if (value == null || value.isNull()) {
      return Optional.empty();
    }
    if (!value.isTextual()) {
      throw new MalformedVm("metadata.annotations[" + Keys.RUN_POLICY + "] must be a string");
    }
    return Optional.of(value.textValue());
  }

  /** The stored object's policy; a stored object we cannot read counts as unmanaged. */
  private static Optional<RunPolicy> oldPolicyOf(JsonNode oldVm) {
    try {
      return policyAnnotation(oldVm).flatMap(RunPolicy::parse).map(RunPolicy.Parsed::policy);
    } catch (MalformedVm e) {
      return Optional.empty();
    }
  }

  private static ObjectNode annotations(TreeEdit edit) throws MalformedVm {
    ObjectNode metadata = objectAt(edit, edit.root(), "metadata", "metadata");
    return objectAt(edit, metadata, "annotations", "metadata.annotations");
  }

  private static void removeAnnotation(TreeEdit edit, String key) {
    if (edit.root().path("metadata").path("annotations").has(key)) {
      edit.object(edit.object(edit.root(), "metadata"), "annotations").remove(key);
    }
  }

  /**
   * The object under {@code field} of an edited object, as the editor's copy, created when absent;
   * anything else there is malformed.
   */
  private static ObjectNode objectAt(TreeEdit edit, ObjectNode parent, String field, String path)
      throws MalformedVm {
    ObjectNode child = edit.objectOrNew(parent, field);
    if (child == null) {
      throw new MalformedVm(
          path + " must be an object, got " + parent.get(field).getNodeType().name().toLowerCase());
    }
    return child;
  }

  /** The submitted VM has a shape no KubeVirt VM can have. */
  private static final class MalformedVm extends Exception {
    MalformedVm(String message) {
      super(message, null, false, false);
    }
  }
}
