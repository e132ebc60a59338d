package io.vmpower.webhook.powercontroller;

import io.micrometer.core.instrument.MeterRegistry;
import io.vmpower.controller.ControllerSettings;
import io.vmpower.controller.PowerController;
import io.vmpower.webhook.cluster.ClusterAccess;
import java.util.Optional;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * Runs the power controller next to the webhooks when there is a cluster and it is enabled ({@code
 * vmpower.controller.enabled}, default true).
 */
@Configuration(proxyBeanMethods = false)
public class PowerControllerConfiguration {
  /** The controller's settings are {@code vmpower.controller.*}, by their names in kebab case. */
  static final String PREFIX = "vmpower.controller";

  @Bean
  @ConditionalOnProperty(name = PREFIX + ".enabled", havingValue = "true", matchIfMissing = true)
  PowerControllerLifecycle powerController(
      ClusterAccess cluster, Environment environment, MeterRegistry meters) {
    return new PowerControllerLifecycle(cluster, settings(environment), meters);
  }

  /**
   * {@code vmpower.controller.*} bound straight onto {@link ControllerSettings}, whose constructor
   * gives what is not set its default: the defaults are written once, there.
   */
  static ControllerSettings settings(Environment environment) {
    return Binder.get(environment)
        .bind(PREFIX, ControllerSettings.class)
        .orElseGet(ControllerSettings::defaults);
  }

  /** Starts the controller after the web server is up and stops it before the server drains. */
  public static final class PowerControllerLifecycle implements SmartLifecycle {
    private final ClusterAccess cluster;
    private final ControllerSettings settings;
    private final MeterRegistry meters;
    private PowerController controller;

    PowerControllerLifecycle(
        ClusterAccess cluster, ControllerSettings settings, MeterRegistry meters) {
      this.cluster = cluster;
      this.settings = settings;
      this.meters = meters;
    }

    @Override
    public synchronized void start() {
      cluster
          .client()
          .ifPresent(
              client -> {
                controller = new PowerController(client, settings, meters);
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
    public synchronized Optional<PowerController> controller() {
      return Optional.ofNullable(controller);
    }
  }
}
