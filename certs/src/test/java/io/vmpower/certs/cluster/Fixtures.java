package io.vmpower.certs.cluster;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfigurationBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.vmpower.certs.Pem;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import java.util.function.BooleanSupplier;

final class Fixtures {
  private Fixtures() {}

  static final String NAMESPACE = "vmpower-system";
  static final String SECRET = "vmpower-webhook-tls";
  static final String WEBHOOK_CONFIG = "vmpower";

  /** Two webhooks like the chart's: one without caBundle, one with a stale value. */
  static MutatingWebhookConfiguration webhookConfiguration() {
    return new MutatingWebhookConfigurationBuilder()
        .withNewMetadata()
        .withName(WEBHOOK_CONFIG)
        .endMetadata()
        .addNewWebhook()
        .withName("vm.vmpower.io")
        .withAdmissionReviewVersions("v1")
        .withSideEffects("None")
        .withNewClientConfig()
        .withNewService()
        .withName("vmpower")
        .withNamespace(NAMESPACE)
        .withPath("/mutate-vm")
        .endService()
        .endClientConfig()
        .endWebhook()
        .addNewWebhook()
        .withName("pod.vmpower.io")
        .withAdmissionReviewVersions("v1")
        .withSideEffects("None")
        .withNewClientConfig()
        .withCaBundle(
            Base64.getEncoder().encodeToString("stale".getBytes(StandardCharsets.US_ASCII)))
        .withNewService()
        .withName("vmpower")
        .withNamespace(NAMESPACE)
        .withPath("/mutate-pod")
        .endService()
        .endClientConfig()
        .endWebhook()
        .build();
  }

  static MutatingWebhookConfiguration createWebhookConfiguration(KubernetesClient client) {
    return client
        .admissionRegistration()
        .v1()
        .mutatingWebhookConfigurations()
        .resource(webhookConfiguration())
        .create();
  }

  static MutatingWebhookConfiguration webhookConfiguration(KubernetesClient client) {
    return client
        .admissionRegistration()
        .v1()
        .mutatingWebhookConfigurations()
        .withName(WEBHOOK_CONFIG)
        .get();
  }

  /** The certificates in each webhook's caBundle. */
  static List<List<X509Certificate>> injected(KubernetesClient client) {
    return webhookConfiguration(client).getWebhooks().stream()
        .map(
            w ->
                Pem.readCertificates(
                    new String(
                        Base64.getDecoder().decode(w.getClientConfig().getCaBundle()),
                        StandardCharsets.US_ASCII)))
        .toList();
  }

  private static boolean holds(BooleanSupplier condition) {
    try {
      return condition.getAsBoolean();
    } catch (RuntimeException e) {
      return false; // e.g. a caBundle that is not PEM yet
    }
  }

  static Secret secret(KubernetesClient client) {
    return client.secrets().inNamespace(NAMESPACE).withName(SECRET).get();
  }

  static String data(Secret secret, String key) {
    String value = secret.getData().get(key);
    return value == null
        ? null
        : new String(Base64.getDecoder().decode(value), StandardCharsets.US_ASCII);
  }

  /** Waits for something asynchronous (an informer event) to happen; fails after 10 s. */
  static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!holds(condition)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(20);
    }
  }
}
