package io.vmpower.webhook;

import io.vmpower.admission.Webhooks;
import io.vmpower.webhook.cluster.NativeRebootPolicyConfiguration.NativeRebootPolicyGate;
import io.vmpower.webhook.http.WebhookSettings;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/** The vmpower server: admission webhooks over TLS (and, with a cluster, the power controller). */
@SpringBootApplication
@EnableConfigurationProperties(WebhookSettings.class)
public class VmPowerApplication {

  @Bean
  Webhooks webhooks(WebhookSettings settings, NativeRebootPolicyGate nativeRebootPolicy) {
    return Webhooks.create(settings.maxRequestBytes(), nativeRebootPolicy.gate());
  }
}
