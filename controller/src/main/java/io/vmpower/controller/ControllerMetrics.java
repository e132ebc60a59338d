package io.vmpower.controller;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vmpower.api.RunPolicy;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntSupplier;

/** The controller's Micrometer meters; names are listed in controller/README.md. */
final class ControllerMetrics {
  static final String ACTIONS = "vmpower.controller.actions";
  static final String START_REQUESTS = "vmpower.controller.start.requests";
  static final String RECONCILE = "vmpower.controller.reconcile";
  static final String QUEUE_DEPTH = "vmpower.controller.queue.depth";
  static final String ERRORS = "vmpower.controller.errors";
  static final String NOT_INJECTED = "vmpower.controller.pods.not.injected";
  static final String LEADER = "vmpower.controller.leader";
  static final String VMS = "vmpower.controller.vms";
  static final String VMS_IN_MAINTENANCE = "vmpower.controller.vms.maintenance";
  static final String UNMONITORED_LAUNCHERS = "vmpower.controller.launchers.unmonitored";
  static final String INVALID_DEFAULTS = "vmpower.controller.namespaces.default.invalid";
  static final String BROUGHT_IN_LINE = "vmpower.controller.brought.in.line";
  static final String MAINTENANCE = "vmpower.controller.maintenance";

  private final MeterRegistry registry;
  private final AtomicInteger leader = new AtomicInteger();
  private volatile IntSupplier queueDepth = () -> 0;
  private final AtomicReference<FleetCensus> census = new AtomicReference<>(FleetCensus.EMPTY);
  private final RestartLoopMetrics restartLoops;

  ControllerMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.restartLoops = new RestartLoopMetrics(registry);
    registry.gauge(LEADER, leader);
    registry.gauge(QUEUE_DEPTH, this, m -> m.queueDepth.getAsInt());
    // The fleet, as counted by the leader from its caches (FleetCensus); 0 on a standby.
    for (RunPolicy policy : RunPolicy.values()) {
      Gauge.builder(VMS, census, c -> c.get().vms().get(policy))
          .description("Managed VMs by run policy (leader only)")
          .tag("policy", policy.value())
          .register(registry);
      Gauge.builder(VMS_IN_MAINTENANCE, census, c -> c.get().inMaintenance().get(policy))
          .description("Managed VMs in maintenance, by run policy (leader only)")
          .tag("policy", policy.value())
          .register(registry);
    }
    Gauge.builder(UNMONITORED_LAUNCHERS, census, c -> c.get().unmonitoredLaunchers())
        .description(
            "Running virt-launcher pods of managed VMs without the domain monitor (leader only)")
        .register(registry);
    Gauge.builder(INVALID_DEFAULTS, census, c -> c.get().invalidNamespaceDefaults())
        .description(
            "Enabled namespaces whose vmpower.io/default-run-policy is no run policy (leader only)")
        .register(registry);
  }

  void census(FleetCensus counted) {
    census.set(counted);
  }

  void queue(IntSupplier depth) {
    this.queueDepth = depth;
  }

  void leader(boolean leading) {
    leader.set(leading ? 1 : 0);
    if (!leading) {
      restartLoops.clear();
    }
  }

  RestartLoopMetrics restartLoops() {
    return restartLoops;
  }

  /** One decision on a final VMI (or a first start): action {@code start} or {@code none}. */
  void action(RunPolicy policy, String reason, String action) {
    Counter.builder(ACTIONS)
        .description("Power actions and decisions not to act, by policy and reason")
        .tag("policy", policy.value())
        .tag("reason", reason)
        .tag("action", action)
        .register(registry)
        .increment();
  }

  void startRequest(String result) {
    Counter.builder(START_REQUESTS)
        .description("Start requests sent to virt-api, by result")
        .tag("result", result)
        .register(registry)
        .increment();
  }

  void reconciled(Duration took, String outcome) {
    Timer.builder(RECONCILE)
        .description("Time to reconcile one VM")
        .tag("outcome", outcome)
        .register(registry)
        .record(took);
  }

  void error(String operation) {
    Counter.builder(ERRORS)
        .description("Errors, by operation")
        .tag("operation", operation)
        .register(registry)
        .increment();
  }

  /** A VM brought in line with the webhook's rules: {@code policy} or only {@code labels}. */
  void broughtInLine(String policy, String kind) {
    Counter.builder(BROUGHT_IN_LINE)
        .description("VMs brought in line with the VM webhook's rules, by policy and kind")
        .tag("policy", policy)
        .tag("kind", kind)
        .register(registry)
        .increment();
  }

  /** A VM entered ({@code started}) or left ({@code ended}) maintenance. */
  void maintenance(String transition) {
    Counter.builder(MAINTENANCE)
        .description("VMs seen entering or leaving maintenance")
        .tag("transition", transition)
        .register(registry)
        .increment();
  }

  void notInjected(RunPolicy policy) {
    Counter.builder(NOT_INJECTED)
        .description("Running virt-launcher pods of managed VMs without the domain monitor")
        .tag("policy", policy.value())
        .register(registry)
        .increment();
  }
}
