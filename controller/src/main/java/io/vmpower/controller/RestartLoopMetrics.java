package io.vmpower.controller;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Gauges of restart-loop protection, as the leader last saw each VM (every VM is reconciled when a
 * leader starts, and again on every change): {@value #GAVE_UP} ({@code
 * vmpower_controller_vms_gave_up}), the VMs the controller gave up restarting, and {@value
 * #BACKING_OFF} ({@code vmpower_controller_vms_backing_off}), the VMs whose restart waits for its
 * backoff. 0 on replicas that do not lead.
 */
final class RestartLoopMetrics {
  static final String GAVE_UP = "vmpower.controller.vms.gave.up";
  static final String BACKING_OFF = "vmpower.controller.vms.backing.off";

  private final Set<String> gaveUp = ConcurrentHashMap.newKeySet();
  private final Set<String> backingOff = ConcurrentHashMap.newKeySet();

  RestartLoopMetrics(MeterRegistry registry) {
    Gauge.builder(GAVE_UP, gaveUp, Set::size)
        .description("VMs vmpower gave up restarting; they stay stopped until a user starts them")
        .register(registry);
    Gauge.builder(BACKING_OFF, backingOff, Set::size)
        .description("VMs whose restart waits for its backoff")
        .register(registry);
  }

  void observe(VmSnapshot s) {
    String key = s.key();
    if (!s.namespaceEnabled() || s.vm() == null || s.vm().policy().isEmpty()) {
      gaveUp.remove(key);
      backingOff.remove(key);
      return;
    }
    var record = s.vm().record();
    boolean given =
        record.isPresent()
            && record.get().isDone()
            && record.get().loop().hasGivenUp()
            && (s.vmi() == null || record.get().isFor(s.vmi().uid()));
    boolean waiting =
        record.isPresent()
            && !record.get().isDone()
            && record.get().loop().backoffUntil().filter(u -> u.isAfter(s.now())).isPresent();
    set(gaveUp, key, given);
    set(backingOff, key, waiting);
  }

  /** Leadership ended: this replica reports none. */
  void clear() {
    gaveUp.clear();
    backingOff.clear();
  }

  int gaveUp() {
    return gaveUp.size();
  }

  int backingOff() {
    return backingOff.size();
  }

  private static void set(Set<String> set, String key, boolean in) {
    if (in) {
      set.add(key);
    } else {
      set.remove(key);
    }
  }
}
