package io.vmpower.api.admission;

/**
 * A pure admission decision: no I/O, no clock, the same answer for the same input (dryRun
 * included).
 */
@FunctionalInterface
public interface Mutator {
  Verdict review(AdmissionInput input);
}
