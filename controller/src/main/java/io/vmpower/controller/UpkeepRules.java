package io.vmpower.controller;

import io.vmpower.admission.InLine;
import java.util.Optional;

/**
 * Issue 15's rules in {@link PowerDecision}'s chain: bring a VM in line with the VM webhook's rules
 * (before anything else is decided on it), and suspend everything else while it is in maintenance.
 */
final class UpkeepRules {
  private UpkeepRules() {}

  /**
   * The VM as stored is not what the VM webhook would have stored: it was annotated before its
   * namespace was enabled (or vmpower installed), its namespace got a default, or a write went by
   * while the webhook was unreachable. Comes before the policy check: a VM without its own policy
   * may be the namespace default's.
   */
  static Optional<Step> outOfLine(VmSnapshot s) {
    InLine.Result alignment = s.vm().upkeep().alignment();
    if (alignment instanceof InLine.Misaligned misaligned) {
      return Optional.of(new Step.BringInLine(misaligned));
    }
    if (alignment instanceof InLine.Refused refused) {
      return Optional.of(new Step.ReportRefused(refused.message()));
    }
    return Optional.empty();
  }

  /**
   * In maintenance the controller neither starts nor restarts the VM (start-pending waits too);
   * entering and leaving it are recorded once each.
   */
  static Optional<Step> maintenance(VmSnapshot s) {
    VmSnapshot.Vm vm = s.vm();
    boolean seen = vm.upkeep().maintenanceSince().isPresent();
    if (vm.inMaintenance()) {
      return Optional.of(seen ? new Step.Nothing("in maintenance") : new Step.EnterMaintenance());
    }
    if (!seen) {
      return Optional.empty();
    }
    String ended =
        s.vmi() != null
                && s.vmi().isFinal()
                && vm.record().filter(r -> r.isFor(s.vmi().uid())).isEmpty()
            ? s.vmi().uid()
            : null;
    return Optional.of(new Step.LeaveMaintenance(ended));
  }
}
