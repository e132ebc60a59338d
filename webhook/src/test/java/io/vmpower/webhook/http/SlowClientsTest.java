package io.vmpower.webhook.http;

import static io.vmpower.admission.testing.Manifests.vm;
import static io.vmpower.admission.testing.Reviews.bytes;
import static io.vmpower.admission.testing.Reviews.vmReview;
import static org.assertj.core.api.Assertions.assertThat;

import io.vmpower.admission.Webhooks;
import io.vmpower.webhook.VmPowerApplication;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Slow and stalled clients are cut off in bounded time and never delay other reviews. Short limits
 * here (connection timeout 2 s, body timeout 2 s) keep it fast; the defaults are 10 s and 10 s.
 */
class SlowClientsTest {
  static ConfigurableApplicationContext app;
  static Path certs;
  static int port;
  static SSLContext tls;

  @BeforeAll
  static void start() throws Exception {
    certs = Files.createTempDirectory("vmpower-certs");
    app =
        new SpringApplicationBuilder(VmPowerApplication.class)
            .run(
                "--server.port=0",
                "--management.server.port=0",
                "--vmpower.tls.dir=" + certs,
                "--vmpower.cluster.mode=disabled",
                "--server.tomcat.connection-timeout=2s",
                "--vmpower.webhook.request-body-timeout=2s");
    port = Integer.parseInt(app.getEnvironment().getProperty("local.server.port"));
    tls = TlsClients.context(certs.resolve("ca.crt"), null);
  }

  @AfterAll
  static void stop() {
    app.close();
  }

  static final byte[] REVIEW = bytes(vmReview("slow", "CREATE", vm("db", "AlwaysOn", ""), null));

  static String headers(int contentLength) {
    return "POST "
        + Webhooks.VIRTUAL_MACHINES
        + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: "
        + contentLength
        + "\r\n\r\n";
  }

  SSLSocket tlsSocket() throws IOException {
    SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket("localhost", port);
    socket.setSoTimeout(20_000);
    socket.startHandshake();
    return socket;
  }

  /** Reads until the server closes; returns what it said (possibly nothing). */
  static String readUntilClosed(Socket socket) throws IOException {
    InputStream in = socket.getInputStream();
    StringBuilder answer = new StringBuilder();
    byte[] buffer = new byte[4096];
    try {
      int n;
      while ((n = in.read(buffer)) >= 0) {
        answer.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError("server did not close the connection within 20 s", e);
    } catch (IOException e) {
      // reset: closed too
    }
    return answer.toString();
  }

  @Test
  void aBodyTrickledAByteAtATimeIsCutOffAt408() throws Exception {
    try (SSLSocket socket = tlsSocket()) {
      OutputStream out = socket.getOutputStream();
      out.write(headers(REVIEW.length).getBytes(StandardCharsets.US_ASCII));
      out.flush();
      long t0 = System.nanoTime();
      CompletableFuture<String> answer =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return readUntilClosed(socket);
                } catch (IOException e) {
                  throw new RuntimeException(e);
                }
              });
      // one byte every 500 ms: each read is well inside the connection timeout
      for (int i = 0; i < REVIEW.length - 1 && !answer.isDone(); i++) {
        try {
          out.write(REVIEW[i]);
          out.flush();
        } catch (IOException e) {
          break; // the server closed the connection
        }
        Thread.sleep(500);
      }
      String said = answer.get(20, TimeUnit.SECONDS);
      Duration held = Duration.ofNanos(System.nanoTime() - t0);
      System.out.printf(
          "trickling client: held %d ms, answer %s%n", held.toMillis(), firstLine(said));
      assertThat(held).isLessThan(Duration.ofSeconds(8));
      assertThat(said)
          .startsWith("HTTP/1.1 408")
          .contains("request body not received within 2000 ms");
    }
  }

  @Test
  void stalledClientsAreClosedAndOthersAreServedMeanwhile() throws Exception {
    List<Socket> stalled = new ArrayList<>();
    List<CompletableFuture<Long>> closedAfter = new ArrayList<>();
    long t0 = System.nanoTime();
    for (int i = 0; i < 5; i++) {
      // before the TLS handshake: TCP only, nothing sent
      Socket tcp = new Socket("localhost", port);
      tcp.setSoTimeout(20_000);
      stalled.add(tcp);
      // after the headers, half the body
      SSLSocket midBody = tlsSocket();
      midBody.getOutputStream().write(headers(REVIEW.length).getBytes(StandardCharsets.US_ASCII));
      midBody.getOutputStream().write(REVIEW, 0, REVIEW.length / 2);
      midBody.getOutputStream().flush();
      stalled.add(midBody);
      // in the middle of the headers
      SSLSocket midHeaders = tlsSocket();
      midHeaders.getOutputStream().write("POST /mutate-pods HTTP/1.1\r\nHost: x".getBytes());
      midHeaders.getOutputStream().flush();
      stalled.add(midHeaders);
    }
    for (Socket socket : stalled) {
      closedAfter.add(
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  readUntilClosed(socket);
                  return (System.nanoTime() - t0) / 1_000_000;
                } catch (IOException e) {
                  throw new RuntimeException(e);
                }
              }));
    }
    // meanwhile, reviews are answered at once
    var client = new VerifiedHttpsClient(certs.resolve("ca.crt"));
    for (int i = 0; i < 20; i++) {
      long s = System.nanoTime();
      var response =
          client.post(
              java.net.URI.create("https://localhost:" + port + Webhooks.VIRTUAL_MACHINES),
              "application/json",
              REVIEW);
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(Duration.ofNanos(System.nanoTime() - s)).isLessThan(Duration.ofSeconds(1));
    }
    List<Long> millis = new ArrayList<>();
    for (var closed : closedAfter) {
      millis.add(closed.get(25, TimeUnit.SECONDS));
    }
    System.out.printf("stalled clients closed by the server after (ms): %s%n", millis);
    assertThat(millis).allSatisfy(ms -> assertThat(ms).isLessThan(8_000));
    for (Socket socket : stalled) {
      socket.close();
    }
  }

  private static String firstLine(String s) {
    int end = s.indexOf('\r');
    return end < 0 ? s : s.substring(0, end);
  }
}
