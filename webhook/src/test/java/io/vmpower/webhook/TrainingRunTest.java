package io.vmpower.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.context.ConfigurableApplicationContext;

/** The CDS training run: a complete start, one readiness probe, a clean exit. */
class TrainingRunTest {
  @TempDir Path certs;

  private ConfigurableApplicationContext start(String... extra) {
    String[] args = {
      "--server.port=0",
      "--management.server.port=0",
      "--vmpower.cluster.mode=disabled",
      "--vmpower.tls.dir=" + certs
    };
    String[] all = new String[args.length + extra.length];
    System.arraycopy(args, 0, all, 0, args.length);
    System.arraycopy(extra, 0, all, args.length, extra.length);
    return SpringApplication.run(VmPowerApplication.class, all);
  }

  @Test
  void onlyWhenAskedFor() {
    try (var context = start()) {
      assertThat(TrainingRun.requested(context)).isFalse();
    }
  }

  @Test
  void probesReadinessThenClosesTheContext() {
    var context = start("--vmpower.training-run=true");
    assertThat(TrainingRun.requested(context)).isTrue();

    assertThat(TrainingRun.finish(context)).isZero();
    assertThat(context.isActive()).isFalse();
  }

  @Test
  void failsWhenNotReady() {
    var context = start("--vmpower.training-run=true");
    AvailabilityChangeEvent.publish(context, ReadinessState.REFUSING_TRAFFIC);

    assertThat(TrainingRun.finish(context, Duration.ofMillis(500))).isEqualTo(1);
    assertThat(context.isActive()).isFalse();
  }
}
