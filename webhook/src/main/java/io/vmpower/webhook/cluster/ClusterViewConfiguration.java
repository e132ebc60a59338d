package io.vmpower.webhook.cluster;

import io.vmpower.admission.ClusterView;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The VM webhook's {@link ClusterView}: informer caches with a cluster, nothing without one (no
 * namespace defaults to know).
 */
@Configuration(proxyBeanMethods = false)
public class ClusterViewConfiguration {

  @Bean(destroyMethod = "close")
  ClusterViewHolder clusterViewHolder(ClusterAccess cluster) {
    return new ClusterViewHolder(cluster.client().map(InformedClusterView::new).orElse(null));
  }

  @Bean
  ClusterView clusterView(ClusterViewHolder holder) {
    return holder.informed != null ? holder.informed : ClusterView.NONE;
  }

  /**
   * Part of the readiness group: a replica that does not know the namespaces' defaults yet must not
   * be called (it would refuse VMs without their own policy).
   */
  @Bean
  HealthIndicator namespacesHealthIndicator(ClusterViewHolder holder) {
    return () ->
        (holder.informed == null || holder.informed.namespacesLoaded()
                ? Health.up()
                : Health.outOfService())
            .withDetail("namespaces", holder.informed == null ? "no cluster" : "watched")
            .build();
  }

  /** Closes the informers with the context. */
  static final class ClusterViewHolder implements AutoCloseable {
    final InformedClusterView informed;

    ClusterViewHolder(InformedClusterView informed) {
      this.informed = informed;
    }

    @Override
    public void close() {
      if (informed != null) {
        informed.close();
      }
    }
  }
}
