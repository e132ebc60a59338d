package io.vmpower.webhook.cluster;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code vmpower.cluster.*}: whether to talk to Kubernetes.
 *
 * @param mode {@code auto} (default): only inside a cluster (the pod's service-account environment)
 *     or when {@code KUBECONFIG} is set explicitly, so a developer's default kubeconfig is never
 *     used by accident; {@code enabled}: always (the usual kubeconfig lookup); {@code disabled}:
 *     never
 * @param probeTimeout how long the start-up check of the API server ({@code GET /version}) may take
 */
@ConfigurationProperties("vmpower.cluster")
public record ClusterSettings(
    @DefaultValue("auto") Mode mode, @DefaultValue("5s") Duration probeTimeout) {

  public enum Mode {
    AUTO,
    ENABLED,
    DISABLED
  }
}
