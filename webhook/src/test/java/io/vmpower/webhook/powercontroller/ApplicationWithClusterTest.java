package io.vmpower.webhook.powercontroller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfigurationBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.vmpower.certs.Pem;
import io.vmpower.webhook.VmPowerApplication;
import io.vmpower.webhook.cluster.ClusterAccess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HashMap;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * With a cluster, the application runs the webhooks and the power controller together; each can be
 * switched off by configuration.
 */
class ApplicationWithClusterTest {
  static KubernetesMockServer server;
  static KubernetesClient admin;

  /** The CRUD mock server plus the /version answer the start-up probe asks for. */
  static final class ClusterDispatcher extends Dispatcher {
    private final KubernetesCrudDispatcher crud = new KubernetesCrudDispatcher();

    @Override
    public MockResponse dispatch(RecordedRequest request) {
      if ("/version".equals(request.getPath())) {
        return new MockResponse()
            .setResponseCode(200)
            .setBody("{\"major\":\"1\",\"minor\":\"34\",\"gitVersion\":\"v1.34.2\"}");
      }
      return crud.dispatch(request);
    }
  }

  @BeforeAll
  static void startCluster() {
    server =
        new KubernetesMockServer(
            new Context(), new MockWebServer(), new HashMap<>(), new ClusterDispatcher(), false);
    server.init();
    admin =
        new KubernetesClientBuilder().withConfig(server.createClient().getConfiguration()).build();
  }

  @AfterAll
  static void stopCluster() {
    admin.close();
    server.destroy();
  }

  private static ConfigurableApplicationContext start(String... extra) throws Exception {
    Path certs = Files.createTempDirectory("vmpower-certs");
    String[] base = {
      "--server.port=0",
      "--management.server.port=0",
      "--vmpower.tls.dir=" + certs,
      "--vmpower.cluster.mode=enabled",
      "--vmpower.controller.lease-namespace=vmpower-system",
      "--vmpower.controller.identity=replica-a",
      "--vmpower.controller.lease-duration=3s",
      "--vmpower.controller.renew-deadline=2s",
      "--vmpower.controller.retry-period=500ms",
      "--vmpower.tls.check-interval=1s"
    };
    // Extra arguments replace base ones with the same key (Spring would join repeated ones).
    java.util.Set<String> overridden =
        java.util.Arrays.stream(extra)
            .map(a -> a.substring(0, a.indexOf('=')))
            .collect(java.util.stream.Collectors.toSet());
    String[] args =
        java.util.stream.Stream.concat(
                java.util.Arrays.stream(base)
                    .filter(a -> !overridden.contains(a.substring(0, a.indexOf('=')))),
                java.util.Arrays.stream(extra))
            .toArray(String[]::new);
    System.setProperty("kubernetes.master", server.url("/"));
    System.setProperty("kubernetes.auth.tryKubeConfig", "false");
    System.setProperty("kubernetes.trust.certificates", "true");
    try {
      return new SpringApplicationBuilder(VmPowerApplication.class).run(args);
    } finally {
      System.clearProperty("kubernetes.master");
      System.clearProperty("kubernetes.auth.tryKubeConfig");
      System.clearProperty("kubernetes.trust.certificates");
    }
  }

  @Test
  void webhookAndControllerRunTogetherByDefault() throws Exception {
    try (ConfigurableApplicationContext app = start()) {
      assertThat(app.getBean(ClusterAccess.class).client()).isPresent();
      var lifecycle = app.getBean(PowerControllerConfiguration.PowerControllerLifecycle.class);
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> lifecycle.controller().map(c -> c.isLeader()).orElse(false));
      Lease lease =
          admin.leases().inNamespace("vmpower-system").withName("vmpower-controller").get();
      assertThat(lease.getSpec().getHolderIdentity()).isEqualTo("replica-a");
      assertThat(app.getBeansOfType(io.vmpower.webhook.http.AdmissionEndpoints.class)).hasSize(1);
    }
  }

  private static java.net.http.HttpResponse<String> readiness(ConfigurableApplicationContext app)
      throws Exception {
    int port = Integer.parseInt(app.getEnvironment().getProperty("local.management.port", "0"));
    return java.net.http.HttpClient.newHttpClient()
        .send(
            java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://localhost:" + port + "/actuator/health/readiness"))
                .build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
  }

  private static X509Certificate served(ConfigurableApplicationContext app) throws Exception {
    int port = Integer.parseInt(app.getEnvironment().getProperty("local.server.port"));
    SSLContext context = SSLContext.getInstance("TLS");
    X509Certificate[][] seen = new X509Certificate[1][];
    context.init(
        null,
        new TrustManager[] {
          new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {}

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
              seen[0] = chain; // verified below against the CA from the Secret
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
              return new X509Certificate[0];
            }
          }
        },
        null);
    try (var socket =
        (javax.net.ssl.SSLSocket) context.getSocketFactory().createSocket("localhost", port)) {
      socket.startHandshake();
    }
    return seen[0][0];
  }

  @Test
  void selfManagedCertificatesComeFromTheSecretAndGateReadiness() throws Exception {
    try (ConfigurableApplicationContext app = start()) {
      // No webhook configuration yet: the API server could not verify us, so not ready.
      assertThat(readiness(app).statusCode()).isEqualTo(503);
      assertThat(readiness(app).body()).contains("not injected");

      admin
          .admissionRegistration()
          .v1()
          .mutatingWebhookConfigurations()
          .resource(
              new MutatingWebhookConfigurationBuilder()
                  .withNewMetadata()
                  .withName("vmpower")
                  .endMetadata()
                  .addNewWebhook()
                  .withName("vms.vmpower.io")
                  .withNewClientConfig()
                  .withNewService()
                  .withNamespace("vmpower-system")
                  .withName("vmpower")
                  .withPath("/mutate-virtualmachines")
                  .endService()
                  .endClientConfig()
                  .withAdmissionReviewVersions("v1")
                  .withSideEffects("None")
                  .endWebhook()
                  .build())
          .create();
      await().atMost(Duration.ofSeconds(30)).until(() -> readiness(app).statusCode() == 200);

      Secret secret = admin.secrets().inNamespace("vmpower-system").withName("vmpower-tls").get();
      String caPem = decode(secret.getData().get("ca.crt"));
      String tlsPem = decode(secret.getData().get("tls.crt"));
      var injected =
          admin
              .admissionRegistration()
              .v1()
              .mutatingWebhookConfigurations()
              .withName("vmpower")
              .get()
              .getWebhooks()
              .get(0)
              .getClientConfig()
              .getCaBundle();
      assertThat(decode(injected)).isEqualTo(caPem);

      X509Certificate served = served(app);
      assertThat(served).isEqualTo(Pem.readCertificates(tlsPem).get(0));
      served.verify(Pem.readCertificates(caPem).get(0).getPublicKey());
      assertThat(
              served.getSubjectAlternativeNames().stream()
                  .map(n -> String.valueOf(n.get(1)))
                  .toList())
          .contains("vmpower.vmpower-system.svc")
          .doesNotContain("localhost");
    } finally {
      admin
          .admissionRegistration()
          .v1()
          .mutatingWebhookConfigurations()
          .withName("vmpower")
          .delete();
    }
  }

  @Test
  void certManagerModeServesMountedFilesAndOnlyVerifiesTheCaBundle() throws Exception {
    Path mount = Files.createTempDirectory("cert-manager");
    var issuer = new io.vmpower.certs.CertificateIssuer(java.time.Clock.systemUTC());
    var ca =
        issuer.newAuthority(
            "cert-manager-ca", io.vmpower.certs.KeyAlgorithm.EC_P256, Duration.ofDays(90));
    var bundle =
        issuer.issueServing(
            ca,
            io.vmpower.certs.ServingIdentity.forService("vmpower", "vmpower-system"),
            io.vmpower.certs.KeyAlgorithm.EC_P256,
            Duration.ofDays(30));
    Files.writeString(mount.resolve("tls.crt"), bundle.certificatePem());
    Files.writeString(mount.resolve("tls.key"), bundle.privateKeyPem());
    Files.writeString(mount.resolve("ca.crt"), ca.certificatePem());
    var webhooks = admin.admissionRegistration().v1().mutatingWebhookConfigurations();
    webhooks
        .resource(
            new MutatingWebhookConfigurationBuilder()
                .withNewMetadata()
                .withName("vmpower-cm")
                .endMetadata()
                .addNewWebhook()
                .withName("vms.vmpower.io")
                .withNewClientConfig()
                .withNewService()
                .withNamespace("vmpower-system")
                .withName("vmpower")
                .endService()
                .endClientConfig()
                .withAdmissionReviewVersions("v1")
                .withSideEffects("None")
                .endWebhook()
                .build())
        .create();
    try (ConfigurableApplicationContext app =
        start(
            "--vmpower.tls.mode=cert-manager",
            "--vmpower.tls.dir=" + mount,
            "--vmpower.tls.webhook-configuration-name=vmpower-cm")) {
      assertThat(served(app)).isEqualTo(bundle.leaf());
      // cert-manager's CA injector has not filled the caBundle: vmpower must not, and is not ready.
      Thread.sleep(2500);
      assertThat(readiness(app).statusCode()).isEqualTo(503);
      assertThat(
              webhooks
                  .withName("vmpower-cm")
                  .get()
                  .getWebhooks()
                  .get(0)
                  .getClientConfig()
                  .getCaBundle())
          .isNull();

      webhooks
          .withName("vmpower-cm")
          .edit(
              c -> {
                c.getWebhooks()
                    .get(0)
                    .getClientConfig()
                    .setCaBundle(
                        java.util.Base64.getEncoder()
                            .encodeToString(
                                ca.certificatePem()
                                    .getBytes(java.nio.charset.StandardCharsets.UTF_8)));
                return c;
              });
      await().atMost(Duration.ofSeconds(30)).until(() -> readiness(app).statusCode() == 200);
    } finally {
      webhooks.withName("vmpower-cm").delete();
    }
  }

  private static String decode(String base64) {
    return new String(
        java.util.Base64.getDecoder().decode(base64), java.nio.charset.StandardCharsets.UTF_8);
  }

  @Test
  void controllerCanBeSwitchedOff() throws Exception {
    try (ConfigurableApplicationContext app = start("--vmpower.controller.enabled=false")) {
      assertThat(app.getBeansOfType(PowerControllerConfiguration.PowerControllerLifecycle.class))
          .isEmpty();
      assertThat(app.getBeansOfType(io.vmpower.webhook.http.AdmissionEndpoints.class)).hasSize(1);
    }
  }

  @Test
  void webhookCanBeSwitchedOff() throws Exception {
    try (ConfigurableApplicationContext app = start("--vmpower.webhook.enabled=false")) {
      assertThat(app.getBeansOfType(io.vmpower.webhook.http.AdmissionEndpoints.class)).isEmpty();
      assertThat(app.getBeansOfType(PowerControllerConfiguration.PowerControllerLifecycle.class))
          .hasSize(1);
    }
  }
}
