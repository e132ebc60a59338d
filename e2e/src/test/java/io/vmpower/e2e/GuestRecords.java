package io.vmpower.e2e;

import io.fabric8.kubernetes.api.model.Pod;
import java.time.Instant;
import java.util.Map;

/**
 * What the domain monitor writes to the compute container's termination log when QEMU ends, in its
 * own format (injector/README.md). Only an injected pod runs the monitor: for any other pod there
 * is no record, as in a real cluster.
 */
final class GuestRecords {
  private GuestRecords() {}

  /** The guest rebooted: QEMU stops with reboot=shutdown, libvirt then reports a host signal. */
  static String reset(Pod pod) {
    return injected(pod) ? line(true, "guest-reset") + line(false, "host-signal") : null;
  }

  /** The guest powered itself off. */
  static String powerOff(Pod pod) {
    return injected(pod) ? line(true, "guest-shutdown") + line(false, "host-signal") : null;
  }

  /**
   * KubeVirt stopped the VMI (virtctl stop/restart, a deleted VMI or pod): virt-launcher shuts the
   * domain down gracefully with ACPI, so the guest powers off, which the monitor records like a
   * power-off from inside (DESIGN.md, "Stands back while a user's action is under way").
   */
  static String gracefulStop(Pod pod) {
    return powerOff(pod);
  }

  /**
   * QEMU was stopped from outside without the guest shutting down: the source after a completed
   * live migration, or the target of a failed one (libvirt kills it with a signal).
   */
  static String migratedAway(Pod pod) {
    return injected(pod) ? line(false, "host-signal") : null;
  }

  /** {@code virtctl reset}: QMP system_reset, which with reboot=shutdown ends QEMU (issue 14). */
  static String hostReset(Pod pod) {
    return injected(pod) ? line(false, "host-qmp-system-reset") + line(false, "host-signal") : null;
  }

  /**
   * A guest kernel panic with a panic device; libvirt's on_crash destroy kills QEMU: no SHUTDOWN.
   */
  static String panic(Pod pod) {
    return injected(pod)
        ? "{\"source\":\"vmpower\",\"event\":\"GUEST_PANICKED\",\"action\":\"pause\",\"timestamp\":\""
            + Instant.now()
            + "\"}\n"
        : null;
  }

  static boolean injected(Pod pod) {
    Map<String, String> annotations = pod.getMetadata().getAnnotations();
    return annotations != null && annotations.containsKey("vmpower.io/injection-status");
  }

  private static String line(boolean guest, String reason) {
    return "{\"source\":\"vmpower\",\"event\":\"SHUTDOWN\",\"guest\":"
        + guest
        + ",\"reason\":\""
        + reason
        + "\",\"timestamp\":\""
        + Instant.now()
        + "\"}\n";
  }
}
