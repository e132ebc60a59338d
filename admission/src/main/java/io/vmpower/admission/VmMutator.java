package io.vmpower.admission;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmpower.admission.RunStrategyRules.Decision;
import io.vmpower.api.Keys;
import io.vmpower.api.KubeVirtAccounts;
import io.vmpower.api.NamespaceDefault;
import io.vmpower.api.RunPolicy;
import io.vmpower.api.admission.AdmissionInput;
import io.vmpower.api.admission.Mutator;
import io.vmpower.api.admission.TreeEdit;
import io.vmpower.api.admission.Verdict;
import io.vmpower.api.status.Maintenance;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Turns a VirtualMachine's run policy annotation (its own, or its namespace's default) into
 * KubeVirt's {@code spec.runStrategy} (DESIGN.md section 2), labels the VM and its template with
 * the policy, and leaves the runStrategy alone where the policy is suspended or KubeVirt itself
 * writes it ({@link RunStrategyRules}). Works on a copy-on-write edit of the submitted tree ({@link
 * TreeEdit}), so every field it does not own survives as is.
 *
 * <p>The controller applies the same rules to stored VMs the webhook never saw ({@link InLine}).
 */
public final class VmMutator implements Mutator {

  private static final String VALID_VALUES = quoted(RunPolicy.values(false));

  private final ClusterView cluster;
  private final KubeVirtAccounts kubevirt;

  /** Empty: the native reboot policy is left as stored ({@link #forStoredVms}). */
  private final Optional<RebootPolicyGate> nativeRebootPolicy;

  /**
   * Without a cluster: no namespace defaults, KubeVirt in its upstream namespace, no native reboot
   * policy.
   */
  public VmMutator() {
    this(ClusterView.NONE, KubeVirtAccounts.DEFAULT, RebootPolicyGate.CLOSED);
  }

  /**
   * @param nativeRebootPolicy whether managed VMs get {@code rebootPolicy: Terminate} now (the
   *     setting and KubeVirt's feature gate, answered from memory: {@link NativeRebootPolicy})
   */
  public VmMutator(
      ClusterView cluster, KubeVirtAccounts kubevirt, RebootPolicyGate nativeRebootPolicy) {
    this(cluster, kubevirt, Optional.of(nativeRebootPolicy));
  }

  private VmMutator(
      ClusterView cluster,
      KubeVirtAccounts kubevirt,
      Optional<RebootPolicyGate> nativeRebootPolicy) {
    this.cluster = cluster;
    this.kubevirt = kubevirt;
    this.nativeRebootPolicy = nativeRebootPolicy;
  }

  /**
   * The rules the controller applies to stored VMs ({@link InLine}): all of them but the native
   * reboot policy, which a VM gets or loses on its own next write (README "Native reboot policy"),
   * not the whole fleet at once when KubeVirt's gate changes (a template change on a running VM is
   * a {@code RestartRequired} for KubeVirt).
   */
  public static VmMutator forStoredVms(ClusterView cluster, KubeVirtAccounts kubevirt) {
    return new VmMutator(cluster, kubevirt, Optional.empty());
  }

  @Override
  public Verdict review(AdmissionInput input) {
    if (!input.isCreate() && !input.isUpdate()) {
      return new Verdict.Allow(input.object(), List.of(), "ignored");
    }
    try {
      return decide(input);
    } catch (MalformedVm e) {
      return new Verdict.Deny(400, "BadRequest", e.getMessage(), "malformed");
    }
  }

  private Verdict decide(AdmissionInput input) throws MalformedVm {
    JsonNode vm = input.object();
    Optional<String> annotation = policyAnnotation(vm);
    Optional<RunPolicy> oldPolicy =
        input.isUpdate() ? oldPolicyOf(input.oldObject()) : Optional.empty();
    List<String> warnings = new ArrayList<>();

    boolean defaulted = false;
    if (annotation.isEmpty()) {
      NamespaceDefault fallback = cluster.namespaceDefault(input.namespace());
      if (fallback instanceof NamespaceDefault.NotLoaded) {
        return new Verdict.Deny(
            503,
            "ServiceUnavailable",
            "vmpower has not loaded the namespaces' default run policies yet (it is starting);"
                + " retry, or give the VM its own "
                + Keys.RUN_POLICY
                + " annotation",
            "defaults-not-loaded");
      }
      if (fallback instanceof NamespaceDefault.Valid valid) {
        annotation = Optional.of(valid.policy().value());
        defaulted = true;
      } else {
        if (fallback instanceof NamespaceDefault.Invalid invalid) {
          warnings.add(invalidDefault(input.namespace(), invalid.value()));
        }
        return oldPolicy.isPresent()
                || vm.path("metadata").path("annotations").has(Keys.NATIVE_REBOOT_POLICY)
            ? unmanage(vm, warnings)
            : new Verdict.Allow(vm, warnings, "unmanaged");
      }
    }
    Optional<RunPolicy.Parsed> parsed = RunPolicy.parse(annotation.get());
    if (parsed.isEmpty()) {
      return new Verdict.Deny(
          422,
          "Invalid",
          unsupported(Keys.RUN_POLICY, annotation.get(), VALID_VALUES),
          "invalid-policy");
    }
    Optional<Boolean> maintenance = Maintenance.parse(annotationText(vm, Keys.MAINTENANCE));
    if (maintenance.isEmpty()) {
      return new Verdict.Deny(
          422,
          "Invalid",
          unsupported(
              Keys.MAINTENANCE,
              annotationText(vm, Keys.MAINTENANCE),
              quoted(List.of(Maintenance.ON, Maintenance.OFF))),
          "invalid-maintenance");
    }
    RunPolicy policy = parsed.get().policy();
    boolean wasInMaintenance =
        input.isUpdate()
            && Maintenance.isOn(lenientAnnotation(input.oldObject(), Keys.MAINTENANCE));
    Decision runStrategy =
        RunStrategyRules.decide(
            input,
            policy,
            oldPolicy.isPresent() && oldPolicy.get() == policy,
            maintenance.get(),
            wasInMaintenance,
            kubevirt,
            cluster);
    if (runStrategy instanceof Decision.Refuse refuse) {
      return new Verdict.Deny(403, "Forbidden", refuse.message(), "power-change");
    }

    TreeEdit edit = new TreeEdit((ObjectNode) vm);
    ObjectNode copy = edit.root();
    if (defaulted) {
      annotations(edit).put(Keys.RUN_POLICY, policy.value());
      warnings.add(
          Keys.RUN_POLICY
              + "="
              + policy.value()
              + ": the default of namespace "
              + BadReviewException.shorten(input.namespace(), 40));
    } else if (parsed.get().alias()) {
      annotations(edit).put(Keys.RUN_POLICY, policy.value());
      warnings.add(
          Keys.RUN_POLICY
              + ": "
              + RunPolicy.LEGACY_ALIAS
              + " is deprecated, stored as "
              + policy.value());
    }
    ObjectNode spec = objectAt(edit, copy, "spec", "spec");
    applyRunStrategy(edit, spec, runStrategy, policy, wasInMaintenance, warnings);
    ObjectNode template = objectAt(edit, spec, "template", "spec.template");
    ObjectNode templateMetadata = objectAt(edit, template, "metadata", "spec.template.metadata");
    objectAt(edit, templateMetadata, "labels", "spec.template.metadata.labels")
        .put(Keys.RUN_POLICY, policy.value());
    // On the VM itself too, for kubectl get vm -L / -l (KubeVirt copies template labels only).
    objectAt(edit, objectAt(edit, copy, "metadata", "metadata"), "labels", "metadata.labels")
        .put(Keys.RUN_POLICY, policy.value());
    boolean entersUnlessStopped =
        policy == RunPolicy.ALWAYS_ON_UNLESS_STOPPED_MANUALLY
            && (input.isCreate() || oldPolicy.orElse(null) != policy)
            // a migration target runs once the migration completes: no first start is owed
            && !(runStrategy instanceof Decision.Receive);
    if (entersUnlessStopped) {
      annotations(edit).put(Keys.START_PENDING, "true");
    } else if (policy != RunPolicy.ALWAYS_ON_UNLESS_STOPPED_MANUALLY) {
      removeAnnotation(edit, Keys.START_PENDING);
    }
    if (nativeRebootPolicy.isPresent()) {
      NativeRebootPolicy.managed(edit, nativeRebootPolicy.get().open(), warnings);
    }
    return allow(vm, copy, warnings);
  }

  private static void applyRunStrategy(
      TreeEdit edit,
      ObjectNode spec,
      Decision decision,
      RunPolicy policy,
      boolean wasInMaintenance,
      List<String> warnings)
      throws MalformedVm {
    if (decision instanceof Decision.Enforce) {
      JsonNode running = spec.remove("running");
      if (running != null) {
        warnings.add(
            "spec.running removed: run policy "
                + policy.value()
                + " sets spec.runStrategy: "
                + policy.runStrategy());
      }
      JsonNode before = spec.get("runStrategy");
      spec.put("runStrategy", policy.runStrategy());
      if (wasInMaintenance && (before == null || !policy.runStrategy().equals(before.asText()))) {
        warnings.add(
            Keys.MAINTENANCE
                + " ended: spec.runStrategy is "
                + policy.runStrategy()
                + " again (run policy "
                + policy.value()
                + ")");
      }
      removeAnnotation(edit, Keys.MAINTENANCE_REASON);
    } else if (decision instanceof Decision.Receive) {
      ObjectNode annotations = annotations(edit);
      JsonNode restore = annotations.get(Keys.KUBEVIRT_RESTORE_RUN_STRATEGY);
      if (restore != null && !policy.runStrategy().equals(restore.asText())) {
        warnings.add(
            Keys.KUBEVIRT_RESTORE_RUN_STRATEGY
                + " set to "
                + policy.runStrategy()
                + ", the runStrategy of run policy "
                + policy.value());
      }
      annotations.put(Keys.KUBEVIRT_RESTORE_RUN_STRATEGY, policy.runStrategy());
      removeAnnotation(edit, Keys.MAINTENANCE_REASON);
    } else if (decision instanceof Decision.HaltedByKubeVirt halted) {
      ObjectNode annotations = annotations(edit);
      annotations.put(Keys.MAINTENANCE, Maintenance.ON);
      annotations.put(Keys.MAINTENANCE_REASON, halted.reason());
      warnings.add(Keys.MAINTENANCE + "=true set: " + halted.reason());
    }
    // Keep (maintenance): the user, or KubeVirt, decides the runStrategy until it ends.
  }

  /**
   * The policy annotation was removed: the VM is no longer ours. runStrategy stays as it is; the
   * labels and start-pending go.
   */
  private Verdict unmanage(JsonNode vm, List<String> warnings) {
    TreeEdit edit = new TreeEdit((ObjectNode) vm);
    if (vm.path("spec").path("template").path("metadata").path("labels").has(Keys.RUN_POLICY)) {
      ObjectNode spec = edit.object(edit.root(), "spec");
      ObjectNode metadata = edit.object(edit.object(spec, "template"), "metadata");
      edit.object(metadata, "labels").remove(Keys.RUN_POLICY);
    }
    if (vm.path("metadata").path("labels").has(Keys.RUN_POLICY)) {
      edit.object(edit.object(edit.root(), "metadata"), "labels").remove(Keys.RUN_POLICY);
    }
    removeAnnotation(edit, Keys.START_PENDING);
    if (nativeRebootPolicy.isPresent()) {
      NativeRebootPolicy.unmanaged(edit, warnings);
    }
    return allow(vm, edit.root(), warnings);
  }

  private static Verdict allow(JsonNode original, JsonNode copy, List<String> warnings) {
    // An unchanged VM (most UPDATEs) is answered with the submitted tree itself, so the handler
    // skips computing a diff that would be empty.
    return copy.equals(original)
        ? new Verdict.Allow(original, warnings, "unchanged")
        : new Verdict.Allow(copy, warnings, "mutated");
  }

  private static String invalidDefault(String namespace, String value) {
    return "namespace "
        + BadReviewException.shorten(namespace, 40)
        + ": "
        + Keys.DEFAULT_RUN_POLICY
        + " \""
        + BadReviewException.shorten(value, 20)
        + "\" is no run policy, ignored";
  }

  private static String unsupported(String key, String value, String valid) {
    return "metadata.annotations["
        + key
        + "]: Unsupported value: \""
        + BadReviewException.shorten(value, 63)
        + "\": supported values: "
        + valid;
  }

  private static String quoted(List<String> values) {
    return values.stream().map(v -> "\"" + v + "\"").collect(Collectors.joining(", "));
  }

  /** The policy annotation of the submitted object; empty when absent. */
  private static Optional<String> policyAnnotation(JsonNode vm) throws MalformedVm {
    return Optional.ofNullable(annotationText(vm, Keys.RUN_POLICY));
  }

  /** A string annotation of the submitted object; null when absent; malformed if not a string. */
  private static String annotationText(JsonNode vm, String key) throws MalformedVm {
    JsonNode metadata = vm.get("metadata");
    if (metadata == null || metadata.isNull()) {
      return null;
    }
    if (!metadata.isObject()) {
      throw new MalformedVm("metadata must be an object");
    }
    JsonNode annotations = metadata.get("annotations");
    if (annotations == null || annotations.isNull()) {
      return null;
    }
    if (!annotations.isObject()) {
      throw new MalformedVm("metadata.annotations must be an object");
    }
    JsonNode value = annotations.get(key);
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isTextual()) {
      throw new MalformedVm("metadata.annotations[" + key + "] must be a string");
    }
    return value.textValue();
  }

  /** An annotation of the stored object; anything unreadable counts as absent. */
  private static String lenientAnnotation(JsonNode stored, String key) {
    JsonNode value = stored.path("metadata").path("annotations").path(key);
    return value.isTextual() ? value.textValue() : null;
  }

  /** The stored object's policy; a stored object we cannot read counts as unmanaged. */
  private static Optional<RunPolicy> oldPolicyOf(JsonNode oldVm) {
    return RunPolicy.parse(lenientAnnotation(oldVm, Keys.RUN_POLICY)).map(RunPolicy.Parsed::policy);
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
