package io.vmpower.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RunPolicyTest {

  @Test
  void mapsEveryPolicyToItsRunStrategy() {
    assertThat(RunPolicy.ALWAYS_ON.runStrategy()).isEqualTo("Always");
    assertThat(RunPolicy.ALWAYS_OFF.runStrategy()).isEqualTo("Halted");
    assertThat(RunPolicy.MANUAL.runStrategy()).isEqualTo("Manual");
    assertThat(RunPolicy.ALWAYS_ON_UNLESS_STOPPED_MANUALLY.runStrategy()).isEqualTo("Manual");
  }

  @Test
  void parsesExactValuesAndTheAlias() {
    assertThat(RunPolicy.parse("AlwaysOn"))
        .contains(new RunPolicy.Parsed(RunPolicy.ALWAYS_ON, false));
    assertThat(RunPolicy.parse("AlwaysOnUntilStoppedManually"))
        .contains(new RunPolicy.Parsed(RunPolicy.ALWAYS_ON_UNLESS_STOPPED_MANUALLY, true));
    assertThat(RunPolicy.parse("alwayson")).isEmpty();
    assertThat(RunPolicy.parse(" AlwaysOn")).isEmpty();
    assertThat(RunPolicy.parse(null)).isEmpty();
  }

  @Test
  void listsValidValues() {
    assertThat(RunPolicy.values(false))
        .containsExactly("AlwaysOn", "AlwaysOff", "Manual", "AlwaysOnUnlessStoppedManually");
  }

  @Test
  void restartRulesFollowThePolicyTable() {
    assertThat(RunPolicy.MANUAL.restartsOnGuestReset()).isTrue();
    assertThat(RunPolicy.MANUAL.restartsOnInfrastructureFailure()).isFalse();
    assertThat(RunPolicy.ALWAYS_ON_UNLESS_STOPPED_MANUALLY.restartsOnGuestReset()).isTrue();
    assertThat(RunPolicy.ALWAYS_ON_UNLESS_STOPPED_MANUALLY.restartsOnInfrastructureFailure())
        .isTrue();
    assertThat(RunPolicy.ALWAYS_ON.restartsOnGuestReset()).isFalse();
    assertThat(RunPolicy.ALWAYS_OFF.restartsOnGuestReset()).isFalse();
  }
}
