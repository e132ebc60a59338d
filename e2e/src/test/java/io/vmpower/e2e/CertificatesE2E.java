package io.vmpower.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Self-managed certificates against the real API server: the Secret and caBundle written by the
 * application (as the chart's ServiceAccount), verified by the API server on every call, repaired
 * after drift, and serving-certificate rotation with no failed admission request.
 */
@Order(3)
@ExtendWith(Suite.class)
class CertificatesE2E {
  static Secret secret() {
    return Suite.env()
        .client
        .secrets()
        .inNamespace(Suite.RELEASE_NAMESPACE)
        .withName(Suite.env().chart.tlsSecret())
        .get();
  }

  static List<X509Certificate> certificates(String base64Pem) throws Exception {
    byte[] pem = Base64.getDecoder().decode(base64Pem);
    Collection<? extends java.security.cert.Certificate> certs =
        CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem));
    return certs.stream().map(c -> (X509Certificate) c).toList();
  }

  static MutatingWebhookConfiguration webhookConfiguration() {
    return Suite.env()
        .client
        .admissionRegistration()
        .v1()
        .mutatingWebhookConfigurations()
        .withName(Suite.env().chart.webhookConfigurationName())
        .get();
  }

  /** The leaf certificate an instance serves right now (a fresh TLS handshake). */
  static X509Certificate served(VmPowerApp app) throws Exception {
    SSLContext ssl = SSLContext.getInstance("TLS");
    X509Certificate[] seen = new X509Certificate[1];
    ssl.init(
        null,
        new TrustManager[] {
          new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {}

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
              seen[0] = chain[0];
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
              return new X509Certificate[0];
            }
          }
        },
        null);
    try (SSLSocket socket =
        (SSLSocket) ssl.getSocketFactory().createSocket(Suite.env().cluster.hostIp(), app.port())) {
      socket.startHandshake();
    }
    return seen[0];
  }

  @Test
  void secretAndCaBundleAreWrittenByTheApplication() throws Exception {
    Secret secret = secret();
    assertThat(secret.getType()).isEqualTo("kubernetes.io/tls");
    assertThat(secret.getData()).containsKeys("tls.crt", "tls.key", "ca.crt");
    List<X509Certificate> cas = certificates(secret.getData().get("ca.crt"));
    X509Certificate leaf = certificates(secret.getData().get("tls.crt")).get(0);
    assertThat(leaf.getSubjectAlternativeNames().stream().map(n -> String.valueOf(n.get(1))))
        .contains("vmpower.vmpower-system.svc", "vmpower.vmpower-system.svc.cluster.local");
    leaf.verify(cas.get(0).getPublicKey());

    MutatingWebhookConfiguration config = webhookConfiguration();
    assertThat(config.getWebhooks()).hasSize(2);
    for (MutatingWebhook webhook : config.getWebhooks()) {
      assertThat(certificates(webhook.getClientConfig().getCaBundle())).isEqualTo(cas);
    }
    assertThat(config.getMetadata().getManagedFields())
        .as("written by the application's own identity, not by the suite")
        .anyMatch(f -> !"vmpower-e2e".equals(f.getManager()));
    for (VmPowerApp app : Suite.env().runningApps()) {
      served(app).verify(cas.get(0).getPublicKey());
    }
  }

  @Test
  void overwrittenCaBundleIsPutBack() throws Exception {
    List<X509Certificate> good =
        certificates(webhookConfiguration().getWebhooks().get(0).getClientConfig().getCaBundle());
    String foreign = TestCluster.base64(Suite.env().cluster.pki().ca().certPem());
    MutatingWebhookConfiguration config = webhookConfiguration();
    config.getWebhooks().forEach(w -> w.getClientConfig().setCaBundle(foreign));
    Suite.env()
        .client
        .admissionRegistration()
        .v1()
        .mutatingWebhookConfigurations()
        .resource(config)
        .update();
    Suite.say("caBundle overwritten with a foreign CA");
    Suite.await(
        "caBundle repaired",
        Duration.ofSeconds(30),
        () -> {
          for (MutatingWebhook w : webhookConfiguration().getWebhooks()) {
            if (!certificates(w.getClientConfig().getCaBundle()).equals(good)) {
              return false;
            }
          }
          return true;
        });
    Suite.say("caBundle repaired");
    // and the API server trusts the webhook again
    Suite.await(
        "VM create admitted again",
        Duration.ofSeconds(20),
        () -> {
          try {
            dryRunCreate("after-repair");
            return true;
          } catch (KubernetesClientException e) {
            return false;
          }
        });
  }

  static GenericKubernetesResource dryRunCreate(String name) {
    GenericKubernetesResource vm =
        Vms.JSON.unmarshal(
            Vms.manifest(Suite.ENABLED_NS, name, Vms.policy("AlwaysOn"), "running: true"),
            GenericKubernetesResource.class);
    return Suite.env()
        .client
        .genericKubernetesResources(KubeVirtKinds.VM)
        .inNamespace(Suite.ENABLED_NS)
        .resource(vm)
        .dryRun()
        .create();
  }

  /**
   * The serving certificate lives 3 minutes here and is renewed every ~20 s; while it changes
   * twice, a steady stream of VM creates (failurePolicy Fail: a TLS failure would be an error) goes
   * through the API server without one failure, and the instances serve the new certificate.
   */
  @Test
  void rotationWithoutFailedRequests() throws Exception {
    Set<BigInteger> serials = new HashSet<>();
    serials.add(certificates(secret().getData().get("tls.crt")).get(0).getSerialNumber());
    AtomicInteger ok = new AtomicInteger();
    List<String> failures = new ArrayList<>();
    Instant deadline = Instant.now().plus(Duration.ofSeconds(90));
    int i = 0;
    while (serials.size() < 3 && Instant.now().isBefore(deadline)) {
      try {
        GenericKubernetesResource vm = dryRunCreate("rotation-" + i++);
        assertThat(Vms.spec(vm, "runStrategy")).isEqualTo("Always");
        ok.incrementAndGet();
      } catch (KubernetesClientException e) {
        failures.add(e.getMessage());
      }
      serials.add(certificates(secret().getData().get("tls.crt")).get(0).getSerialNumber());
      TestCluster.sleep(50);
    }
    Suite.say(
        "rotation: %d serving certificates seen, %d reviews admitted, %d failed",
        serials.size(), ok.get(), failures.size());
    assertThat(serials).as("two renewals within 90 s").hasSizeGreaterThanOrEqualTo(3);
    assertThat(failures).isEmpty();
    assertThat(ok.get()).isGreaterThan(50);
    for (VmPowerApp app : Suite.env().runningApps()) {
      Suite.await(
          "vmpower-" + app.identity() + " serves the Secret's current certificate",
          Duration.ofSeconds(15),
          () ->
              served(app)
                  .getSerialNumber()
                  .equals(
                      certificates(secret().getData().get("tls.crt")).get(0).getSerialNumber()));
    }
  }
}
