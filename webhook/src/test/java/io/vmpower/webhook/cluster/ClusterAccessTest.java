package io.vmpower.webhook.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

@ExtendWith(OutputCaptureExtension.class)
class ClusterAccessTest {
  private static final String MASTER = "kubernetes.master";

  @AfterEach
  void clearMaster() {
    System.clearProperty(MASTER);
    System.clearProperty("kubernetes.auth.tryKubeConfig");
  }

  private static ClusterSettings settings(ClusterSettings.Mode mode) {
    return new ClusterSettings(mode, Duration.ofSeconds(2));
  }

  @Test
  void bareMachineStaysOfflineAndSaysWhatItLeftOut(CapturedOutput output) {
    try (ClusterAccess access =
        ClusterAccess.connect(settings(ClusterSettings.Mode.AUTO), Map.of())) {
      assertThat(access.client()).isEmpty();
    }
    assertThat(output.getOut())
        .contains("no Kubernetes cluster: running the webhooks only, with local certificates")
        .contains("not running in a cluster and KUBECONFIG is not set")
        .contains(ClusterAccess.LEFT_OUT);
  }

  @Test
  void disabledStaysOffline() {
    try (ClusterAccess access =
        ClusterAccess.connect(
            settings(ClusterSettings.Mode.DISABLED),
            Map.of("KUBERNETES_SERVICE_HOST", "10.0.0.1"))) {
      assertThat(access.client()).isEmpty();
    }
  }

  @Test
  void unreachableApiServerStaysOffline(CapturedOutput output) {
    System.setProperty(MASTER, "https://127.0.0.1:1");
    System.setProperty("kubernetes.auth.tryKubeConfig", "false");
    try (ClusterAccess access =
        ClusterAccess.connect(settings(ClusterSettings.Mode.ENABLED), Map.of())) {
      assertThat(access.client()).isEmpty();
    }
    assertThat(output.getOut()).contains("API server https://127.0.0.1:1/ not reachable");
  }

  @Test
  void reachableApiServerGivesAClient() {
    KubernetesMockServer server = new KubernetesMockServer(false);
    server.init();
    try {
      server
          .expect()
          .get()
          .withPath("/version")
          .andReturn(200, "{\"major\":\"1\",\"minor\":\"34\",\"gitVersion\":\"v1.34.2\"}")
          .always();
      System.setProperty(MASTER, server.url("/"));
      System.setProperty("kubernetes.auth.tryKubeConfig", "false");
      try (ClusterAccess access =
          ClusterAccess.connect(settings(ClusterSettings.Mode.ENABLED), Map.of())) {
        assertThat(access.client()).isPresent();
      }
    } finally {
      server.destroy();
    }
  }
}
