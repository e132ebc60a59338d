package io.vmpower.webhook.cli;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.vmpower.api.Keys;
import io.vmpower.api.ResourceType;
import io.vmpower.api.RunPolicy;
import io.vmpower.api.power.LastPowerEvent;
import io.vmpower.api.status.Maintenance;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * What {@code vmpower status} shows: one row per managed VM (a VM with a {@code
 * vmpower.io/run-policy} annotation; {@code not-enabled} when its namespace is readable and not
 * enabled), read from the VM's annotations, its VMI and its launcher pods. Pure: the command lists
 * the objects, this turns them into rows.
 */
final class FleetStatus {
  private FleetStatus() {}

  /** A state that needs someone's attention: the command's exit code says so. */
  static final List<String> ATTENTION = List.of(State.GAVE_UP, State.NO_MONITOR);

  /** The words of the STATE column. */
  static final class State {
    private State() {}

    static final String OK = "ok";
    static final String MAINTENANCE = "maintenance";
    static final String START_PENDING = "start-pending";
    static final String STARTING = "starting";
    static final String NO_MONITOR = "no-monitor";
    static final String INVALID_POLICY = "invalid-policy";

    /** The VM's namespace lacks vmpower.io/enabled=true: vmpower does not manage it (yet). */
    static final String NOT_ENABLED = "not-enabled";

    // restart-loop protection (issue 14): states its record gives
    static final String BACKOFF = "backoff";
    static final String GAVE_UP = "gave-up";
  }

  /**
   * One managed VM.
   *
   * @param phase the VMI's phase, empty without a VMI
   * @param lastEvent the controller's record, if any
   * @param unmonitoredPods running launcher pods without the domain monitor
   * @param states see {@link State}; {@code ok} when nothing else applies
   */
  record Row(
      String namespace,
      String name,
      String policy,
      String runStrategy,
      String phase,
      Optional<LastPowerEvent> lastEvent,
      Map<String, Long> restarts,
      boolean maintenance,
      String maintenanceReason,
      String maintenanceSince,
      List<String> unmonitoredPods,
      List<String> states) {

    boolean needsAttention() {
      return states.stream().anyMatch(ATTENTION::contains);
    }

    long restartsTotal() {
      return restarts.values().stream().mapToLong(Long::longValue).sum();
    }
  }

  static List<Row> rows(
      Collection<GenericKubernetesResource> vms,
      Collection<GenericKubernetesResource> vmis,
      Collection<Pod> launchers,
      Function<String, Optional<Boolean>> namespaceEnabled,
      Instant now) {
    Map<String, GenericKubernetesResource> vmiByKey = new HashMap<>();
    vmis.forEach(v -> vmiByKey.put(key(v), v));
    Map<String, List<String>> unmonitoredByVm = new HashMap<>();
    for (Pod pod : launchers) {
      Optional<String> vmi =
          owner(pod, ResourceType.VIRTUAL_MACHINE_INSTANCE).map(OwnerReference::getName);
      boolean unmonitored =
          pod.getStatus() != null
              && "Running".equals(pod.getStatus().getPhase())
              && annotation(pod, Keys.INJECTION_STATUS) == null
              && annotation(pod, Keys.KUBEVIRT_EPHEMERAL_PROVISIONING) == null;
      if (vmi.isPresent() && unmonitored) {
        unmonitoredByVm
            .computeIfAbsent(
                pod.getMetadata().getNamespace() + "/" + vmi.get(), k -> new ArrayList<>())
            .add(pod.getMetadata().getName());
      }
    }
    List<Row> rows = new ArrayList<>();
    for (GenericKubernetesResource vm : vms) {
      String policy = annotation(vm, Keys.RUN_POLICY);
      if (policy == null) {
        continue;
      }
      GenericKubernetesResource vmi = vmiByKey.get(key(vm));
      boolean notEnabled =
          namespaceEnabled.apply(vm.getMetadata().getNamespace()).filter(e -> !e).isPresent();
      rows.add(
          row(vm, policy, vmi, unmonitoredByVm.getOrDefault(key(vm), List.of()), notEnabled, now));
    }
    rows.sort(Comparator.comparing(Row::namespace).thenComparing(Row::name));
    return rows;
  }

  private static Row row(
      GenericKubernetesResource vm,
      String policy,
      GenericKubernetesResource vmi,
      List<String> unmonitored,
      boolean notEnabled,
      Instant now) {
    // Read as the controller reads it; an unreadable record shows as none (the controller reports
    // it).
    Optional<LastPowerEvent> last = LastPowerEvent.parse(annotation(vm, Keys.LAST_POWER_EVENT));
    boolean maintenance = Maintenance.isOn(annotation(vm, Keys.MAINTENANCE));
    List<String> states = new ArrayList<>();
    if (notEnabled) {
      states.add(State.NOT_ENABLED);
    }
    if (RunPolicy.parse(policy).isEmpty()) {
      states.add(State.INVALID_POLICY);
    }
    if (maintenance) {
      states.add(State.MAINTENANCE);
    }
    if (annotation(vm, Keys.START_PENDING) != null) {
      states.add(State.START_PENDING);
    }
    if (last.filter(e -> !e.isDone()).isPresent()) {
      boolean waiting =
          last.flatMap(e -> e.loop().backoffUntil())
              .filter(until -> until.isAfter(now))
              .isPresent();
      states.add(waiting ? State.BACKOFF : State.STARTING);
    }
    if (last.filter(e -> e.isDone() && e.loop().hasGivenUp()).isPresent()) {
      states.add(State.GAVE_UP);
    }
    if (!unmonitored.isEmpty()) {
      states.add(State.NO_MONITOR);
    }
    if (states.isEmpty()) {
      states.add(State.OK);
    }
    Object strategy = vm.get("spec", "runStrategy");
    Object running = vm.get("spec", "running");
    Object phase = vmi == null ? null : vmi.get("status", "phase");
    return new Row(
        vm.getMetadata().getNamespace(),
        vm.getMetadata().getName(),
        policy,
        strategy instanceof String s ? s : running != null ? "running=" + running : "",
        phase instanceof String p ? p : "",
        last,
        last.map(e -> e.loop().restarts()).orElse(Map.of()),
        maintenance,
        orEmpty(annotation(vm, Keys.MAINTENANCE_REASON)),
        orEmpty(annotation(vm, Keys.MAINTENANCE_SINCE)),
        List.copyOf(unmonitored),
        List.copyOf(states));
  }

  /** {@code 45s}, {@code 12m}, {@code 3h}, {@code 5d}, as kubectl shows ages; empty if unknown. */
  static String age(String time, Instant now) {
    try {
      long seconds = Math.max(0, now.getEpochSecond() - Instant.parse(time).getEpochSecond());
      if (seconds < 120) {
        return seconds + "s";
      }
      if (seconds < 120 * 60) {
        return seconds / 60 + "m";
      }
      if (seconds < 48 * 3600) {
        return seconds / 3600 + "h";
      }
      return seconds / 86400 + "d";
    } catch (RuntimeException e) {
      return "";
    }
  }

  private static String key(HasMetadata o) {
    return o.getMetadata().getNamespace() + "/" + o.getMetadata().getName();
  }

  private static String annotation(HasMetadata o, String key) {
    Map<String, String> a = o.getMetadata().getAnnotations();
    return a == null ? null : a.get(key);
  }

  private static Optional<OwnerReference> owner(HasMetadata o, ResourceType kind) {
    List<OwnerReference> refs = o.getMetadata().getOwnerReferences();
    return refs == null
        ? Optional.empty()
        : refs.stream().filter(r -> kind.kind().equals(r.getKind())).findFirst();
  }

  private static String orEmpty(String s) {
    return s == null ? "" : s;
  }
}
