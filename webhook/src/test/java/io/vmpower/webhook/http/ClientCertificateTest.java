package io.vmpower.webhook.http;

import static io.vmpower.admission.testing.Manifests.vm;
import static io.vmpower.admission.testing.Reviews.bytes;
import static io.vmpower.admission.testing.Reviews.vmReview;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vmpower.admission.Webhooks;
import io.vmpower.certs.CertificateAuthority;
import io.vmpower.certs.CertificateIssuer;
import io.vmpower.certs.KeyAlgorithm;
import io.vmpower.webhook.VmPowerApplication;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/** {@code vmpower.tls.client-auth}: off by default, {@code want} and {@code need} on request. */
class ClientCertificateTest {
  static CertificateAuthority clientCa;
  static CertificateAuthority strangerCa;
  static Path clientCaFile;

  @BeforeAll
  static void authorities() throws Exception {
    CertificateIssuer issuer = new CertificateIssuer(Clock.systemUTC());
    clientCa = issuer.newAuthority("apiserver-client-ca", KeyAlgorithm.EC_P256, Duration.ofDays(1));
    strangerCa = issuer.newAuthority("stranger-ca", KeyAlgorithm.EC_P256, Duration.ofDays(1));
    clientCaFile = Files.createTempFile("client-ca", ".crt");
    Files.writeString(clientCaFile, clientCa.certificatePem());
  }

  private static ConfigurableApplicationContext start(Path certs, String... extra) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--server.port=0",
                "--management.server.port=0",
                "--vmpower.tls.dir=" + certs,
                "--vmpower.tls.reload-interval=1h",
                "--vmpower.cluster.mode=disabled"));
    args.addAll(List.of(extra));
    return new SpringApplicationBuilder(VmPowerApplication.class).run(args.toArray(String[]::new));
  }

  private static HttpResponse<String> review(Path certs, int port, KeyStore clientKeys)
      throws Exception {
    SSLParameters parameters = new SSLParameters();
    parameters.setEndpointIdentificationAlgorithm("HTTPS");
    HttpClient client =
        HttpClient.newBuilder()
            .sslContext(TlsClients.context(certs.resolve("ca.crt"), clientKeys))
            .sslParameters(parameters)
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    return client.send(
        HttpRequest.newBuilder(URI.create("https://localhost:" + port + Webhooks.VIRTUAL_MACHINES))
            .timeout(Duration.ofSeconds(10))
            .header("Content-Type", "application/json")
            .POST(
                HttpRequest.BodyPublishers.ofByteArray(
                    bytes(vmReview("mtls", "CREATE", vm("db", "AlwaysOn", ""), null))))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static int port(ConfigurableApplicationContext app) {
    return Integer.parseInt(app.getEnvironment().getProperty("local.server.port"));
  }

  @Test
  void needRequiresACertificateFromTheClientCa() throws Exception {
    Path certs = Files.createTempDirectory("vmpower-certs");
    try (var app =
        start(
            certs,
            "--vmpower.tls.client-auth=need",
            "--vmpower.tls.client-ca-file=" + clientCaFile)) {
      int port = port(app);
      HttpResponse<String> ok =
          review(certs, port, TlsClients.clientCertificate(clientCa, "kube-apiserver"));
      assertThat(ok.statusCode()).isEqualTo(200);
      assertThat(ok.body()).contains("\"allowed\":true");
      assertThatThrownBy(() -> review(certs, port, null))
          .as("no client certificate")
          .isInstanceOf(IOException.class);
      assertThatThrownBy(
              () -> review(certs, port, TlsClients.clientCertificate(strangerCa, "mallory")))
          .as("a certificate from another CA")
          .isInstanceOf(IOException.class);
    }
  }

  @Test
  void wantVerifiesACertificateWhenOneIsPresented() throws Exception {
    Path certs = Files.createTempDirectory("vmpower-certs");
    try (var app =
        start(
            certs,
            "--vmpower.tls.client-auth=want",
            "--vmpower.tls.client-ca-file=" + clientCaFile)) {
      int port = port(app);
      assertThat(review(certs, port, null).statusCode()).isEqualTo(200);
      assertThat(
              review(certs, port, TlsClients.clientCertificate(clientCa, "kube-apiserver"))
                  .statusCode())
          .isEqualTo(200);
      assertThatThrownBy(
              () -> review(certs, port, TlsClients.clientCertificate(strangerCa, "mallory")))
          .as("a certificate from another CA")
          .isInstanceOf(IOException.class);
    }
  }

  @Test
  void clientAuthWithoutACaFileFailsAtStartupSayingWhy() throws Exception {
    Path certs = Files.createTempDirectory("vmpower-certs");
    assertThatThrownBy(() -> start(certs, "--vmpower.tls.client-auth=need").close())
        .hasStackTraceContaining("vmpower.tls.client-auth=need needs vmpower.tls.client-ca-file");
  }
}
