package io.vmpower.webhook.cluster;

import io.vmpower.admission.RebootPolicyGate;
import io.vmpower.webhook.http.WebhookSettings;
import io.vmpower.webhook.http.WebhookSettings.NativeRebootPolicy;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The native reboot policy for the VM webhook: with {@code
 * vmpower.webhook.native-reboot-policy=if-supported} and a cluster, KubeVirt's gate as its CR says
 * ({@link KubeVirtRebootPolicyGate}); otherwise closed.
 */
@Configuration(proxyBeanMethods = false)
public class NativeRebootPolicyConfiguration {
  private static final Logger log = LoggerFactory.getLogger(NativeRebootPolicyConfiguration.class);

  /** Holds the informer, if one runs, so that it stops with the application. */
  public record NativeRebootPolicyGate(RebootPolicyGate gate, Optional<AutoCloseable> informer)
      implements AutoCloseable {
    @Override
    public void close() throws Exception {
      if (informer.isPresent()) {
        informer.get().close();
      }
    }
  }

  @Bean(destroyMethod = "close")
  NativeRebootPolicyGate nativeRebootPolicyGate(WebhookSettings settings, ClusterAccess cluster) {
    if (settings.nativeRebootPolicy() != NativeRebootPolicy.IF_SUPPORTED) {
      return new NativeRebootPolicyGate(RebootPolicyGate.CLOSED, Optional.empty());
    }
    if (cluster.client().isEmpty()) {
      log.info("native reboot policy: no cluster, so no KubeVirt feature gate to read; never set");
      return new NativeRebootPolicyGate(RebootPolicyGate.CLOSED, Optional.empty());
    }
    KubeVirtRebootPolicyGate gate = KubeVirtRebootPolicyGate.start(cluster.client().get());
    return new NativeRebootPolicyGate(gate, Optional.of(gate));
  }
}
