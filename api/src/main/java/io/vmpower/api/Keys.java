package io.vmpower.api;

/** Every label and annotation key vmpower reads or writes, and the KubeVirt keys it relies on. */
public final class Keys {
  private Keys() {}

  /**
   * Namespace label that enables vmpower (both webhooks' namespaceSelector, the controller's
   * scope).
   */
  public static final String ENABLED = "vmpower.io/enabled";

  /** VM annotation holding the run policy, and the template/VMI/pod label carrying it along. */
  public static final String RUN_POLICY = "vmpower.io/run-policy";

  /** Pod annotation recording an injection (JSON); also the re-injection guard. */
  public static final String INJECTION_STATUS = "vmpower.io/injection-status";

  /**
   * VM annotation: the controller still owes an AlwaysOnUnlessStoppedManually VM its first start.
   */
  public static final String START_PENDING = "vmpower.io/start-pending";

  /**
   * VM annotation: the last power event the controller handled and the VM's restart-loop state
   * (JSON, {@link io.vmpower.api.power.LastPowerEvent}): the controller's dedup record, its restart
   * backoff and give-up state.
   */
  public static final String LAST_POWER_EVENT = "vmpower.io/last-power-event";

  /**
   * VM annotation written by the VM webhook: {@code Terminate} while it is vmpower that set {@code
   * spec.template.spec.domain.rebootPolicy: Terminate} (the native reboot policy), so that it takes
   * back only its own value — when KubeVirt's {@code RebootPolicy} feature gate is off, or the VM
   * leaves vmpower — and never a user's.
   */
  public static final String NATIVE_REBOOT_POLICY = "vmpower.io/native-reboot-policy";

  /** KubeVirt's label on virt-launcher pods ({@code kubevirt.io=virt-launcher}). */
  public static final String KUBEVIRT_APP = "kubevirt.io";

  public static final String KUBEVIRT_APP_LAUNCHER = "virt-launcher";

  /** KubeVirt's annotation on short-lived provisioning pods that never run a guest. */
  public static final String KUBEVIRT_EPHEMERAL_PROVISIONING = "kubevirt.io/ephemeral-provisioning";

  /**
   * KubeVirt's label on the target pod of a live migration: the uid of its
   * VirtualMachineInstanceMigration (v1.8 {@code MigrationJobLabel}).
   */
  public static final String KUBEVIRT_MIGRATION_JOB = "kubevirt.io/migrationJobUID";

  /** The virt-launcher container that runs QEMU. */
  public static final String COMPUTE_CONTAINER = "compute";
}
