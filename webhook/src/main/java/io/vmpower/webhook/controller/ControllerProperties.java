package io.vmpower.webhook.controller;

import io.vmpower.controller.ControllerSettings;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code vmpower.controller.*}. Unset values keep {@link ControllerSettings}'s defaults
 * (client-go's leader-election timings; identity and namespace from the downward API's {@code
 * POD_NAME} and {@code POD_NAMESPACE}).
 */
@ConfigurationProperties("vmpower.controller")
public record ControllerProperties(
    @DefaultValue("true") boolean enabled,
    String leaseName,
    String leaseNamespace,
    String identity,
    Duration leaseDuration,
    Duration renewDeadline,
    Duration retryPeriod,
    Integer workers,
    Duration backoffBase,
    Duration backoffMax,
    Duration resyncPeriod,
    Duration podTerminationWait,
    Duration requestTimeout) {

  ControllerSettings toSettings() {
    ControllerSettings.Builder builder = ControllerSettings.builder();
    if (leaseName != null) {
      builder.leaseName(leaseName);
    }
    if (leaseNamespace != null) {
      builder.leaseNamespace(leaseNamespace);
    }
    if (identity != null) {
      builder.identity(identity);
    }
    if (leaseDuration != null) {
      builder.leaseDuration(leaseDuration);
    }
    if (renewDeadline != null) {
      builder.renewDeadline(renewDeadline);
    }
    if (retryPeriod != null) {
      builder.retryPeriod(retryPeriod);
    }
    if (workers != null) {
      builder.workers(workers);
    }
    if (backoffBase != null) {
      builder.backoffBase(backoffBase);
    }
    if (backoffMax != null) {
      builder.backoffMax(backoffMax);
    }
    if (resyncPeriod != null) {
      builder.resyncPeriod(resyncPeriod);
    }
    if (podTerminationWait != null) {
      builder.podTerminationWait(podTerminationWait);
    }
    if (requestTimeout != null) {
      builder.requestTimeout(requestTimeout);
    }
    return builder.build();
  }
}
