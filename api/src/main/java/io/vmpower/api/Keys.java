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
   * Namespace annotation: the run policy of every VM created or updated in the namespace without
   * its own {@link #RUN_POLICY} annotation (the webhook stores it on the VM, with a warning).
   */
  public static final String DEFAULT_RUN_POLICY = "vmpower.io/default-run-policy";

  /**
   * VM annotation {@code "true"}: vmpower is suspended for the VM (maintenance). The VM webhook
   * lets any runStrategy through and the controller neither starts nor restarts it; removing it (or
   * {@code "false"}) restores the policy's runStrategy.
   */
  public static final String MAINTENANCE = "vmpower.io/maintenance";

  /**
   * VM annotation: why the VM is in maintenance, free text; set by the VM webhook when it puts a VM
   * into maintenance for KubeVirt's own runStrategy write, optional for users.
   */
  public static final String MAINTENANCE_REASON = "vmpower.io/maintenance-reason";

  /**
   * VM annotation written by the controller: when it first saw the VM in maintenance (RFC 3339);
   * its Events on entering and leaving maintenance are keyed on it.
   */
  public static final String MAINTENANCE_SINCE = "vmpower.io/maintenance-since";

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
   * KubeVirt's VM annotation: the runStrategy virt-controller restores on a {@code WaitAsReceiver}
   * VM once the decentralized live migration into it has completed.
   */
  public static final String KUBEVIRT_RESTORE_RUN_STRATEGY = "kubevirt.io/restore-run-strategy";

  /**
   * KubeVirt's VM annotation: the VirtualMachineRestore that last wrote the VM (a VM a restore
   * created carries it from its creation).
   */
  public static final String KUBEVIRT_LAST_RESTORE = "restore.kubevirt.io/lastRestoreUID";

  /**
   * KubeVirt's label on the target pod of a live migration: the uid of its
   * VirtualMachineInstanceMigration (v1.8 {@code MigrationJobLabel}).
   */
  public static final String KUBEVIRT_MIGRATION_JOB = "kubevirt.io/migrationJobUID";

  /** The virt-launcher container that runs QEMU. */
  public static final String COMPUTE_CONTAINER = "compute";
}
