package io.vmpower.charts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** values.schema.json makes Helm refuse wrong values before anything reaches the cluster. */
class ValuesSchemaTest {

  @ParameterizedTest
  @CsvSource({
    "webhooks.vms.failurePolicy, Sometimes",
    "webhooks.pods.failurePolicy, fail",
    "webhooks.vms.reinvocationPolicy, Always",
    "webhooks.pods.timeoutSeconds, 31",
    "webhooks.vms.timeoutSeconds, 0",
    "tls.mode, vault",
    "replicaCount, 0",
    "podAntiAffinity, maybe",
    "image.pullPolicy, Sometimes",
    "image.digest, latest",
    "controller.enabled, yes-please",
    "webhooks.extraExcludedNamespaces[0], Not_A_Namespace",
    "replicas, 2",
    "webhooks.vms.failure_policy, Fail",
  })
  void rejects(String key, String value) {
    assertThatThrownBy(() -> Rendered.render(Map.of(key, value)))
        .hasMessageContaining("values don't meet the specifications of the schema");
  }

  @ParameterizedTest
  @CsvSource({
    "webhooks.vms.failurePolicy, Ignore",
    "webhooks.pods.failurePolicy, Fail",
    "tls.mode, cert-manager",
    "replicaCount, 1",
    "podAntiAffinity, hard",
    "podDisruptionBudget.maxUnavailable, 50%",
  })
  void accepts(String key, String value) {
    assertThat(Rendered.render(Map.of(key, value)).objects).isNotEmpty();
  }
}
