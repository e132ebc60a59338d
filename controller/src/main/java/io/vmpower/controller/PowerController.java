package io.vmpower.controller;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The power controller: turns how each VMI ended into starts, as the VM's run policy says
 * (DESIGN.md sections 2 and 5). The entry point the application constructs, starts and closes.
 *
 * <p>{@link #start()} only joins the leader election; informers, the work queue and the workers run
 * while this replica leads and are torn down the moment leadership is lost.
 */
public final class PowerController implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PowerController.class);

  private final KubernetesClient client;
  private final ControllerSettings settings;
  private final ControllerMetrics metrics;
  private final VirtApi virtApi;
  private final Events events;
  private final Clock clock;
  private final LeaseElector elector;
  private final AtomicReference<Session> session = new AtomicReference<>();
  private volatile boolean closed;
  private boolean started;

  public PowerController(
      KubernetesClient client, ControllerSettings settings, MeterRegistry meters) {
    this.client = client;
    this.settings = settings;
    this.metrics = new ControllerMetrics(meters);
    this.clock = Clock.systemUTC();
    this.virtApi = new VirtApi(client, settings.requestTimeout());
    this.events = new Events(client, settings.identity(), metrics, clock);
    this.elector =
        new LeaseElector(
            client,
            settings,
            new LeaseElector.Callbacks() {
              @Override
              public void startedLeading() {
                onStartedLeading();
              }

              @Override
              public void stoppedLeading() {
                onStoppedLeading();
              }
            });
  }

  /** Joins the leader election; returns at once. */
  public synchronized void start() {
    if (started || closed) {
      throw new IllegalStateException("PowerController can be started once");
    }
    started = true;
    log.info(
        "power controller starting (lease {}/{}, identity {})",
        settings.leaseNamespace(),
        settings.leaseName(),
        settings.identity());
    elector.start();
  }

  /** True while this replica holds the lease within its renew deadline. */
  public boolean isLeader() {
    return !closed && elector.isLeader();
  }

  private void onStartedLeading() {
    metrics.leader(true);
    if (closed) {
      return;
    }
    Session fresh = new Session(client, settings, metrics, this::isLeader, virtApi, events, clock);
    Session old = session.getAndSet(fresh);
    if (old != null) {
      old.close();
    }
    fresh.start();
  }

  private void onStoppedLeading() {
    metrics.leader(false);
    Session old = session.getAndSet(null);
    if (old != null) {
      old.close();
    }
  }

  /** Stops acting at once and releases the lease so that a standby takes over without waiting. */
  @Override
  public void close() {
    closed = true;
    elector.close();
    onStoppedLeading();
    log.info("power controller stopped");
  }
}
