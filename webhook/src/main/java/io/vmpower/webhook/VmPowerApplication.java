package io.vmpower.webhook;

import io.vmpower.injector.PodMutator;
import io.vmpower.webhook.http.AdmissionHandlers;
import io.vmpower.webhook.http.AdmissionHandlersFactory;
import io.vmpower.webhook.http.WebhookSettings;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/** The vmpower server: admission webhooks over TLS (and, with a cluster, the power controller). */
@SpringBootApplication
@EnableConfigurationProperties(WebhookSettings.class)
public class VmPowerApplication {

  @Bean
  AdmissionHandlers admissionHandlers(WebhookSettings settings) {
    return AdmissionHandlersFactory.create(
        settings.maxRequestBytes(), PodMutator.withBundledMonitor());
  }
}
