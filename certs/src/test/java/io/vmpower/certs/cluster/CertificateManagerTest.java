package io.vmpower.certs.cluster;

import static io.vmpower.certs.cluster.Fixtures.NAMESPACE;
import static io.vmpower.certs.cluster.Fixtures.SECRET;
import static io.vmpower.certs.cluster.Fixtures.WEBHOOK_CONFIG;
import static io.vmpower.certs.cluster.Fixtures.createWebhookConfiguration;
import static io.vmpower.certs.cluster.Fixtures.data;
import static io.vmpower.certs.cluster.Fixtures.injected;
import static io.vmpower.certs.cluster.Fixtures.secret;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.vmpower.certs.CertificateBundle;
import io.vmpower.certs.CertificateChecks;
import io.vmpower.certs.CertificateIssuer;
import io.vmpower.certs.KeyAlgorithm;
import io.vmpower.certs.MutableClock;
import io.vmpower.certs.ServingIdentity;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

@EnableKubernetesMockClient(crud = true)
class CertificateManagerTest {
  static final CertificateLifetimes LIFETIMES =
      new CertificateLifetimes(Duration.ofDays(300), Duration.ofDays(30), Duration.ofMinutes(10));

  KubernetesClient client;
  KubernetesMockServer server;
  final MutableClock clock = MutableClock.at("2026-11-25T10:00:00Z");
  final List<CertificateBundle> delivered = new CopyOnWriteArrayList<>();
  final List<AutoCloseable> closeables = new CopyOnWriteArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
  }

  CertificateManager manager(KubernetesClient c) {
    SecretCertificateStore store =
        new SecretCertificateStore(
            c,
            NAMESPACE,
            SECRET,
            new CertificateIssuer(clock),
            ServingIdentity.forService("vmpower", NAMESPACE),
            KeyAlgorithm.EC_P256,
            LIFETIMES);
    CaBundleInjector injector =
        new CaBundleInjector(c, WEBHOOK_CONFIG, CaBundleInjector.Mode.REPAIR);
    CertificateManager manager = new CertificateManager(store, injector, Duration.ofHours(1));
    closeables.add(manager);
    return manager;
  }

  @Test
  void readyOnlyWhenLoadedAndInjected() {
    CertificateManager manager = manager(client);
    manager.addListener(delivered::add);
    assertThat(manager.ready()).isFalse();

    // no webhook configuration yet: the certificate loads, but the API server could not trust it
    manager.refresh();
    assertThat(delivered).hasSize(1);
    assertThat(manager.loaded()).contains(delivered.get(0));
    assertThat(manager.ready()).isFalse();

    createWebhookConfiguration(client);
    manager.refresh();
    assertThat(manager.ready()).isTrue();
    assertThat(delivered).hasSize(1); // unchanged bundle: not delivered again
    assertThat(injected(client))
        .allSatisfy(
            certs -> assertThat(certs).containsExactlyElementsOf(delivered.get(0).authorities()));
  }

  @Test
  void notReadyWhileTheListenerFails() {
    createWebhookConfiguration(client);
    CertificateManager manager = manager(client);
    AtomicBoolean fail = new AtomicBoolean(true);
    manager.addListener(
        bundle -> {
          if (fail.get()) {
            throw new IllegalStateException("TLS reload failed");
          }
          delivered.add(bundle);
        });

    manager.refresh();
    assertThat(manager.current()).isPresent();
    assertThat(manager.loaded()).isEmpty();
    assertThat(manager.ready()).isFalse();

    fail.set(false);
    manager.refresh(); // delivery is retried although the bundle did not change
    assertThat(delivered).hasSize(1);
    assertThat(manager.ready()).isTrue();
  }

  @Test
  void notReadyAfterDriftUntilRepaired() {
    createWebhookConfiguration(client);
    CertificateManager manager = manager(client);
    manager.addListener(delivered::add);
    manager.refresh();
    assertThat(manager.ready()).isTrue();

    client
        .admissionRegistration()
        .v1()
        .mutatingWebhookConfigurations()
        .withName(WEBHOOK_CONFIG)
        .edit(
            c -> {
              c.getWebhooks()
                  .get(1)
                  .getClientConfig()
                  .setCaBundle(
                      Base64.getEncoder().encodeToString("x".getBytes(StandardCharsets.US_ASCII)));
              return c;
            });
    manager.refresh(); // the periodic pass: finds the drift and repairs it

    assertThat(manager.ready()).isTrue();
    assertThat(injected(client))
        .allSatisfy(
            certs -> assertThat(certs).containsExactlyElementsOf(delivered.get(0).authorities()));
  }

  @Test
  void driftMakesTheReplicaUnreadyAtOnceAndTheWatchRepairsIt() throws Exception {
    createWebhookConfiguration(client);
    CertificateManager manager = manager(client);
    manager.addListener(delivered::add);
    manager.start(); // informer on; the periodic pass is an hour away

    assertThat(manager.ready()).isTrue();
    client
        .admissionRegistration()
        .v1()
        .mutatingWebhookConfigurations()
        .withName(WEBHOOK_CONFIG)
        .edit(
            c -> {
              c.getWebhooks().get(0).getClientConfig().setCaBundle(null);
              return c;
            });

    Fixtures.await(
        "caBundle repaired by the watch",
        () ->
            injected(client).stream()
                    .allMatch(certs -> certs.equals(delivered.get(0).authorities()))
                && manager.ready());
  }

  @Test
  void renewalIsDeliveredToTheListener() {
    createWebhookConfiguration(client);
    CertificateManager manager = manager(client);
    manager.addListener(delivered::add);
    manager.refresh();

    clock.advance(Duration.ofDays(21));
    manager.refresh();

    assertThat(delivered).hasSize(2);
    assertThat(delivered.get(1).leaf()).isNotEqualTo(delivered.get(0).leaf());
    assertThat(delivered.get(1).caPem()).isEqualTo(delivered.get(0).caPem());
    assertThat(manager.ready()).isTrue();
  }

  @Test
  void twoReplicasRotateTheCaWithOverlapInTheWebhookConfiguration() throws Exception {
    createWebhookConfiguration(client);
    KubernetesClient other = server.createClient();
    closeables.add(other);
    CertificateManager a = manager(client);
    CertificateManager b = manager(other);
    List<CertificateBundle> fromB = new CopyOnWriteArrayList<>();
    a.addListener(delivered::add);
    b.addListener(fromB::add);
    a.refresh();
    b.refresh();
    X509Certificate oldCa = delivered.get(0).authorities().get(0);
    assertThat(fromB.get(0)).isEqualTo(delivered.get(0));
    assertThat(a.ready()).isTrue();
    assertThat(b.ready()).isTrue();

    // step 1: new CA added; the webhook configuration holds both
    clock.advance(Duration.ofDays(201));
    a.refresh();
    b.refresh();
    List<X509Certificate> both = a.current().orElseThrow().authorities();
    assertThat(both).hasSize(2).contains(oldCa);
    assertThat(injected(client))
        .allSatisfy(certs -> assertThat(new HashSet<>(certs)).isEqualTo(new HashSet<>(both)));
    assertThat(CertificateChecks.isSignedBy(b.loaded().orElseThrow().leaf(), oldCa)).isTrue();
    assertThat(a.ready()).isTrue();
    assertThat(b.ready()).isTrue();

    // step 2 after the grace period: B switches signing; A still serves the old leaf until it
    // refreshes, and the bundle in the configuration still trusts it
    clock.advance(Duration.ofMinutes(11));
    b.refresh();
    X509Certificate newCa = both.get(1);
    assertThat(CertificateChecks.isSignedBy(b.loaded().orElseThrow().leaf(), newCa)).isTrue();
    assertThat(CertificateChecks.isSignedBy(a.loaded().orElseThrow().leaf(), oldCa)).isTrue();
    assertThat(injected(client)).allSatisfy(certs -> assertThat(certs).contains(oldCa, newCa));
    a.refresh();
    assertThat(a.loaded()).isEqualTo(b.loaded());

    // step 3: the old CA leaves the Secret and the configuration
    clock.advance(Duration.ofMinutes(11));
    a.refresh();
    b.refresh();
    assertThat(injected(client)).allSatisfy(certs -> assertThat(certs).containsExactly(newCa));
    assertThat(data(secret(client), "ca.crt")).isEqualTo(a.loaded().orElseThrow().caPem());
    assertThat(a.ready()).isTrue();
    assertThat(b.ready()).isTrue();
  }
}
