package io.vmpower.controller;

import io.vmpower.api.RunPolicy;
import io.vmpower.controller.VmSnapshot.FreshVmi;
import io.vmpower.controller.VmSnapshot.LauncherPod;
import io.vmpower.controller.VmSnapshot.Vm;
import io.vmpower.controller.VmSnapshot.Vmi;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Snapshots for the decision's table tests, written as briefly as the tables need them. */
final class Snapshots {
  private Snapshots() {}

  static final Instant NOW = Instant.parse("2026-11-01T10:00:00Z");
  static final Duration WAIT = Duration.ofMinutes(2);
  static final PowerDecision DECISION = new PowerDecision(WAIT);

  static final String RESET =
      "{\"source\":\"vmpower\",\"event\":\"SHUTDOWN\",\"guest\":true,\"reason\":\"guest-reset\"}";
  static final String POWEROFF =
      "{\"source\":\"vmpower\",\"event\":\"SHUTDOWN\",\"guest\":true,\"reason\":\"guest-shutdown\"}";

  static Builder vm(String policy) {
    return new Builder(policy);
  }

  /** A launcher pod of the VMI created {@code second} seconds after the epoch of the test. */
  static LauncherPod pod(String name, int second, String phase, String message) {
    return new LauncherPod(
        name,
        "uid-" + name,
        NOW.minusSeconds(3600).plusSeconds(second),
        second,
        phase,
        true,
        false,
        Optional.ofNullable(message));
  }

  /** A running pod whose compute container still runs. */
  static LauncherPod running(String name, int second) {
    return pod(name, second, "Running", null);
  }

  /** A pod whose compute container has terminated with {@code message}. */
  static LauncherPod ended(String name, int second, String message) {
    return pod(name, second, "Succeeded", message);
  }

  /** A VMI written as "A Succeeded", "B Running", "A Succeeded deleting", or "none". */
  static Vmi vmi(String text) {
    if (text == null || text.equals("none")) {
      return null;
    }
    String[] parts = text.trim().split("\\s+");
    return new Vmi(parts[0], parts[1], parts.length > 2 && parts[2].equals("deleting"));
  }

  static final class Builder {
    private final String policy;
    private boolean namespaceEnabled = true;
    private boolean present = true;
    private boolean deleting;
    private boolean stateChangeRequests;
    private boolean startPending;
    private PowerEventRecord record;
    private Vmi vmi;
    private final List<LauncherPod> pods = new ArrayList<>();
    private boolean podsFresh;
    private Optional<FreshVmi> freshVmi = Optional.empty();
    private Optional<Step.Claim> claimed = Optional.empty();
    private Optional<Instant> waitingSince = Optional.empty();
    private Instant now = NOW;
    private Optional<String> recordProblem = Optional.empty();

    private Builder(String policy) {
      this.policy = policy;
    }

    Builder namespaceEnabled(boolean v) {
      namespaceEnabled = v;
      return this;
    }

    Builder gone() {
      present = false;
      return this;
    }

    Builder deleting() {
      deleting = true;
      return this;
    }

    Builder stateChangeRequests(boolean v) {
      stateChangeRequests = v;
      return this;
    }

    Builder startPending() {
      startPending = true;
      return this;
    }

    Builder record(PowerEventRecord r) {
      record = r;
      return this;
    }

    Builder vmi(String text) {
      vmi = Snapshots.vmi(text);
      return this;
    }

    Builder pods(LauncherPod... p) {
      pods.addAll(List.of(p));
      return this;
    }

    Builder podsFresh() {
      podsFresh = true;
      return this;
    }

    Builder freshVmi(String text) {
      freshVmi = Optional.of(new FreshVmi(Snapshots.vmi(text)));
      return this;
    }

    Builder claimed(Step.Claim claim) {
      claimed = Optional.of(claim);
      return this;
    }

    Builder now(Instant at) {
      now = at;
      return this;
    }

    /** A record annotation that does not read ({@code why}). */
    Builder unreadableRecord(String why) {
      recordProblem = Optional.of(why);
      return this;
    }

    /** The VMI as given, with all its facts. */
    Builder vmi(Vmi v) {
      vmi = v;
      return this;
    }

    Builder waitingSince(Instant at) {
      waitingSince = Optional.of(at);
      return this;
    }

    VmSnapshot build() {
      Vm vm =
          present
              ? new Vm(
                  "vms",
                  "db",
                  "vm-uid",
                  "7",
                  deleting,
                  RunPolicy.parse(policy).map(RunPolicy.Parsed::policy),
                  stateChangeRequests,
                  startPending,
                  Optional.ofNullable(record),
                  recordProblem)
              : null;
      return new VmSnapshot(
          "vms/db",
          namespaceEnabled,
          vm,
          vmi,
          pods,
          podsFresh,
          freshVmi,
          claimed,
          waitingSince,
          now);
    }

    Step decide() {
      return DECISION.decide(build());
    }
  }
}
