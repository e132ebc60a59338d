package io.vmpower.webhook.controller;

import io.micrometer.core.instrument.MeterRegistry;
import io.vmpower.controller.PowerController;
import io.vmpower.webhook.cluster.ClusterAccess;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Runs the power controller next to the webhooks when there is a cluster and it is enabled. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(ControllerProperties.class)
public class ControllerConfiguration {

  @Bean
  @ConditionalOnProperty(
      name = "vmpower.controller.enabled",
      havingValue = "true",
      matchIfMissing = true)
  PowerControllerLifecycle powerController(
      ClusterAccess cluster, ControllerProperties properties, MeterRegistry meters) {
    return new PowerControllerLifecycle(cluster, properties, meters);
  }

  /** Starts the controller after the web server is up and stops it before the server drains. */
  public static final class PowerControllerLifecycle implements SmartLifecycle {
    private final ClusterAccess cluster;
    private final ControllerProperties properties;
    private final MeterRegistry meters;
    private PowerController controller;

    PowerControllerLifecycle(
        ClusterAccess cluster, ControllerProperties properties, MeterRegistry meters) {
      this.cluster = cluster;
      this.properties = properties;
      this.meters = meters;
    }

    @Override
    public synchronized void start() {
      cluster
          .client()
          .ifPresent(
              client -> {
                controller = new PowerController(client, properties.toSettings(), meters);
                controller.start();
              });
    }

    @Override
    public synchronized void stop() {
      if (controller != null) {
        controller.close();
        controller = null;
      }
    }

    @Override
    public synchronized boolean isRunning() {
      return controller != null;
    }

    /** The running controller, if any (for health and tests). */
    public synchronized java.util.Optional<PowerController> controller() {
      return java.util.Optional.ofNullable(controller);
    }
  }
}
