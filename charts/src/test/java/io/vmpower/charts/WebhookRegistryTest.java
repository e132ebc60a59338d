package io.vmpower.charts;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.RuleWithOperations;
import io.vmpower.admission.Webhook;
import io.vmpower.admission.Webhooks;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The chart's MutatingWebhookConfiguration is the second place a webhook is written down (the
 * program's is {@link Webhooks}): every webhook of the chart calls a path the program serves, for
 * the resource the program reviews there, and every webhook of the program is in the chart.
 */
class WebhookRegistryTest {

  @Test
  void theChartsWebhooksAreTheProgramsWebhooks() {
    List<Webhook> served = Webhooks.create(1024).all();
    MutatingWebhookConfiguration config =
        Rendered.render(Map.of()).one(MutatingWebhookConfiguration.class);

    assertThat(config.getWebhooks())
        .extracting(w -> w.getClientConfig().getService().getPath())
        .containsExactlyInAnyOrderElementsOf(served.stream().map(Webhook::path).toList());
    for (MutatingWebhook webhook : config.getWebhooks()) {
      Webhook program =
          served.stream()
              .filter(w -> w.path().equals(webhook.getClientConfig().getService().getPath()))
              .findFirst()
              .orElseThrow();
      assertThat(webhook.getRules()).isNotEmpty();
      for (RuleWithOperations rule : webhook.getRules()) {
        assertThat(rule.getApiGroups())
            .as(webhook.getName())
            .containsExactly(program.type().group());
        assertThat(rule.getApiVersions())
            .as(webhook.getName())
            .containsExactly(program.type().version());
        assertThat(rule.getResources())
            .as(webhook.getName())
            .containsExactly(program.type().plural());
      }
    }
  }
}
