package io.vmpower.api.termination;

import io.vmpower.api.termination.RecordedEvent.GuestPanicked;
import io.vmpower.api.termination.RecordedEvent.Shutdown;
import io.vmpower.api.termination.ShutdownReason.WatchdogAction;
import java.util.List;

/**
 * Reads a recorded event sequence as one {@link ShutdownReason}. Pure; the sequences each way of
 * stopping produces were measured on libvirt 9.0 / QEMU 7.2 and are listed in injector/README.md.
 *
 * <p>The monitor keeps the deciding events ahead of libvirt's host-side SHUTDOWN events (so that
 * they survive the 4096-byte cap), otherwise QEMU's order. The rules, first match wins:
 *
 * <ol>
 *   <li>any {@code GUEST_PANICKED}, or a SHUTDOWN {@code guest-panic}: a guest panic;
 *   <li>the first guest-initiated SHUTDOWN decides, read together with its neighbours:
 *       <ul>
 *         <li>{@code guest-reset} right after a {@code WATCHDOG reset}: the watchdog, else a guest
 *             reboot;
 *         <li>{@code guest-shutdown} right after a {@code WATCHDOG shutdown}: the watchdog; with a
 *             later {@code host-qmp-system-reset} (and no guest event between): libvirt's ACPI fake
 *             reboot (soft reboot); else a power-off;
 *         <li>other reasons: {@link ShutdownReason.Other} with guest true;
 *       </ul>
 *   <li>otherwise the first host SHUTDOWN: {@code host-qmp-system-reset} is a host reset, other
 *       reasons (host-signal, host-qmp-quit) are {@link ShutdownReason.Other};
 *   <li>otherwise a {@code WATCHDOG poweroff} (QEMU exits without a SHUTDOWN event);
 *   <li>otherwise nothing.
 * </ol>
 */
final class ShutdownSequence {
  private ShutdownSequence() {}

  static final String GUEST_RESET = "guest-reset";
  static final String GUEST_SHUTDOWN = "guest-shutdown";
  static final String GUEST_PANIC = "guest-panic";
  static final String HOST_SYSTEM_RESET = "host-qmp-system-reset";

  static ShutdownReason classify(List<RecordedEvent> events) {
    if (events.stream()
        .anyMatch(
            e ->
                e instanceof GuestPanicked
                    || e instanceof Shutdown s && s.guest() && GUEST_PANIC.equals(s.reason()))) {
      return ShutdownReason.GUEST_PANIC;
    }
    int first = firstShutdown(events, true, 0);
    if (first >= 0) {
      Shutdown decisive = (Shutdown) events.get(first);
      WatchdogAction before = watchdogAt(events, first - 1);
      return switch (decisive.reason()) {
        case GUEST_RESET ->
            before == WatchdogAction.RESET
                ? ShutdownReason.WATCHDOG_RESET
                : ShutdownReason.GUEST_RESET;
        case GUEST_SHUTDOWN -> {
          if (before == WatchdogAction.SHUTDOWN) {
            yield new ShutdownReason.Watchdog(WatchdogAction.SHUTDOWN);
          }
          yield hostSystemResetFollows(events, first + 1)
              ? ShutdownReason.SOFT_REBOOT
              : ShutdownReason.GUEST_SHUTDOWN;
        }
        default -> new ShutdownReason.Other(decisive.reason(), true);
      };
    }
    int host = firstShutdown(events, false, 0);
    if (host >= 0) {
      String reason = ((Shutdown) events.get(host)).reason();
      return HOST_SYSTEM_RESET.equals(reason)
          ? ShutdownReason.HOST_RESET
          : new ShutdownReason.Other(reason, false);
    }
    for (int i = 0; i < events.size(); i++) {
      if (watchdogAt(events, i) == WatchdogAction.POWEROFF) {
        return new ShutdownReason.Watchdog(WatchdogAction.POWEROFF);
      }
    }
    return ShutdownReason.NONE;
  }

  private static int firstShutdown(List<RecordedEvent> events, boolean guest, int from) {
    for (int i = from; i < events.size(); i++) {
      if (events.get(i) instanceof Shutdown s && s.guest() == guest) {
        return i;
      }
    }
    return -1;
  }

  /** The action of the WATCHDOG event at {@code i}, or null if there is none. */
  private static WatchdogAction watchdogAt(List<RecordedEvent> events, int i) {
    if (i >= 0 && i < events.size() && events.get(i) instanceof RecordedEvent.Watchdog w) {
      return WatchdogAction.ofQemuName(w.action());
    }
    return null;
  }

  /**
   * True when a host {@code host-qmp-system-reset} comes after {@code from} before any other
   * guest-initiated SHUTDOWN: the reset half of libvirt's fake reboot.
   */
  private static boolean hostSystemResetFollows(List<RecordedEvent> events, int from) {
    for (int i = from; i < events.size(); i++) {
      if (events.get(i) instanceof Shutdown s) {
        if (s.guest()) {
          return false;
        }
        if (HOST_SYSTEM_RESET.equals(s.reason())) {
          return true;
        }
      }
    }
    return false;
  }
}
