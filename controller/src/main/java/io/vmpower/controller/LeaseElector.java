package io.vmpower.controller;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseSpec;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.Resource;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lease-based leader election, after client-go's. Own code rather than fabric8's LeaderElector for
 * one property: {@link #isLeader()} turns false the moment the renew deadline passes without a
 * successful renewal, even while a renewal request hangs, so the controller stops acting at once
 * and never overlaps with a successor (which must wait the longer lease duration).
 *
 * <p>Expiry of someone else's lease is judged by the local time at which its record was last seen
 * changing, not by the timestamps in it, so clock skew between replicas does not matter.
 */
final class LeaseElector implements AutoCloseable {
  /** Leadership callbacks; called on the elector's threads, must not block for long. */
  interface Callbacks {
    void startedLeading();

    void stoppedLeading();
  }

  private static final Logger log = LoggerFactory.getLogger(LeaseElector.class);

  private final KubernetesClient client;
  private final ControllerSettings settings;
  private final Callbacks callbacks;
  private final ScheduledExecutorService timer;
  private final Object lock = new Object();

  private volatile boolean leading;
  private volatile long validUntilNanos;
  private volatile boolean closed;
  // What we last saw of someone else's lease, and when (local monotonic time).
  private String observedHolder;
  private ZonedDateTime observedRenew;
  private long observedAtNanos;

  LeaseElector(KubernetesClient client, ControllerSettings settings, Callbacks callbacks) {
    this.client = client;
    this.settings = settings;
    this.callbacks = callbacks;
    this.timer =
        Executors.newScheduledThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "vmpower-leader-" + settings.identity());
              t.setDaemon(true);
              return t;
            });
  }

  void start() {
    timer.execute(this::tick);
    // A separate check, so that a renewal stuck in a slow request still ends leadership on time.
    long period = Math.max(10, settings.retryPeriod().toMillis() / 4);
    timer.scheduleWithFixedDelay(this::checkDeadline, period, period, TimeUnit.MILLISECONDS);
  }

  /** True while this replica holds the lease and has renewed it within the renew deadline. */
  boolean isLeader() {
    return leading && System.nanoTime() - validUntilNanos < 0;
  }

  private void tick() {
    if (closed) {
      return;
    }
    long attemptStarted = System.nanoTime();
    boolean held;
    try {
      held = tryAcquireOrRenew();
    } catch (KubernetesClientException e) {
      log.debug("lease {}/{}: {}", settings.leaseNamespace(), settings.leaseName(), e.getMessage());
      held = false;
    } catch (RuntimeException e) {
      log.warn("lease {}/{}: unexpected error", settings.leaseNamespace(), settings.leaseName(), e);
      held = false;
    }
    synchronized (lock) {
      if (closed) {
        return;
      }
      if (held) {
        // Measured from before the request: the API server may have recorded it any time after.
        validUntilNanos = attemptStarted + settings.renewDeadline().toNanos();
        if (!leading) {
          leading = true;
          log.info(
              "became leader (lease {}/{}, identity {})",
              settings.leaseNamespace(),
              settings.leaseName(),
              settings.identity());
          callbacks.startedLeading();
        }
      }
    }
    checkDeadline();
    long next = settings.retryPeriod().toMillis();
    if (!leading) {
      next = (long) (next * (1 + 0.2 * ThreadLocalRandom.current().nextDouble()));
    }
    try {
      timer.schedule(this::tick, next, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // closed meanwhile
    }
  }

  private void checkDeadline() {
    synchronized (lock) {
      if (leading && System.nanoTime() - validUntilNanos >= 0) {
        leading = false;
        log.warn(
            "lost leadership (lease {}/{} not renewed within {})",
            settings.leaseNamespace(),
            settings.leaseName(),
            settings.renewDeadline());
        callbacks.stoppedLeading();
      }
    }
  }

  private boolean tryAcquireOrRenew() {
    Resource<Lease> resource =
        client
            .resources(Lease.class)
            .inNamespace(settings.leaseNamespace())
            .withName(settings.leaseName());
    ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
    int seconds = (int) Math.max(1, settings.leaseDuration().toSeconds());
    Lease lease = resource.get();
    if (lease == null) {
      Lease fresh =
          new Lease(
              "coordination.k8s.io/v1",
              "Lease",
              new ObjectMetaBuilder()
                  .withName(settings.leaseName())
                  .withNamespace(settings.leaseNamespace())
                  .build(),
              new LeaseSpec(now, settings.identity(), seconds, 0, null, now, null));
      try {
        client.resources(Lease.class).resource(fresh).create();
        return true;
      } catch (KubernetesClientException e) {
        if (e.getCode() == 409) {
          return false; // someone else created it first
        }
        throw e;
      }
    }
    LeaseSpec spec = lease.getSpec() == null ? new LeaseSpec() : lease.getSpec();
    String holder = spec.getHolderIdentity();
    boolean ours = settings.identity().equals(holder);
    if (!ours) {
      if (!Objects.equals(holder, observedHolder)
          || !Objects.equals(spec.getRenewTime(), observedRenew)) {
        observedHolder = holder;
        observedRenew = spec.getRenewTime();
        observedAtNanos = System.nanoTime();
      }
      int theirSeconds =
          spec.getLeaseDurationSeconds() == null ? seconds : spec.getLeaseDurationSeconds();
      boolean free = holder == null || holder.isEmpty();
      boolean expired =
          System.nanoTime() - observedAtNanos > Duration.ofSeconds(theirSeconds).toNanos();
      if (!free && !expired) {
        return false;
      }
      spec.setAcquireTime(now);
      spec.setLeaseTransitions(
          (spec.getLeaseTransitions() == null ? 0 : spec.getLeaseTransitions()) + 1);
    }
    spec.setHolderIdentity(settings.identity());
    spec.setLeaseDurationSeconds(seconds);
    spec.setRenewTime(now);
    lease.setSpec(spec);
    try {
      // PUT with the resourceVersion just read: two candidates cannot both win.
      client.resources(Lease.class).resource(lease).update();
      return true;
    } catch (KubernetesClientException e) {
      if (e.getCode() == 409) {
        return false;
      }
      throw e;
    }
  }

  /** Stops electing; releases the lease if held so that a standby takes over at once. */
  @Override
  public void close() {
    boolean wasLeading;
    synchronized (lock) {
      closed = true;
      wasLeading = leading;
      leading = false;
    }
    timer.shutdownNow();
    if (wasLeading) {
      callbacks.stoppedLeading();
      release();
    }
  }

  private void release() {
    try {
      Lease lease =
          client
              .resources(Lease.class)
              .inNamespace(settings.leaseNamespace())
              .withName(settings.leaseName())
              .get();
      if (lease == null
          || lease.getSpec() == null
          || !settings.identity().equals(lease.getSpec().getHolderIdentity())) {
        return;
      }
      lease.getSpec().setHolderIdentity(null);
      lease.getSpec().setLeaseDurationSeconds(1);
      lease.getSpec().setRenewTime(ZonedDateTime.now(ZoneOffset.UTC));
      client.resources(Lease.class).resource(lease).update();
      log.info("released lease {}/{}", settings.leaseNamespace(), settings.leaseName());
    } catch (KubernetesClientException e) {
      log.debug("could not release lease: {}", e.getMessage());
    }
  }
}
