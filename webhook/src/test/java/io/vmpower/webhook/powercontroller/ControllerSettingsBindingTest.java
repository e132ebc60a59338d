package io.vmpower.webhook.powercontroller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vmpower.controller.ControllerSettings;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

/** {@code vmpower.controller.*} is bound straight onto the controller's own settings record. */
class ControllerSettingsBindingTest {

  private static ControllerSettings bind(Map<String, Object> properties) {
    var environment = new StandardEnvironment();
    environment.getPropertySources().addFirst(new MapPropertySource("test", properties));
    return PowerControllerConfiguration.settings(environment);
  }

  @Test
  void setPropertiesAreTakenAndTheRestKeepTheirDefaults() {
    ControllerSettings defaults = ControllerSettings.defaults();
    ControllerSettings bound =
        bind(
            Map.of(
                "vmpower.controller.pod-termination-wait", "10s",
                "vmpower.controller.workers", "3",
                "vmpower.controller.lease-name", "elsewhere",
                "vmpower.controller.enabled", "true"));
    assertThat(bound.podTerminationWait()).isEqualTo(Duration.ofSeconds(10));
    assertThat(bound.workers()).isEqualTo(3);
    assertThat(bound.leaseName()).isEqualTo("elsewhere");
    assertThat(bound.leaseDuration()).isEqualTo(defaults.leaseDuration());
    assertThat(bound.renewDeadline()).isEqualTo(defaults.renewDeadline());
    assertThat(bound.resyncPeriod()).isEqualTo(defaults.resyncPeriod());
    assertThat(bound.requestTimeout()).isEqualTo(defaults.requestTimeout());
  }

  @Test
  void noPropertiesGiveTheDefaults() {
    ControllerSettings bound = bind(Map.of());
    ControllerSettings defaults = ControllerSettings.defaults();
    assertThat(bound.toBuilder().identity("x").build())
        .isEqualTo(defaults.toBuilder().identity("x").build());
  }

  @Test
  void inconsistentTimingsAreRefused() {
    assertThatThrownBy(
            () ->
                bind(
                    Map.of(
                        "vmpower.controller.lease-duration", "5s",
                        "vmpower.controller.renew-deadline", "5s")))
        .hasStackTraceContaining("renewDeadline must be shorter than leaseDuration");
  }
}
