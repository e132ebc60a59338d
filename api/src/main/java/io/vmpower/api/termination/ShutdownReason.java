package io.vmpower.api.termination;

/**
 * Why QEMU ended, as recorded by the domain monitor in the compute container's termination message.
 */
public sealed interface ShutdownReason {

  /** The guest rebooted itself (QEMU SHUTDOWN reason {@code guest-reset}). */
  record GuestReset() implements ShutdownReason {}

  /** The guest powered itself off (QEMU SHUTDOWN reason {@code guest-shutdown}). */
  record GuestShutdown() implements ShutdownReason {}

  /**
   * A SHUTDOWN event with another reason: a guest panic, or only host-side events such as {@code
   * host-signal} when nothing guest-initiated was recorded.
   */
  record Other(String reason, boolean guest) implements ShutdownReason {}

  /** No SHUTDOWN event in the message (missing, empty, or only unrelated log lines). */
  record None() implements ShutdownReason {}

  ShutdownReason GUEST_RESET = new GuestReset();
  ShutdownReason GUEST_SHUTDOWN = new GuestShutdown();
  ShutdownReason NONE = new None();
}
