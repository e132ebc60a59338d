package io.vmpower.controller;

import java.time.Duration;
import java.util.UUID;

/**
 * Everything the power controller can be tuned with, and the one place of their defaults: a
 * component given as null takes its default (production values; the leader-election timings are
 * client-go's). The application binds {@code vmpower.controller.*} properties onto this record, so
 * a property left unset is null here.
 *
 * @param leaseNamespace namespace of the Lease (the release namespace); default {@code
 *     $POD_NAMESPACE}, else {@code default}
 * @param leaseName name of the Lease
 * @param identity this replica's identity in the Lease (the pod name); default {@code $POD_NAME},
 *     {@code $HOSTNAME}, else a random one
 * @param leaseDuration how long a Lease stays valid without renewal; a standby takes over after it
 * @param renewDeadline how long the leader keeps acting without a successful renewal; must be
 *     shorter than {@code leaseDuration}
 * @param retryPeriod how often the Lease is renewed or its acquisition retried
 * @param workers reconcile worker threads
 * @param backoffBase first retry delay of a failing VM
 * @param backoffMax longest retry delay
 * @param resyncPeriod informer resync: every VM is reconciled again at least this often
 * @param podTerminationWait how long to wait for the compute container's termination message after
 *     the VMI went final before deciding without it
 * @param requestTimeout timeout of one start request to virt-api
 * @param restartBackoffBase the delay before the second restart of a VM that keeps stopping after
 *     short runs (the first is immediate), doubling from there (CrashLoopBackOff's 10 s)
 * @param restartBackoffMax the longest such delay (CrashLoopBackOff's and KubeVirt's 5 min)
 * @param restartBackoffReset a VMI that ran this long ends a VM's streak of restarts: backoff and
 *     give-up count start over (CrashLoopBackOff's 10 min)
 * @param restartLimit restarts of one streak within {@code restartLimitWindow} after which the
 *     controller gives up on the VM (0: never); see README "Restart-loop protection" for why 5
 * @param restartLimitWindow the give-up window (vSphere HA VM monitoring's 1 h)
 */
public record ControllerSettings(
    String leaseNamespace,
    String leaseName,
    String identity,
    Duration leaseDuration,
    Duration renewDeadline,
    Duration retryPeriod,
    Integer workers,
    Duration backoffBase,
    Duration backoffMax,
    Duration resyncPeriod,
    Duration podTerminationWait,
    Duration requestTimeout,
    Duration restartBackoffBase,
    Duration restartBackoffMax,
    Duration restartBackoffReset,
    Integer restartLimit,
    Duration restartLimitWindow) {

  public ControllerSettings {
    leaseNamespace = or(leaseNamespace, envOr("POD_NAMESPACE", "default"));
    leaseName = or(leaseName, "vmpower-controller");
    identity =
        or(
            identity,
            envOr(
                "POD_NAME",
                envOr("HOSTNAME", "vmpower-" + UUID.randomUUID().toString().substring(0, 8))));
    leaseDuration = or(leaseDuration, Duration.ofSeconds(15));
    renewDeadline = or(renewDeadline, Duration.ofSeconds(10));
    retryPeriod = or(retryPeriod, Duration.ofSeconds(2));
    workers = or(workers, 2);
    backoffBase = or(backoffBase, Duration.ofMillis(500));
    backoffMax = or(backoffMax, Duration.ofMinutes(5));
    resyncPeriod = or(resyncPeriod, Duration.ofMinutes(10));
    podTerminationWait = or(podTerminationWait, Duration.ofMinutes(2));
    requestTimeout = or(requestTimeout, Duration.ofSeconds(30));
    RestartLoops.Limits d = RestartLoops.Limits.DEFAULTS;
    restartBackoffBase = or(restartBackoffBase, d.base());
    restartBackoffMax = or(restartBackoffMax, d.max());
    restartBackoffReset = or(restartBackoffReset, d.resetAfter());
    restartLimit = or(restartLimit, d.limit());
    restartLimitWindow = or(restartLimitWindow, d.window());
    // Checked here, at start-up, with a message naming the properties.
    try {
      new RestartLoops.Limits(
          restartBackoffBase,
          restartBackoffMax,
          restartBackoffReset,
          restartLimit,
          restartLimitWindow);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "restart-backoff-base/-max, restart-limit: " + e.getMessage(), e);
    }
    if (leaseDuration.toSeconds() < 1) {
      throw new IllegalArgumentException("leaseDuration must be at least 1s (Lease has seconds)");
    }
    if (renewDeadline.compareTo(leaseDuration) >= 0) {
      throw new IllegalArgumentException("renewDeadline must be shorter than leaseDuration");
    }
    if (retryPeriod.compareTo(renewDeadline) >= 0) {
      throw new IllegalArgumentException("retryPeriod must be shorter than renewDeadline");
    }
    if (workers < 1) {
      throw new IllegalArgumentException("workers must be at least 1");
    }
  }

  /** Restart backoff and give-up, as the decision uses them. */
  RestartLoops.Limits restartLimits() {
    return new RestartLoops.Limits(
        restartBackoffBase,
        restartBackoffMax,
        restartBackoffReset,
        restartLimit,
        restartLimitWindow);
  }

  /**
   * Production defaults; identity from {@code POD_NAME}/{@code HOSTNAME}, namespace from {@code
   * POD_NAMESPACE}.
   */
  public static ControllerSettings defaults() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    return new Builder()
        .leaseNamespace(leaseNamespace)
        .leaseName(leaseName)
        .identity(identity)
        .leaseDuration(leaseDuration)
        .renewDeadline(renewDeadline)
        .retryPeriod(retryPeriod)
        .workers(workers)
        .backoffBase(backoffBase)
        .backoffMax(backoffMax)
        .resyncPeriod(resyncPeriod)
        .podTerminationWait(podTerminationWait)
        .requestTimeout(requestTimeout)
        .restartBackoffBase(restartBackoffBase)
        .restartBackoffMax(restartBackoffMax)
        .restartBackoffReset(restartBackoffReset)
        .restartLimit(restartLimit)
        .restartLimitWindow(restartLimitWindow);
  }

  private static <T> T or(T value, T fallback) {
    return value != null ? value : fallback;
  }

  private static String envOr(String name, String fallback) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? fallback : v;
  }

  /** Builder; what it is not given keeps its default. */
  public static final class Builder {
    private String leaseNamespace;
    private String leaseName;
    private String identity;
    private Duration leaseDuration;
    private Duration renewDeadline;
    private Duration retryPeriod;
    private Integer workers;
    private Duration backoffBase;
    private Duration backoffMax;
    private Duration resyncPeriod;
    private Duration podTerminationWait;
    private Duration requestTimeout;
    private Duration restartBackoffBase;
    private Duration restartBackoffMax;
    private Duration restartBackoffReset;
    private Integer restartLimit;
    private Duration restartLimitWindow;

    private Builder() {}

    public Builder leaseNamespace(String v) {
      leaseNamespace = v;
      return this;
    }

    public Builder leaseName(String v) {
      leaseName = v;
      return this;
    }

    public Builder identity(String v) {
      identity = v;
      return this;
    }

    public Builder leaseDuration(Duration v) {
      leaseDuration = v;
      return this;
    }

    public Builder renewDeadline(Duration v) {
      renewDeadline = v;
      return this;
    }

    public Builder retryPeriod(Duration v) {
      retryPeriod = v;
      return this;
    }

    public Builder workers(Integer v) {
      workers = v;
      return this;
    }

    public Builder backoffBase(Duration v) {
      backoffBase = v;
      return this;
    }

    public Builder backoffMax(Duration v) {
      backoffMax = v;
      return this;
    }

    public Builder resyncPeriod(Duration v) {
      resyncPeriod = v;
      return this;
    }

    public Builder podTerminationWait(Duration v) {
      podTerminationWait = v;
      return this;
    }

    public Builder requestTimeout(Duration v) {
      requestTimeout = v;
      return this;
    }

    public Builder restartBackoffBase(Duration v) {
      restartBackoffBase = v;
      return this;
    }

    public Builder restartBackoffMax(Duration v) {
      restartBackoffMax = v;
      return this;
    }

    public Builder restartBackoffReset(Duration v) {
      restartBackoffReset = v;
      return this;
    }

    public Builder restartLimit(Integer v) {
      restartLimit = v;
      return this;
    }

    public Builder restartLimitWindow(Duration v) {
      restartLimitWindow = v;
      return this;
    }

    public ControllerSettings build() {
      return new ControllerSettings(
          leaseNamespace,
          leaseName,
          identity,
          leaseDuration,
          renewDeadline,
          retryPeriod,
          workers,
          backoffBase,
          backoffMax,
          resyncPeriod,
          podTerminationWait,
          requestTimeout,
          restartBackoffBase,
          restartBackoffMax,
          restartBackoffReset,
          restartLimit,
          restartLimitWindow);
    }
  }
}
