package io.vmpower.webhook.cluster;

import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Connects to Kubernetes once at start-up, or says why not. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(ClusterSettings.class)
public class ClusterConfiguration {

  @Bean(destroyMethod = "close")
  ClusterAccess clusterAccess(ClusterSettings settings) {
    return ClusterAccess.connect(settings, System.getenv());
  }
}
