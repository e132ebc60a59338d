package io.vmpower.api;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/** A VM's run policy and the KubeVirt {@code spec.runStrategy} that implements it. */
public enum RunPolicy {
  ALWAYS_ON("AlwaysOn", "Always"),
  ALWAYS_OFF("AlwaysOff", "Halted"),
  MANUAL("Manual", "Manual"),
  ALWAYS_ON_UNLESS_STOPPED_MANUALLY("AlwaysOnUnlessStoppedManually", "Manual");

  /** The policy's name in the design this project grew from; accepted and normalized. */
  public static final String LEGACY_ALIAS = "AlwaysOnUntilStoppedManually";

  private final String value;
  private final String runStrategy;

  RunPolicy(String value, String runStrategy) {
    this.value = value;
    this.runStrategy = runStrategy;
  }

  /** The annotation value users type. */
  public String value() {
    return value;
  }

  /** KubeVirt's {@code spec.runStrategy} for this policy. */
  public String runStrategy() {
    return runStrategy;
  }

  /** True when the controller, not KubeVirt, starts the VM again after a guest reboot. */
  public boolean restartsOnGuestReset() {
    return this == MANUAL || this == ALWAYS_ON_UNLESS_STOPPED_MANUALLY;
  }

  /** True when the controller starts the VM again after a failure not caused by the guest. */
  public boolean restartsOnInfrastructureFailure() {
    return this == ALWAYS_ON_UNLESS_STOPPED_MANUALLY;
  }

  /** The valid annotation values, in declaration order. */
  public static List<String> values(boolean withAlias) {
    var names = Arrays.stream(values()).map(RunPolicy::value);
    return withAlias
        ? java.util.stream.Stream.concat(names, java.util.stream.Stream.of(LEGACY_ALIAS)).toList()
        : names.toList();
  }

  /** Parses an annotation value exactly (case matters, as everywhere in Kubernetes). */
  public static Optional<Parsed> parse(String text) {
    if (text == null) {
      return Optional.empty();
    }
    if (LEGACY_ALIAS.equals(text)) {
      return Optional.of(new Parsed(ALWAYS_ON_UNLESS_STOPPED_MANUALLY, true));
    }
    return Arrays.stream(values())
        .filter(p -> p.value.equals(text))
        .findFirst()
        .map(p -> new Parsed(p, false));
  }

  /** A parsed policy and whether it was written with the legacy alias. */
  public record Parsed(RunPolicy policy, boolean alias) {}
}
