package io.vmpower.controller;

import static io.vmpower.controller.Snapshots.RESET;
import static io.vmpower.controller.Snapshots.ended;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.vmpower.admission.InLine;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Issue 15's rules in the decision's chain: bring in line first, then maintenance. */
class UpkeepRulesTest {
  static final InLine.Misaligned MISALIGNED =
      new InLine.Misaligned(
          JsonNodeFactory.instance.objectNode(),
          JsonNodeFactory.instance.arrayNode(),
          List.of("spec.runStrategy → Manual"),
          List.of(),
          false);

  static VmSnapshot.Upkeep upkeep(boolean maintenance, String since, InLine.Result alignment) {
    return new VmSnapshot.Upkeep(maintenance, "", Optional.ofNullable(since), alignment);
  }

  static VmSnapshot.Upkeep maintenance(boolean on, String since) {
    return upkeep(on, since, new InLine.Consistent());
  }

  @Test
  void aVmOutOfLineIsBroughtInLineBeforeAnythingElse() {
    // even with a final VMI to act on, or a pending first start, or in maintenance
    for (Snapshots.Builder b :
        List.of(
            Snapshots.vm("Manual").vmi("A Succeeded").pods(ended("a", 1, RESET)),
            Snapshots.vm("AlwaysOnUnlessStoppedManually").startPending(),
            Snapshots.vm("AlwaysOn").stateChangeRequests(true),
            Snapshots.vm(null))) {
      Step step = b.upkeep(upkeep(true, null, MISALIGNED)).decide();
      assertThat(step).isEqualTo(new Step.BringInLine(MISALIGNED));
    }
  }

  @Test
  void notInEnabledNamespacesOrForVmsBeingDeleted() {
    assertThat(
            Snapshots.vm("Manual")
                .namespaceEnabled(false)
                .upkeep(upkeep(false, null, MISALIGNED))
                .decide())
        .isInstanceOf(Step.Nothing.class);
    assertThat(Snapshots.vm("Manual").deleting().upkeep(upkeep(false, null, MISALIGNED)).decide())
        .isInstanceOf(Step.Nothing.class);
  }

  @Test
  void aRefusedVmIsReported() {
    Step step =
        Snapshots.vm(null).upkeep(upkeep(false, null, new InLine.Refused("bad value"))).decide();
    assertThat(step).isEqualTo(new Step.ReportRefused("bad value"));
  }

  @ParameterizedTest(name = "{0}: a guest reboot in maintenance is not acted on")
  @CsvSource({"Manual", "AlwaysOnUnlessStoppedManually", "AlwaysOn", "AlwaysOff"})
  void inMaintenanceNothingIsStartedOrRestarted(String policy) {
    String since = "2026-11-01T09:00:00Z";
    Step step =
        Snapshots.vm(policy)
            .upkeep(maintenance(true, since))
            .vmi("A Succeeded")
            .pods(ended("a", 1, RESET))
            .decide();
    assertThat(step).isEqualTo(new Step.Nothing("in maintenance"));
    // the first start waits too
    assertThat(
            Snapshots.vm("AlwaysOnUnlessStoppedManually")
                .startPending()
                .upkeep(maintenance(true, since))
                .decide())
        .isEqualTo(new Step.Nothing("in maintenance"));
  }

  @Test
  void enteringMaintenanceIsRecordedOnce() {
    assertThat(Snapshots.vm("AlwaysOn").upkeep(maintenance(true, null)).decide())
        .isEqualTo(new Step.EnterMaintenance());
  }

  @Test
  void leavingMaintenanceRecordsTheVmiThatEndedMeanwhile() {
    String since = "2026-11-01T09:00:00Z";
    assertThat(
            Snapshots.vm("Manual")
                .upkeep(maintenance(false, since))
                .vmi("A Succeeded")
                .pods(ended("a", 1, RESET))
                .decide())
        .isEqualTo(new Step.LeaveMaintenance("A"));
    // a running VMI, or one recorded before, is left as it is
    assertThat(Snapshots.vm("Manual").upkeep(maintenance(false, since)).vmi("B Running").decide())
        .isEqualTo(new Step.LeaveMaintenance(null));
    assertThat(
            Snapshots.vm("Manual")
                .upkeep(maintenance(false, since))
                .record(PowerEventRecord.done("A", "guest-reset", "Start", Instant.EPOCH))
                .vmi("A Succeeded")
                .decide())
        .isEqualTo(new Step.LeaveMaintenance(null));
  }

  @Test
  void afterMaintenanceTheDecisionGoesOnAsBefore() {
    // no maintenance, never seen in it: the chain decides as without issue 15
    Step step = Snapshots.vm("Manual").vmi("A Succeeded").pods(ended("a", 1, RESET)).decide();
    assertThat(step).isInstanceOf(Step.Claim.class);
  }
}
