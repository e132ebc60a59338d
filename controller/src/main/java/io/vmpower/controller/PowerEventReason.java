package io.vmpower.controller;

import java.util.Arrays;
import java.util.Optional;

/**
 * The reasons the controller records in {@code vmpower.io/last-power-event} and tags its action
 * metric with, other than a guest-initiated QEMU SHUTDOWN reason passed on as it is (for example
 * {@code guest-panic}): the record's {@code reason} field stays a string for those.
 */
enum PowerEventReason {
  /** The guest rebooted. */
  GUEST_RESET("guest-reset"),
  /** The guest powered off (or was stopped gracefully). */
  GUEST_SHUTDOWN("guest-shutdown"),
  /** The VMI failed without a guest-initiated reason. */
  VMI_FAILED("vmi-failed"),
  /** No pod of the VMI remains (node lost, pod deleted or evicted). */
  POD_LOST("pod-lost"),
  /** The VMI succeeded without a readable shutdown record. */
  UNKNOWN("unknown"),
  /** The first start of an AlwaysOnUnlessStoppedManually VM. */
  START_PENDING("start-pending");

  private final String code;

  PowerEventReason(String code) {
    this.code = code;
  }

  /** As written in the record and the metrics. */
  String code() {
    return code;
  }

  static Optional<PowerEventReason> of(String code) {
    return Arrays.stream(values()).filter(r -> r.code.equals(code)).findFirst();
  }
}
