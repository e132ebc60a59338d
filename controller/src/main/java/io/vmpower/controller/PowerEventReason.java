package io.vmpower.controller;

/**
 * The reasons the controller records in {@code vmpower.io/last-power-event} (and tags its action
 * metric with) for what it found itself, when the VMI's own record gives none. How a guest or QEMU
 * stopped is recorded as {@code ShutdownReason.recordReason()} (module {@code api}), the one place
 * of those names.
 */
enum PowerEventReason {
  /** The VMI failed without a guest-initiated reason. */
  VMI_FAILED("vmi-failed"),
  /** No pod of the VMI remains (node lost, pod deleted or evicted). */
  POD_LOST("pod-lost"),
  /** The VMI succeeded without a readable shutdown record. */
  UNKNOWN("unknown"),
  /** The first start of an AlwaysOnUnlessStoppedManually VM. */
  START_PENDING("start-pending"),
  /** The VM's own {@code vmpower.io/last-power-event} was not one the controller writes. */
  UNREADABLE_RECORD("unreadable-record");

  private final String code;

  PowerEventReason(String code) {
    this.code = code;
  }

  /** As written in the record and the metrics. */
  String code() {
    return code;
  }
}
