package io.vmpower.admission;

import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Whether the cluster's KubeVirt accepts {@code spec.template.spec.domain.rebootPolicy}: its {@code
 * RebootPolicy} feature gate is on. The VM webhook asks it on every review, so it answers from
 * memory (the server keeps it from an informer on the KubeVirt CR; {@code preview} and tests use a
 * fixed answer).
 */
@FunctionalInterface
public interface RebootPolicyGate {

  /** Whether a VM carrying {@code rebootPolicy} would be accepted by KubeVirt now. */
  boolean open();

  /** No cluster, or the gate not known: never set the field (KubeVirt rejects it when off). */
  RebootPolicyGate CLOSED = () -> false;

  /** What one KubeVirt CR says (the fields the gate depends on). */
  record KubeVirtCr(
      String observedVersion,
      String targetVersion,
      List<String> featureGates,
      List<String> disabledFeatureGates) {
    public KubeVirtCr {
      featureGates = List.copyOf(featureGates);
      disabledFeatureGates = List.copyOf(disabledFeatureGates);
    }
  }

  String GATE = "RebootPolicy";

  /**
   * The gate, from the KubeVirt CRs of the cluster (normally one). Open only if every CR says so:
   *
   * <ul>
   *   <li>the version ({@code status.observedKubeVirtVersion}; during an upgrade, also {@code
   *       status.targetKubeVirtVersion}) is known: below v1.8 the field does not exist;
   *   <li>v1.8 (alpha): listed in {@code spec.configuration.developerConfiguration.featureGates};
   *   <li>v1.9 and later (beta, on by default — a default that shows nowhere in the CR): listed, or
   *       not listed in {@code disabledFeatureGates} (KubeVirt's {@code featuregate.IsEnabled}:
   *       explicit enable over explicit disable over the beta default).
   * </ul>
   *
   * No CR, or a version that does not read as {@code vMAJOR.MINOR…}: closed.
   */
  static boolean open(List<KubeVirtCr> crs) {
    if (crs.isEmpty()) {
      return false;
    }
    for (KubeVirtCr cr : crs) {
      for (String version : versions(cr)) {
        if (!openAt(version, cr)) {
          return false;
        }
      }
    }
    return true;
  }

  private static List<String> versions(KubeVirtCr cr) {
    String target = cr.targetVersion();
    return target == null || target.isEmpty() || target.equals(cr.observedVersion())
        ? java.util.Arrays.asList(cr.observedVersion())
        : List.of(String.valueOf(cr.observedVersion()), target);
  }

  private static boolean openAt(String version, KubeVirtCr cr) {
    Optional<int[]> v = parse(version);
    if (v.isEmpty() || v.get()[0] < 1 || (v.get()[0] == 1 && v.get()[1] < 8)) {
      return false;
    }
    boolean listed = cr.featureGates().contains(GATE);
    boolean beta = v.get()[0] > 1 || v.get()[1] >= 9;
    return listed || (beta && !cr.disabledFeatureGates().contains(GATE));
  }

  /** {@code v1.9.0}, {@code v1.8.4-rc.1}, {@code 1.10.2} → [major, minor]. */
  private static Optional<int[]> parse(String version) {
    if (version == null) {
      return Optional.empty();
    }
    Matcher m = Pattern.compile("^v?(\\d{1,4})\\.(\\d{1,4})(?:[.\\-+].*)?$").matcher(version);
    return m.matches()
        ? Optional.of(new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))})
        : Optional.empty();
  }
}
