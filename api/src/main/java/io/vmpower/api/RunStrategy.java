package io.vmpower.api;

/** KubeVirt's {@code spec.runStrategy} values vmpower writes or reacts to. */
public final class RunStrategy {
  private RunStrategy() {}

  public static final String ALWAYS = "Always";
  public static final String HALTED = "Halted";
  public static final String MANUAL = "Manual";

  /**
   * The target VM of a decentralized live migration (feature gate {@code
   * DecentralizedLiveMigration}): virt-controller creates a receiving VMI and, once the migration
   * has completed, sets the runStrategy from {@link Keys#KUBEVIRT_RESTORE_RUN_STRATEGY}.
   */
  public static final String WAIT_AS_RECEIVER = "WaitAsReceiver";
}
