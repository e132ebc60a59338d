package io.vmpower.webhook.cluster;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kubernetes client, when there is a cluster to talk to. Without one the application still runs
 * the webhooks on local certificates and says once, in one log line, what it left out.
 */
public final class ClusterAccess implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ClusterAccess.class);

  static final String LEFT_OUT =
      "power controller, certificates in a Secret, caBundle injection, leader election";

  private final KubernetesClient client;

  private ClusterAccess(KubernetesClient client) {
    this.client = client;
  }

  public static ClusterAccess connect(ClusterSettings settings, Map<String, String> environment) {
    String why = reasonToStayOffline(settings, environment);
    if (why != null) {
      return offline(why);
    }
    Config config = Config.autoConfigure(null);
    // A short-lived client with tight timeouts answers "is there a cluster?"; the real one keeps
    // the
    // usual timeouts for watches and writes.
    Config probeConfig =
        new ConfigBuilder(config)
            .withRequestTimeout((int) settings.probeTimeout().toMillis())
            .withConnectionTimeout((int) settings.probeTimeout().toMillis())
            .withRequestRetryBackoffLimit(0)
            .build();
    try (KubernetesClient probe = new KubernetesClientBuilder().withConfig(probeConfig).build()) {
      var version = probe.getKubernetesVersion();
      log.atInfo()
          .addKeyValue("server", config.getMasterUrl())
          .addKeyValue("version", version.getGitVersion())
          .log("connected to the Kubernetes API server");
    } catch (RuntimeException e) {
      return offline("API server " + config.getMasterUrl() + " not reachable: " + rootMessage(e));
    }
    return new ClusterAccess(new KubernetesClientBuilder().withConfig(config).build());
  }

  private static String reasonToStayOffline(
      ClusterSettings settings, Map<String, String> environment) {
    return switch (settings.mode()) {
      case DISABLED -> "vmpower.cluster.mode is disabled";
      case ENABLED -> null;
      case AUTO ->
          environment.containsKey("KUBERNETES_SERVICE_HOST")
                  || environment.containsKey("KUBECONFIG")
              ? null
              : "not running in a cluster and KUBECONFIG is not set";
    };
  }

  private static ClusterAccess offline(String why) {
    log.atInfo()
        .addKeyValue("reason", why)
        .addKeyValue("leftOut", LEFT_OUT)
        .log("no Kubernetes cluster: running the webhooks only, with local certificates");
    return new ClusterAccess(null);
  }

  public Optional<KubernetesClient> client() {
    return Optional.ofNullable(client);
  }

  @Override
  public void close() {
    if (client != null) {
      client.close();
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getClass().getSimpleName()
        + (root.getMessage() == null ? "" : ": " + root.getMessage());
  }
}
