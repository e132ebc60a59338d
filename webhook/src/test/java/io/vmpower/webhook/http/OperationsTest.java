package io.vmpower.webhook.http;

import static io.vmpower.admission.testing.Manifests.vm;
import static io.vmpower.admission.testing.Reviews.bytes;
import static io.vmpower.admission.testing.Reviews.vmReview;
import static org.assertj.core.api.Assertions.assertThat;

import io.vmpower.admission.Webhooks;
import io.vmpower.certs.CertificateAuthority;
import io.vmpower.certs.CertificateBundle;
import io.vmpower.certs.CertificateIssuer;
import io.vmpower.certs.KeyAlgorithm;
import io.vmpower.certs.Pem;
import io.vmpower.webhook.VmPowerApplication;
import io.vmpower.webhook.tls.LocalServingCertificates;
import io.vmpower.webhook.tls.ServingCertificates;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/** Metrics, certificate rotation under load, graceful shutdown: each on its own application. */
class OperationsTest {

  private static ConfigurableApplicationContext start(Path certs) {
    return new SpringApplicationBuilder(VmPowerApplication.class)
        .run(
            "--server.port=0",
            "--management.server.port=0",
            "--vmpower.tls.dir=" + certs,
            "--vmpower.tls.reload-interval=1h",
            "--vmpower.cluster.mode=disabled");
  }

  private static int port(ConfigurableApplicationContext app, String property) {
    return Integer.parseInt(app.getEnvironment().getProperty(property));
  }

  @Test
  void reviewsAreCountedAndTimedByEndpointAndDecision() throws Exception {
    Path certs = Files.createTempDirectory("vmpower-certs");
    try (var app = start(certs)) {
      var client = new VerifiedHttpsClient(certs.resolve("ca.crt"));
      URI vms =
          URI.create(
              "https://localhost:" + port(app, "local.server.port") + Webhooks.VIRTUAL_MACHINES);
      client.post(
          vms, "application/json", bytes(vmReview("m1", "CREATE", vm("db", "AlwaysOn", ""), null)));
      client.post(
          vms, "application/json", bytes(vmReview("m2", "CREATE", vm("db", "Nope", ""), null)));
      client.post(vms, "application/json", "{".getBytes(StandardCharsets.UTF_8));
      String metrics =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create(
                              "http://localhost:"
                                  + port(app, "local.management.port")
                                  + "/actuator/prometheus"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      assertThat(metrics)
          .contains(
              "vmpower_webhook_requests_seconds_count{decision=\"mutated\",endpoint=\"virtualmachines\"")
          .contains(
              "vmpower_webhook_requests_seconds_count{decision=\"denied\",endpoint=\"virtualmachines\"")
          .contains(
              "vmpower_webhook_requests_seconds_count{decision=\"rejected\",endpoint=\"virtualmachines\"");
    }
  }

  /**
   * Clients keep sending reviews, over kept-alive and over new connections, while the serving
   * certificate is replaced three times — the last time by one from a new CA that the clients
   * already trust (the overlap of a CA rotation). Not one review may fail.
   */
  @Test
  void rotationUnderLoadFailsNoReview() throws Exception {
    Path certs = Files.createTempDirectory("vmpower-certs");
    try (var app = start(certs)) {
      int port = port(app, "local.server.port");
      CertificateIssuer issuer = new CertificateIssuer(Clock.systemUTC());
      CertificateAuthority oldCa =
          CertificateAuthority.fromPem(
              Files.readString(certs.resolve("ca.crt")), Files.readString(certs.resolve("ca.key")));
      CertificateAuthority newCa =
          issuer.newAuthority("vmpower-next-ca", KeyAlgorithm.EC_P256, Duration.ofDays(30));
      Path trust = certs.resolve("trusted-cas.pem");
      Files.writeString(trust, Pem.encode(oldCa.certificate(), newCa.certificate()));

      URI uri = URI.create("https://localhost:" + port + Webhooks.VIRTUAL_MACHINES);
      byte[] review = bytes(vmReview("load", "CREATE", vm("db", "AlwaysOn", ""), null));
      AtomicBoolean running = new AtomicBoolean(true);
      AtomicInteger ok = new AtomicInteger();
      ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
      List<CompletableFuture<Void>> clients = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        boolean keepAlive = i % 2 == 0;
        clients.add(
            CompletableFuture.runAsync(
                () -> {
                  VerifiedHttpsClient shared = new VerifiedHttpsClient(trust);
                  while (running.get()) {
                    VerifiedHttpsClient client =
                        keepAlive ? shared : new VerifiedHttpsClient(trust);
                    try {
                      HttpResponse<String> response = client.post(uri, "application/json", review);
                      if (response.statusCode() == 200
                          && response.body().contains("\"allowed\":true")) {
                        ok.incrementAndGet();
                      } else {
                        failures.add(response.statusCode() + " " + response.body());
                      }
                    } catch (IOException e) {
                      failures.add(e.toString());
                    } catch (InterruptedException e) {
                      Thread.currentThread().interrupt();
                      return;
                    }
                  }
                }));
      }
      LocalServingCertificates local =
          (LocalServingCertificates) app.getBean(ServingCertificates.class);
      List<CertificateAuthority> signers = List.of(oldCa, oldCa, newCa);
      for (CertificateAuthority signer : signers) {
        Thread.sleep(700);
        CertificateBundle next = CertificateFiles.rotate(certs, issuer, signer, oldCa, newCa);
        assertThat(local.checkNow()).isTrue();
        assertThat(servedSerial(port, trust)).isEqualTo(next.leaf().getSerialNumber());
      }
      Thread.sleep(700);
      running.set(false);
      CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
      assertThat(failures).isEmpty();
      assertThat(ok.get()).isGreaterThan(50);
    }
  }

  private static java.math.BigInteger servedSerial(int port, Path trust) throws Exception {
    var context = TlsClients.context(trust, null);
    try (SSLSocket socket =
        (SSLSocket) context.getSocketFactory().createSocket("localhost", port)) {
      var parameters = socket.getSSLParameters();
      parameters.setEndpointIdentificationAlgorithm("HTTPS");
      socket.setSSLParameters(parameters);
      socket.startHandshake();
      return ((java.security.cert.X509Certificate) socket.getSession().getPeerCertificates()[0])
          .getSerialNumber();
    }
  }

  /** A review still arriving when shutdown begins is answered before the server stops. */
  @Test
  void shutdownFinishesInFlightReviews() throws Exception {
    Path certs = Files.createTempDirectory("vmpower-certs");
    var app = start(certs);
    int port = port(app, "local.server.port");
    byte[] review = bytes(vmReview("slow", "CREATE", vm("db", "Manual", ""), null));
    var context = TlsClients.context(certs.resolve("ca.crt"), null);
    try (SSLSocket socket =
        (SSLSocket) context.getSocketFactory().createSocket("localhost", port)) {
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      out.write(
          ("POST "
                  + Webhooks.VIRTUAL_MACHINES
                  + " HTTP/1.1\r\nHost: localhost\r\n"
                  + "Content-Type: application/json\r\nContent-Length: "
                  + review.length
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.write(review, 0, review.length / 2);
      out.flush();
      Thread.sleep(300); // the request is now in flight on a server thread

      CompletableFuture<Void> shutdown = CompletableFuture.runAsync(app::close);
      Thread.sleep(500);
      assertThat(shutdown).isNotDone(); // waiting for the review in flight
      out.write(review, review.length / 2, review.length - review.length / 2);
      out.flush();

      InputStream in = socket.getInputStream();
      String answer = new String(in.readNBytes(12), StandardCharsets.US_ASCII);
      assertThat(answer).isEqualTo("HTTP/1.1 200");
      shutdown.get(30, TimeUnit.SECONDS);
    }
  }
}
