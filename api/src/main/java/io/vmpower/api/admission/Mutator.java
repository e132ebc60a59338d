package io.vmpower.api.admission;

import java.util.Set;

/**
 * A pure admission decision: no I/O, no clock, the same answer for the same input (dryRun
 * included).
 */
@FunctionalInterface
public interface Mutator {
  Verdict review(AdmissionInput input);

  /**
   * Long strings this mutator writes into objects review after review, always the same instance
   * (the pod injector's wrapper with the monitor script): the answer writer JSON-encodes them once
   * instead of on every review.
   */
  default Set<String> recurringStrings() {
    return Set.of();
  }
}
