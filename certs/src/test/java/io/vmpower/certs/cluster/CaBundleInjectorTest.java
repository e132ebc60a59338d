package io.vmpower.certs.cluster;

import static io.vmpower.certs.cluster.Fixtures.WEBHOOK_CONFIG;
import static io.vmpower.certs.cluster.Fixtures.createWebhookConfiguration;
import static io.vmpower.certs.cluster.Fixtures.injected;
import static io.vmpower.certs.cluster.Fixtures.webhookConfiguration;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.vmpower.certs.CertificateAuthority;
import io.vmpower.certs.CertificateIssuer;
import io.vmpower.certs.KeyAlgorithm;
import io.vmpower.certs.Pem;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

@EnableKubernetesMockClient(crud = true)
class CaBundleInjectorTest {
  KubernetesClient client;
  CaBundleInjector injector;

  final CertificateIssuer issuer = new CertificateIssuer(Clock.systemUTC());
  final CertificateAuthority ca1 =
      issuer.newAuthority("ca1", KeyAlgorithm.EC_P256, Duration.ofDays(1));
  final CertificateAuthority ca2 =
      issuer.newAuthority("ca2", KeyAlgorithm.EC_P256, Duration.ofDays(1));

  @AfterEach
  void close() {
    if (injector != null) {
      injector.close();
    }
  }

  CaBundleInjector injector(CaBundleInjector.Mode mode) {
    injector = new CaBundleInjector(client, WEBHOOK_CONFIG, mode);
    return injector;
  }

  @Test
  void injectsIntoEveryWebhookAndLeavesTheRestAlone() {
    MutatingWebhookConfiguration before = createWebhookConfiguration(client);
    CaBundleInjector injector = injector(CaBundleInjector.Mode.REPAIR);
    injector.setWanted(ca1.certificatePem());
    assertThat(injector.isInjected()).isFalse();

    assertThat(injector.reconcile()).isTrue();

    assertThat(injector.isInjected()).isTrue();
    assertThat(injector.isInjected(ca1.certificatePem())).isTrue();
    assertThat(injector.isInjected(ca2.certificatePem())).isFalse();
    assertThat(injected(client))
        .containsExactly(List.of(ca1.certificate()), List.of(ca1.certificate()));
    MutatingWebhookConfiguration after = webhookConfiguration(client);
    for (int i = 0; i < 2; i++) {
      assertThat(after.getWebhooks().get(i).getClientConfig().getService())
          .isEqualTo(before.getWebhooks().get(i).getClientConfig().getService());
      assertThat(after.getWebhooks().get(i).getName())
          .isEqualTo(before.getWebhooks().get(i).getName());
    }
  }

  @Test
  void noPatchWhenAlreadyInPlace() {
    createWebhookConfiguration(client);
    CaBundleInjector injector = injector(CaBundleInjector.Mode.REPAIR);
    injector.setWanted(ca1.certificatePem());
    injector.reconcile();
    String version = webhookConfiguration(client).getMetadata().getResourceVersion();

    // same certificates, different text: still in place
    injector.setWanted("\n" + ca1.certificatePem() + "\n");
    assertThat(injector.reconcile()).isTrue();

    assertThat(webhookConfiguration(client).getMetadata().getResourceVersion()).isEqualTo(version);
  }

  @Test
  void bundleChangeIsInjected() {
    createWebhookConfiguration(client);
    CaBundleInjector injector = injector(CaBundleInjector.Mode.REPAIR);
    injector.setWanted(ca1.certificatePem());
    injector.reconcile();

    String both = Pem.encode(ca2.certificate(), ca1.certificate());
    injector.setWanted(both);
    assertThat(injector.isInjected()).isFalse();
    injector.reconcile();

    assertThat(injector.isInjected(both)).isTrue();
    assertThat(injected(client))
        .allSatisfy(
            certs -> assertThat(certs).containsExactly(ca2.certificate(), ca1.certificate()));
  }

  @Test
  void missingConfigurationIsNotInjectedUntilItAppears() {
    CaBundleInjector injector = injector(CaBundleInjector.Mode.REPAIR);
    injector.setWanted(ca1.certificatePem());

    assertThat(injector.reconcile()).isFalse();
    assertThat(injector.isInjected()).isFalse();

    createWebhookConfiguration(client);
    assertThat(injector.reconcile()).isTrue();
  }

  @Test
  void driftIsRepairedByTheInformer() throws Exception {
    createWebhookConfiguration(client);
    CaBundleInjector injector = injector(CaBundleInjector.Mode.REPAIR);
    injector.setWanted(ca1.certificatePem());
    injector.reconcile();
    injector.start(Duration.ofHours(1)); // the periodic check will not run during this test

    // e.g. `helm upgrade` resets the field
    overwriteCaBundle(0, "stale");

    Fixtures.await(
        "caBundle repaired",
        () -> injected(client).get(0).equals(List.of(ca1.certificate())) && injector.isInjected());
    assertThat(injected(client)).allSatisfy(c -> assertThat(c).containsExactly(ca1.certificate()));
  }

  @Test
  void driftIsRepairedByTheCheck() {
    createWebhookConfiguration(client);
    CaBundleInjector injector = injector(CaBundleInjector.Mode.REPAIR);
    injector.setWanted(ca1.certificatePem());
    injector.reconcile();
    overwriteCaBundle(1, ca2.certificatePem());

    assertThat(injector.reconcile()).isTrue(); // what the periodic check runs

    assertThat(injected(client)).allSatisfy(c -> assertThat(c).containsExactly(ca1.certificate()));
  }

  @Test
  void concurrentChangeMakesThePatchRetryOnFreshIndexes() {
    createWebhookConfiguration(client);
    CaBundleInjector injector = injector(CaBundleInjector.Mode.REPAIR);
    injector.setWanted(ca1.certificatePem());
    AtomicInteger writes = new AtomicInteger();
    // between our read and our first patch, someone removes the first webhook: index 1 is gone
    injector.beforeWrite(
        () -> {
          if (writes.incrementAndGet() == 1) {
            client
                .admissionRegistration()
                .v1()
                .mutatingWebhookConfigurations()
                .withName(WEBHOOK_CONFIG)
                .edit(
                    c -> {
                      c.getWebhooks().remove(0);
                      return c;
                    });
          }
        });

    assertThat(injector.reconcile()).isTrue();

    assertThat(writes.get()).as("a rejected patch, then one on the fresh object").isEqualTo(2);
    assertThat(webhookConfiguration(client).getWebhooks())
        .singleElement()
        .satisfies(w -> assertThat(w.getName()).isEqualTo("pod.vmpower.io"));
    assertThat(injected(client)).containsExactly(List.of(ca1.certificate()));
  }

  @Test
  void verifyModeOnlyReports() throws Exception {
    createWebhookConfiguration(client);
    CaBundleInjector injector = injector(CaBundleInjector.Mode.VERIFY);
    injector.setWanted(ca1.certificatePem());

    assertThat(injector.reconcile()).isFalse();
    assertThat(webhookConfiguration(client).getWebhooks().get(0).getClientConfig().getCaBundle())
        .isNull();

    // cert-manager's CA injector does the work
    overwriteCaBundle(0, ca1.certificatePem());
    overwriteCaBundle(1, ca1.certificatePem());
    assertThat(injector.reconcile()).isTrue();
    assertThat(injector.isInjected()).isTrue();
  }

  private void overwriteCaBundle(int index, String text) {
    client
        .admissionRegistration()
        .v1()
        .mutatingWebhookConfigurations()
        .withName(WEBHOOK_CONFIG)
        .edit(
            c -> {
              c.getWebhooks()
                  .get(index)
                  .getClientConfig()
                  .setCaBundle(
                      Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.US_ASCII)));
              return c;
            });
  }

  static List<X509Certificate> certs(String pem) {
    return Pem.readCertificates(pem);
  }
}
