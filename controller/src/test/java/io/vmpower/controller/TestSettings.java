package io.vmpower.controller;

import io.vmpower.controller.testing.MockCluster;
import java.time.Duration;

/** Short durations so that the suite stays fast; the structure is the production one. */
final class TestSettings {
  private TestSettings() {}

  static final Duration LEASE = Duration.ofSeconds(2);

  static ControllerSettings.Builder forIdentity(String identity) {
    return ControllerSettings.builder()
        .leaseNamespace(MockCluster.RELEASE_NS)
        .leaseName("vmpower-controller")
        .identity(identity)
        .leaseDuration(LEASE)
        .renewDeadline(Duration.ofMillis(1500))
        .retryPeriod(Duration.ofMillis(200))
        .workers(2)
        .backoffBase(Duration.ofMillis(50))
        .backoffMax(Duration.ofMillis(800))
        .resyncPeriod(Duration.ofSeconds(30))
        .podTerminationWait(Duration.ofSeconds(2))
        .requestTimeout(Duration.ofMillis(800))
        .restartBackoffBase(Duration.ofMillis(300))
        .restartBackoffMax(Duration.ofSeconds(2))
        .restartBackoffReset(Duration.ofMinutes(1))
        .restartLimit(5)
        .restartLimitWindow(Duration.ofHours(1));
  }
}
