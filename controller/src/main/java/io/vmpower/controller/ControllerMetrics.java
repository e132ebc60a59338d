package io.vmpower.controller;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vmpower.api.RunPolicy;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
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

  private final MeterRegistry registry;
  private final AtomicInteger leader = new AtomicInteger();
  private volatile IntSupplier queueDepth = () -> 0;
  private final RestartLoopMetrics restartLoops;

  ControllerMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.restartLoops = new RestartLoopMetrics(registry);
    registry.gauge(LEADER, leader);
    registry.gauge(QUEUE_DEPTH, this, m -> m.queueDepth.getAsInt());
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

  void notInjected(RunPolicy policy) {
    Counter.builder(NOT_INJECTED)
        .description("Running virt-launcher pods of managed VMs without the domain monitor")
        .tag("policy", policy.value())
        .register(registry)
        .increment();
  }
}
