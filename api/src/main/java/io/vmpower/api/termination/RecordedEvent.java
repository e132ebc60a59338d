package io.vmpower.api.termination;

/**
 * One QEMU event as the domain monitor recorded it (injector/README.md, "Termination message").
 * Only the events the decision needs are recorded: {@code SHUTDOWN}, {@code WATCHDOG}, {@code
 * GUEST_PANICKED}.
 */
sealed interface RecordedEvent {

  /** QEMU's {@code SHUTDOWN}: whether the guest caused it, and QEMU's {@code ShutdownCause}. */
  record Shutdown(boolean guest, String reason) implements RecordedEvent {}

  /** QEMU's {@code WATCHDOG}: the watchdog fired; {@code action} as QEMU names it. */
  record Watchdog(String action) implements RecordedEvent {}

  /** QEMU's {@code GUEST_PANICKED}: a panic device reported a guest kernel panic. */
  record GuestPanicked(String action) implements RecordedEvent {}
}
