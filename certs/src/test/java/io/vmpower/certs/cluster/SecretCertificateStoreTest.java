package io.vmpower.certs.cluster;

import static io.vmpower.certs.cluster.Fixtures.NAMESPACE;
import static io.vmpower.certs.cluster.Fixtures.SECRET;
import static io.vmpower.certs.cluster.Fixtures.data;
import static io.vmpower.certs.cluster.Fixtures.secret;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.vmpower.certs.CertificateAuthority;
import io.vmpower.certs.CertificateBundle;
import io.vmpower.certs.CertificateChecks;
import io.vmpower.certs.CertificateIssuer;
import io.vmpower.certs.KeyAlgorithm;
import io.vmpower.certs.MutableClock;
import io.vmpower.certs.Pem;
import io.vmpower.certs.ServingIdentity;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

@EnableKubernetesMockClient(crud = true)
class SecretCertificateStoreTest {
  static final CertificateLifetimes LIFETIMES =
      new CertificateLifetimes(Duration.ofDays(300), Duration.ofDays(30), Duration.ofMinutes(10));

  KubernetesClient client;
  KubernetesMockServer server;
  final MutableClock clock = MutableClock.at("2026-11-25T10:00:00Z");
  final ServingIdentity identity = ServingIdentity.forService("vmpower", NAMESPACE);
  KubernetesClient otherClient;

  @AfterEach
  void closeOther() {
    if (otherClient != null) {
      otherClient.close();
    }
  }

  SecretCertificateStore store(KubernetesClient c) {
    return store(c, identity);
  }

  SecretCertificateStore store(KubernetesClient c, ServingIdentity id) {
    return new SecretCertificateStore(
        c, NAMESPACE, SECRET, new CertificateIssuer(clock), id, KeyAlgorithm.EC_P256, LIFETIMES);
  }

  KubernetesClient otherReplica() {
    otherClient = server.createClient();
    return otherClient;
  }

  @Test
  void firstStartCreatesATlsSecret() throws Exception {
    CertificateBundle bundle = store(client).ensure();

    Secret secret = secret(client);
    assertThat(secret.getType()).isEqualTo("kubernetes.io/tls");
    assertThat(secret.getData()).containsOnlyKeys("tls.crt", "tls.key", "ca.crt", "ca.key");
    assertThat(secret.getMetadata().getLabels())
        .containsEntry("app.kubernetes.io/managed-by", "vmpower");
    assertThat(data(secret, "tls.crt")).isEqualTo(bundle.certificatePem());
    assertThat(data(secret, "tls.key")).isEqualTo(bundle.privateKeyPem());
    assertThat(data(secret, "ca.crt")).isEqualTo(bundle.caPem());
    CertificateAuthority ca = CertificateAuthority.fromPem(bundle.caPem(), data(secret, "ca.key"));
    assertThat(bundle.authorities()).containsExactly(ca.certificate());
    validates(bundle.leaf(), bundle.authorities());
    assertThat(CertificateChecks.namesMatch(bundle.leaf(), identity)).isTrue();
  }

  @Test
  void laterCallsReuseWithoutWriting() {
    CertificateBundle first = store(client).ensure();
    String version = secret(client).getMetadata().getResourceVersion();
    clock.advance(Duration.ofDays(10));

    assertThat(store(client).ensure()).isEqualTo(first);
    assertThat(store(otherReplica()).ensure()).isEqualTo(first);
    assertThat(secret(client).getMetadata().getResourceVersion()).isEqualTo(version);
  }

  @Test
  void losingTheCreateRaceAdoptsTheWinner() {
    SecretCertificateStore a = store(client);
    SecretCertificateStore b = store(otherReplica());
    AtomicBoolean once = new AtomicBoolean();
    CertificateBundle[] fromB = new CertificateBundle[1];
    // A has read "no Secret"; B creates it before A writes
    a.beforeWrite(
        () -> {
          if (once.compareAndSet(false, true)) {
            fromB[0] = b.ensure();
          }
        });

    CertificateBundle fromA = a.ensure();

    assertThat(fromA).isEqualTo(fromB[0]);
    assertThat(data(secret(client), "tls.crt")).isEqualTo(fromB[0].certificatePem());
  }

  @Test
  void losingTheUpdateRaceAdoptsTheWinner() {
    SecretCertificateStore a = store(client);
    SecretCertificateStore b = store(otherReplica());
    CertificateBundle initial = a.ensure();
    clock.advance(Duration.ofDays(21)); // serving renewal due for both
    AtomicBoolean once = new AtomicBoolean();
    CertificateBundle[] fromB = new CertificateBundle[1];
    a.beforeWrite(
        () -> {
          if (once.compareAndSet(false, true)) {
            fromB[0] = b.ensure();
          }
        });

    CertificateBundle fromA = a.ensure();

    assertThat(fromB[0].leaf()).isNotEqualTo(initial.leaf());
    assertThat(fromA).isEqualTo(fromB[0]);
    assertThat(data(secret(client), "tls.crt")).isEqualTo(fromB[0].certificatePem());
  }

  @Test
  void replicasStartingTogetherConverge() throws Exception {
    KubernetesClient[] clients = {client, otherReplica(), server.createClient()};
    ExecutorService pool = Executors.newFixedThreadPool(clients.length);
    try {
      for (int round = 0; round < 5; round++) {
        client.secrets().inNamespace(NAMESPACE).withName(SECRET).delete();
        Fixtures.await("Secret deleted", () -> secret(client) == null);
        CyclicBarrier start = new CyclicBarrier(clients.length);
        List<Future<CertificateBundle>> results =
            java.util.Arrays.stream(clients)
                .map(
                    c ->
                        pool.submit(
                            () -> {
                              SecretCertificateStore store = store(c);
                              start.await();
                              return store.ensure();
                            }))
                .toList();
        Set<CertificateBundle> bundles = new HashSet<>();
        for (Future<CertificateBundle> result : results) {
          bundles.add(result.get());
        }
        assertThat(bundles).hasSize(1);
        CertificateBundle agreed = bundles.iterator().next();
        assertThat(data(secret(client), "tls.crt")).isEqualTo(agreed.certificatePem());
        assertThat(data(secret(client), "ca.crt")).isEqualTo(agreed.caPem());
      }
    } finally {
      pool.shutdownNow();
      clients[2].close();
    }
  }

  @Test
  void servingRenewalAtTwoThirdsKeepsTheCa() throws Exception {
    SecretCertificateStore store = store(client);
    CertificateBundle first = store.ensure();

    clock.advance(Duration.ofDays(19));
    assertThat(store.ensure()).isEqualTo(first);
    clock.advance(Duration.ofDays(1));
    CertificateBundle renewed = store.ensure();

    assertThat(renewed.leaf()).isNotEqualTo(first.leaf());
    assertThat(renewed.caPem()).isEqualTo(first.caPem());
    assertThat(renewed.notAfter()).isEqualTo(clock.instant().plus(Duration.ofDays(30)));
    assertThat(data(secret(client), "tls.crt")).isEqualTo(renewed.certificatePem());
    validates(renewed.leaf(), renewed.authorities());
  }

  @Test
  void changedNamesReissue() {
    CertificateBundle first = store(client).ensure();
    ServingIdentity more =
        new ServingIdentity("vmpower", NAMESPACE, List.of("webhook.example"), List.of());

    CertificateBundle second = store(client, more).ensure();

    assertThat(second.leaf()).isNotEqualTo(first.leaf());
    assertThat(CertificateChecks.dnsNames(second.leaf())).contains("webhook.example");
    assertThat(second.caPem()).isEqualTo(first.caPem());
  }

  @Test
  void caRotationKeepsOldAndNewTrustedThroughTheOverlap() throws Exception {
    SecretCertificateStore store = store(client);
    CertificateBundle start = store.ensure();
    X509Certificate oldCa = start.authorities().get(0);

    // step 1 at 2/3 of the CA lifetime: new CA trusted, old CA still signs
    clock.advance(Duration.ofDays(201));
    CertificateBundle step1 = store.ensure();
    Secret secret = secret(client);
    assertThat(step1.authorities()).hasSize(2).startsWith(oldCa);
    X509Certificate newCa = step1.authorities().get(1);
    assertThat(CertificateChecks.isSignedBy(step1.leaf(), oldCa)).isTrue();
    assertThat(secret.getData()).containsKeys("ca-next.crt", "ca-next.key");
    assertThat(secret.getMetadata().getAnnotations())
        .containsEntry(SecretCertificateStore.ROTATION_SINCE, clock.instant().toString());

    // within the grace period nothing moves
    clock.advance(Duration.ofMinutes(9));
    assertThat(store.ensure(pem -> true)).isEqualTo(step1);
    // after it, still nothing until the two-CA bundle is published
    clock.advance(Duration.ofMinutes(2));
    assertThat(store.ensure(pem -> false)).isEqualTo(step1);

    // step 2: the new CA signs; both stay trusted, so old and new serving certificates verify
    CertificateBundle step2 = store.ensure(pem -> sameCertificates(pem, step1.caPem()));
    assertThat(step2.authorities()).containsExactly(newCa, oldCa);
    assertThat(CertificateChecks.isSignedBy(step2.leaf(), newCa)).isTrue();
    validates(step2.leaf(), step2.authorities());
    validates(step1.leaf(), step2.authorities()); // a replica that has not reloaded yet
    assertThat(secret(client).getData())
        .containsKey("ca-previous.crt")
        .doesNotContainKey("ca-next.crt");
    assertThat(data(secret(client), "ca.key"))
        .isNotEqualTo(data(secret, "ca.key")); // the signing key changed

    clock.advance(Duration.ofMinutes(5));
    assertThat(store.ensure()).isEqualTo(step2);

    // step 3: the old CA is dropped
    clock.advance(Duration.ofMinutes(6));
    CertificateBundle step3 = store.ensure();
    assertThat(step3.authorities()).containsExactly(newCa);
    assertThat(step3.leaf()).isEqualTo(step2.leaf());
    Secret last = secret(client);
    assertThat(last.getData()).containsOnlyKeys("tls.crt", "tls.key", "ca.crt", "ca.key");
    assertThat(last.getMetadata().getAnnotations())
        .doesNotContainKey(SecretCertificateStore.ROTATION_SINCE);
    validates(step3.leaf(), step3.authorities());
  }

  @Test
  void unusableCaIsReplacedAndTheOldCertificateStaysTrustedForAGracePeriod() throws Exception {
    CertificateBundle first = store(client).ensure();
    Secret broken =
        new SecretBuilder(secret(client))
            .addToData("ca.key", java.util.Base64.getEncoder().encodeToString("garbage".getBytes()))
            .build();
    client.secrets().inNamespace(NAMESPACE).resource(broken).update();

    CertificateBundle repaired = store(client).ensure();

    X509Certificate oldCa = first.authorities().get(0);
    assertThat(repaired.authorities()).hasSize(2).contains(oldCa);
    assertThat(CertificateChecks.isSignedBy(repaired.leaf(), oldCa)).isFalse();
    validates(repaired.leaf(), repaired.authorities());
    validates(first.leaf(), repaired.authorities());

    clock.advance(Duration.ofMinutes(11));
    assertThat(store(client).ensure().authorities()).hasSize(1).doesNotContain(oldCa);
  }

  @Test
  void corruptServingCertificateIsReissued() {
    CertificateBundle first = store(client).ensure();
    Secret broken =
        new SecretBuilder(secret(client))
            .addToData("tls.crt", java.util.Base64.getEncoder().encodeToString("nope".getBytes()))
            .build();
    client.secrets().inNamespace(NAMESPACE).resource(broken).update();

    CertificateBundle repaired = store(client).ensure();

    assertThat(repaired.caPem()).isEqualTo(first.caPem());
    assertThat(repaired.leaf()).isNotEqualTo(first.leaf());
  }

  @Test
  void emptySecretMadeByTheChartIsFilled() {
    client
        .secrets()
        .inNamespace(NAMESPACE)
        .resource(
            new SecretBuilder()
                .withNewMetadata()
                .withName(SECRET)
                .withNamespace(NAMESPACE)
                .addToAnnotations("helm.sh/resource-policy", "keep")
                .endMetadata()
                .withType("Opaque")
                .build())
        .create();

    CertificateBundle bundle = store(client).ensure();

    Secret secret = secret(client);
    assertThat(data(secret, "tls.crt")).isEqualTo(bundle.certificatePem());
    assertThat(secret.getMetadata().getAnnotations())
        .containsEntry("helm.sh/resource-policy", "keep");
  }

  static boolean sameCertificates(String a, String b) {
    return new HashSet<>(Pem.readCertificates(a)).equals(new HashSet<>(Pem.readCertificates(b)));
  }

  /** PKIX validation at the certificate's own notBefore + 1 min, against the given anchors. */
  static void validates(X509Certificate leaf, List<X509Certificate> authorities) throws Exception {
    Set<TrustAnchor> anchors = new HashSet<>();
    authorities.forEach(ca -> anchors.add(new TrustAnchor(ca, null)));
    PKIXParameters params = new PKIXParameters(anchors);
    params.setRevocationEnabled(false);
    params.setDate(
        Date.from(
            leaf.getNotBefore().toInstant().plus(CertificateIssuer.BACKDATE).plusSeconds(60)));
    CertPathValidator.getInstance("PKIX")
        .validate(CertificateFactory.getInstance("X.509").generateCertPath(List.of(leaf)), params);
  }
}
